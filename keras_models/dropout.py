"""Keras's dropout mask stream, replayable: the masks a seeded ``keras.layers.Dropout`` draws.

A Keras ``Dropout(rate, seed=S)`` draws its masks from ``SeedGenerator(S)``;
a twin generator with the same seed, advanced once per training call, yields
the same masks through ``keras.random.dropout`` (stock Keras, no custom
math). Copies of a replay replay the same stream from the same point, so
gradient checkers can deep-copy models freely.
"""
import keras

from keras_models.build import keras_dtype


class KerasMaskReplay:
    """``replay(shape, dtype) -> bool mask`` (True = kept), the next mask of the Keras layer's stream."""

    def __init__(self, seed, rate):
        self.seed, self.rate, self.draws = seed, rate, 0
        self._generator = keras.random.SeedGenerator(seed)

    def __call__(self, shape, dtype):
        with keras_dtype(dtype):
            kept = keras.random.dropout(keras.ops.ones(shape, dtype=dtype), self.rate, seed=self._generator)
        self.draws += 1
        return keras.ops.convert_to_numpy(kept) != 0  # a GPU tensor is copied to the host

    def __deepcopy__(self, memo):
        clone = KerasMaskReplay(self.seed, self.rate)
        clone._generator.state.assign(self._generator.state.value)  # where this stream is: O(1), not O(draws)
        clone.draws = self.draws
        return clone


class KerasNoiseReplay(KerasMaskReplay):
    """GaussianNoise's stream: ``keras.random.normal(shape, 0, stddev, seed=SeedGenerator(S))`` per training call."""

    def __init__(self, seed, stddev):
        super().__init__(seed, stddev)
        self.stddev = stddev

    def __call__(self, shape, dtype):
        with keras_dtype(dtype):
            noise = keras.random.normal(shape, mean=0.0, stddev=self.stddev, dtype=dtype, seed=self._generator)
        self.draws += 1
        return keras.ops.convert_to_numpy(noise)

    def __deepcopy__(self, memo):
        clone = KerasNoiseReplay(self.seed, self.stddev)
        clone._generator.state.assign(self._generator.state.value)
        clone.draws = self.draws
        return clone


# Keras layer class -> its random stream. SpatialDropout2D draws one (N, 1, 1, C) mask per call from the same
# uniforms Keras draws for its noise_shape, so the Dropout replay serves it.
REPLAYS = {"Dropout": lambda layer: KerasMaskReplay(layer.seed, layer.rate),
           "SpatialDropout2D": lambda layer: KerasMaskReplay(layer.seed, layer.rate),
           "GaussianNoise": lambda layer: KerasNoiseReplay(layer.seed, layer.stddev)}
