"""Replay Keras's dropout masks in the NumPy twin, element for element.

A Keras ``Dropout(rate, seed=S)`` draws its masks from
``SeedGenerator(S)``; a twin generator with the same seed, advanced once per
training call, yields the same masks through ``keras.random.dropout``
(stock Keras, no custom math). Copies of a replay replay the same stream
from the same point, so gradient checkers can deep-copy models freely.
"""
import numpy as np


class KerasMaskReplay:
    def __init__(self, seed, rate):
        import keras

        self.seed, self.rate, self.draws = seed, rate, 0
        self._generator = keras.random.SeedGenerator(seed)

    def __call__(self, shape, dtype):
        import keras

        from keras_models import keras_dtype
        with keras_dtype(dtype):
            kept = keras.random.dropout(keras.ops.ones(shape, dtype=dtype), self.rate, seed=self._generator)
        self.draws += 1
        return np.asarray(kept) != 0

    def __deepcopy__(self, memo):
        clone = KerasMaskReplay(self.seed, self.rate)
        for _ in range(self.draws):
            clone._generator.next()
        clone.draws = self.draws
        return clone


class KerasNoiseReplay(KerasMaskReplay):
    """GaussianNoise's stream: ``keras.random.normal(shape, 0, stddev, seed=SeedGenerator(S))`` per training call."""

    def __init__(self, seed, stddev):
        super().__init__(seed, stddev)
        self.stddev = stddev

    def __call__(self, shape, dtype):
        import keras

        from keras_models import keras_dtype
        with keras_dtype(dtype):
            noise = keras.random.normal(shape, mean=0.0, stddev=self.stddev, dtype=dtype, seed=self._generator)
        self.draws += 1
        return np.asarray(noise)

    def __deepcopy__(self, memo):
        clone = KerasNoiseReplay(self.seed, self.stddev)
        for _ in range(self.draws):
            clone._generator.next()
        clone.draws = self.draws
        return clone


REPLAYS = {"Dropout": lambda layer: KerasMaskReplay(layer.seed, layer.rate),
           # one draw of the noise shape (N, 1, 1, C): the same uniforms Keras draws for its noise_shape
           "SpatialDropout2D": lambda layer: KerasMaskReplay(layer.seed, layer.rate),
           "GaussianNoise": lambda layer: KerasNoiseReplay(layer.seed, layer.stddev)}


def install_keras_masks(numpy_model):
    """Give every seeded NumPy Dropout-like layer the random stream of its Keras twin."""
    for layer in numpy_model.layers:
        kind = type(layer).__name__
        if kind in REPLAYS:
            if layer.seed is None:
                raise ValueError(f"Layer '{layer.name}' ({kind}): exact mask replay needs a seed. Received: seed=None")
            layer.mask_fn = REPLAYS[kind](layer)
