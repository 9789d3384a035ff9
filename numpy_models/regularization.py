"""Dropout: inverted by default, with replayable masks.

Parity: ``keras.layers.Dropout``: in training ``y = x * keep / (1 - rate)``
with ``keep = u >= rate`` for ``u ~ U[0, 1)``; identity at inference. Masks
come from ``mask_fn(shape, dtype) -> bool array`` when set (``parity`` installs
one that replays Keras's own SeedGenerator stream, so masks match element by
element), else from a NumPy generator seeded with ``seed``. ``hold_mask``
reuses the last mask (gradient checking). Textbook variant ``inverted=False``:
``y = x * keep`` in training and ``x * (1 - rate)`` at inference.
"""
import numpy as np

from numpy_models.base import Layer


class Dropout(Layer):
    def __init__(self, rate, noise_shape=None, seed=None, inverted=True, name=None, dtype=None, trainable=True):
        super().__init__(name=name, dtype=dtype, trainable=trainable)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"{self._who()}: rate must be in [0, 1). Received: rate={rate!r}")
        if noise_shape is not None:
            raise ValueError(f"{self._who()}: noise_shape is not supported. Received: noise_shape={noise_shape!r}")
        self.rate, self.seed, self.inverted = rate, seed, inverted
        self.rng = np.random.default_rng(seed)
        self.mask_fn = None
        self.hold_mask = False
        self.last_mask = None

    def _draw_mask(self, shape):
        if self.hold_mask and self.last_mask is not None and self.last_mask.shape == shape:
            return self.last_mask
        if self.mask_fn is not None:
            mask = np.asarray(self.mask_fn(shape, self.dtype), dtype=bool)
        else:
            mask = self.rng.random(shape, dtype=np.dtype(self.dtype)) >= self.rate
        self.last_mask = mask
        return mask

    def _scale(self):
        return np.asarray(1.0 / (1.0 - self.rate) if self.inverted else 1.0, dtype=self.dtype)

    def call(self, x, training=False):
        if training and self.rate > 0:
            keep = self._draw_mask(x.shape)
            self._cache = (keep, self._scale())
            return np.where(keep, x * self._cache[1], 0).astype(x.dtype, copy=False)
        inference_scale = 1.0 if self.inverted else 1.0 - self.rate
        self._cache = (None, np.asarray(inference_scale, dtype=self.dtype))
        return x * self._cache[1] if not self.inverted else x.copy()

    def backward_call(self, dout):
        keep, scale = self._cache
        if keep is None:
            return dout * scale
        return np.where(keep, dout * scale, 0).astype(dout.dtype, copy=False)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed, "inverted": self.inverted}
