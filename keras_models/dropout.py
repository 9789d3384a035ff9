"""Keras's dropout mask stream, replayable: the masks a seeded ``keras.layers.Dropout`` draws.

A Keras ``Dropout(rate, seed=S)`` draws its masks from ``SeedGenerator(S)``;
a twin generator with the same seed, advanced once per training call, yields
the same masks through ``keras.random.dropout`` (stock Keras, no custom
math). Copies of a replay replay the same stream from the same point, so
gradient checkers can deep-copy models freely.
"""
import keras
import numpy as np

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
        return np.asarray(kept) != 0

    def __deepcopy__(self, memo):
        clone = KerasMaskReplay(self.seed, self.rate)
        for _ in range(self.draws):
            clone._generator.next()
        clone.draws = self.draws
        return clone
