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


def install_keras_masks(numpy_model):
    """Give every seeded NumPy Dropout layer the mask stream of its Keras twin."""
    for layer in numpy_model.layers:
        if type(layer).__name__ == "Dropout":
            if layer.seed is None:
                raise ValueError(f"Layer '{layer.name}' (Dropout): exact mask replay needs a seed. Received: seed=None")
            layer.mask_fn = KerasMaskReplay(layer.seed, layer.rate)
