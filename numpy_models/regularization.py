"""Dropout, SpatialDropout2D and GaussianNoise, with replayable randomness.

Parity: ``keras.layers.Dropout``: in training ``y = x * keep / (1 - rate)``
with ``keep = u >= rate`` for ``u ~ U[0, 1)``; identity at inference. Masks
come from ``mask_fn(shape, dtype) -> bool array`` when set (``parity`` installs
one that replays Keras's own SeedGenerator stream, so masks match element by
element), else from a NumPy generator seeded with ``seed``. ``hold_mask``
reuses the last mask (gradient checking). Textbook variant ``inverted=False``:
``y = x * keep`` in training and ``x * (1 - rate)`` at inference.
``SpatialDropout2D`` draws one mask entry per (sample, channel) and broadcasts
it over height and width (Keras's noise_shape (N, 1, 1, C)); ``GaussianNoise``
adds ``N(0, stddev^2)`` noise in training (its ``mask_fn`` returns the noise).
"""
import numpy as np

from numpy_models._windows import check_data_format
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

    def _noise_shape(self, x):
        return x.shape

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
            keep = self._draw_mask(self._noise_shape(x))
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

    def passes_input_through(self):
        return self.inverted and self._cache is not None and self._cache[0] is None  # no mask drawn

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed, "inverted": self.inverted}


class SpatialDropout2D(Dropout):
    """Drops whole feature maps: one keep/drop draw per (sample, channel).

    Shapes: x (N, H, W, C) -> same; mask (N, 1, 1, C) (channels_first: (N, C, 1, 1)).
    Parity: keras.layers.SpatialDropout2D (masks replayed like Dropout's). ``inverted`` as Dropout's (its
    config carries it: ``layer_from_config(get_config())`` rebuilds the layer, as a repro.py does).
    """

    def __init__(self, rate, data_format=None, seed=None, inverted=True, name=None, dtype=None, trainable=True):
        super().__init__(rate, seed=seed, inverted=inverted, name=name, dtype=dtype, trainable=trainable)
        self.data_format = check_data_format(data_format, self._who())

    def build(self, input_shape, rng=None):
        if len(input_shape) != 4:
            raise ValueError(f"{self._who()}: expects 4-D input. Received: input_shape={tuple(input_shape)}")
        super().build(input_shape, rng)

    def _noise_shape(self, x):
        n = x.shape[0]
        return (n, x.shape[1], 1, 1) if self.data_format == "channels_first" else (n, 1, 1, x.shape[3])

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class GaussianNoise(Layer):
    """Adds zero-mean Gaussian noise in training; identity at inference.

    Args:
        stddev: noise standard deviation, in [0, 1] as Keras requires.
        seed: seed of the noise stream.
    Shapes: any -> same.
    Parity: keras.layers.GaussianNoise: ``x + normal(shape, 0, stddev)`` drawn
    in the layer dtype; ``parity`` replays Keras's stream through ``mask_fn``
    (named as Dropout's, so the same tools hold and replay it).
    """

    def __init__(self, stddev, seed=None, name=None, dtype=None, trainable=True):
        super().__init__(name=name, dtype=dtype, trainable=trainable)
        if not isinstance(stddev, (int, float, np.floating)) or not 0 <= stddev <= 1:
            raise ValueError(f"{self._who()}: stddev must be a float in [0, 1]. Received: stddev={stddev!r}")
        self.stddev, self.seed = stddev, seed
        self.rng = np.random.default_rng(seed)
        self.mask_fn = None  # (shape, dtype) -> noise array
        self.hold_mask = False
        self.last_mask = None

    def _draw_noise(self, shape):
        if self.hold_mask and self.last_mask is not None and self.last_mask.shape == shape:
            return self.last_mask
        if self.mask_fn is not None:
            noise = np.asarray(self.mask_fn(shape, self.dtype), dtype=self.dtype)
        else:
            noise = (self.rng.standard_normal(shape) * self.stddev).astype(self.dtype)
        self.last_mask = noise
        return noise

    def call(self, x, training=False):
        self._cache = bool(training and self.stddev > 0)  # whether noise was added
        if self._cache:
            return x + self._draw_noise(x.shape)
        return x.copy()

    def passes_input_through(self):
        return self._cache is False

    def backward_call(self, dout):
        return dout.copy()

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}
