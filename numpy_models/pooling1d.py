"""1-D pooling (MaxPooling1D, AveragePooling1D) and the global pools over steps or height and width.

Parity: ``keras.layers.*Pooling1D`` on TF run the 2-D pooling kernel on a
(N, 1, L, C) view (tf.nn.max_pool1d / avg_pool1d expand the input), so the
1-D layers here wrap the 2-D ones with a (1, pool_size) window: same 'same'
padding, same first-maximum tie rule, same division by valid cells.
``GlobalMaxPooling*`` is ``ops.max`` = ``tf.reduce_max``, whose gradient
*splits* equally among tied maxima (unlike max pooling's first-maximum rule).
"""
import numpy as np

from numpy_models import _windows as win
from numpy_models.base import Layer
from numpy_models.pooling import AveragePooling2D, MaxPooling2D


def _as_int(value, name, who):
    value = value[0] if isinstance(value, (list, tuple)) and len(value) == 1 else value
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{who}: {name} must be a positive int. Received: {name}={value!r}")
    return int(value)


class _Pooling1D(Layer):
    pool_2d = None  # the 2-D layer class doing the work

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, name=None, dtype=None,
                 trainable=True):
        super().__init__(name=name, dtype=dtype, trainable=trainable)
        who = self._who()
        self.pool_size = _as_int(pool_size, "pool_size", who)
        self.strides = _as_int(strides if strides is not None else self.pool_size, "strides", who)
        self.padding = win.check_padding(padding, who, ("valid", "same"))
        self.data_format = win.check_data_format(data_format, who)
        self._inner = self.pool_2d(pool_size=(1, self.pool_size), strides=(1, self.strides), padding=self.padding,
                                   name=f"{self.name}_2d")

    def _steps_last(self, shape):
        """(N, L, C) whatever the data format."""
        return (shape[0], shape[2], shape[1]) if self.data_format == "channels_first" else tuple(shape)

    def build(self, input_shape, rng=None):
        if len(input_shape) != 3:
            raise ValueError(f"{self._who()}: expects 3-D input (batch, steps, channels). Received: input_shape={tuple(input_shape)}")
        n, length, c = self._steps_last(input_shape)
        self._inner.dtype = self.dtype = self.dtype or "float32"
        self._inner.build((n, 1, length, c), rng)
        super().build(input_shape, rng)

    def compute_output_shape(self, input_shape):
        n, _, out, c = self._inner.output_shape
        return (n, c, out) if self.data_format == "channels_first" else (n, out, c)

    def _to_nlc(self, x):
        return x.transpose(0, 2, 1) if self.data_format == "channels_first" else x

    def call(self, x, training=False):
        self._cache = True
        y = self._inner.call(self._to_nlc(x)[:, None], training=training)[:, 0]
        return self._to_nlc(y)

    def backward_call(self, dout):
        return self._to_nlc(self._inner.backward_call(self._to_nlc(dout)[:, None])[:, 0])

    def kink_signature(self):
        return self._inner.kink_signature() if hasattr(self._inner, "kink_signature") else []

    def cast(self, dtype):
        super().cast(dtype)
        self._inner.cast(dtype)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "strides": self.strides,
                "padding": self.padding, "data_format": self.data_format}


class MaxPooling1D(_Pooling1D):
    """Max over windows of ``pool_size`` steps; gradient to each window's first maximum.

    Shapes: (N, L, C) -> (N, L_out, C).
    """

    pool_2d = MaxPooling2D


class AveragePooling1D(_Pooling1D):
    """Mean over windows of ``pool_size`` steps ('same': over the valid steps only).

    Shapes: (N, L, C) -> (N, L_out, C).
    """

    pool_2d = AveragePooling2D

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, name=None, dtype=None,
                 trainable=True):  # Keras gives AveragePooling1D no default pool_size
        super().__init__(pool_size, strides, padding, data_format, name=name, dtype=dtype, trainable=trainable)


class _GlobalPooling(Layer):
    ndim = None  # 3 for 1-D pools, 4 for 2-D pools

    def __init__(self, data_format=None, keepdims=False, name=None, dtype=None, trainable=True):
        super().__init__(name=name, dtype=dtype, trainable=trainable)
        self.data_format = win.check_data_format(data_format, self._who())
        self.keepdims = keepdims

    def _axes(self):
        spatial = self.ndim - 2
        return tuple(range(2, 2 + spatial)) if self.data_format == "channels_first" else tuple(range(1, 1 + spatial))

    def compute_output_shape(self, input_shape):
        if len(input_shape) != self.ndim:
            raise ValueError(f"{self._who()}: expects {self.ndim}-D input. Received: input_shape={tuple(input_shape)}")
        if self.keepdims:
            return tuple(1 if i in self._axes() else d for i, d in enumerate(input_shape))
        return tuple(d for i, d in enumerate(input_shape) if i not in self._axes())

    def _keep(self, dout):
        return dout if self.keepdims else np.expand_dims(dout, self._axes())

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class _GlobalMax(_GlobalPooling):
    """Max over the steps (1-D) or height and width (2-D); ties share the gradient equally (tf.reduce_max)."""

    def call(self, x, training=False):
        y = x.max(axis=self._axes(), keepdims=True)
        self._cache = (x, y)
        return y if self.keepdims else np.squeeze(y, axis=self._axes())

    def backward_call(self, dout):
        x, y = self._cache
        winners = (x == y).astype(dout.dtype)
        count = winners.sum(axis=self._axes(), keepdims=True)
        return (winners / count) * self._keep(dout)

    def kink_signature(self):
        if self._cache is None:
            return []
        x, _ = self._cache
        moved = np.moveaxis(x, self._axes(), tuple(range(1, 1 + len(self._axes()))))
        flat = moved.reshape(x.shape[0], -1, moved.shape[-1])
        return [flat.argmax(axis=1)]


class _GlobalAverage(_GlobalPooling):
    """Mean over the steps (1-D) or height and width (2-D)."""

    def call(self, x, training=False):
        self._cache = x.shape
        return x.mean(axis=self._axes(), keepdims=self.keepdims)

    def backward_call(self, dout):
        count = int(np.prod([self._cache[a] for a in self._axes()]))
        return np.broadcast_to(self._keep(dout) / count, self._cache).copy()


class GlobalMaxPooling1D(_GlobalMax):
    """(N, L, C) -> (N, C): max over steps. Parity: keras.layers.GlobalMaxPooling1D."""

    ndim = 3


class GlobalMaxPooling2D(_GlobalMax):
    """(N, H, W, C) -> (N, C): max over height and width. Parity: keras.layers.GlobalMaxPooling2D."""

    ndim = 4


class GlobalAveragePooling1D(_GlobalAverage):
    """(N, L, C) -> (N, C): mean over steps. Parity: keras.layers.GlobalAveragePooling1D (no mask)."""

    ndim = 3
