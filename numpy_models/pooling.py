"""MaxPooling2D, AveragePooling2D and GlobalAveragePooling2D (channels_last).

Parity: ``keras.layers.*Pooling2D``. ``strides`` defaults to ``pool_size``;
'same' uses Keras's asymmetric padding; max pooling pads with -inf and sends
each window's gradient to the *first* maximal element in row-major (h, w)
order (TF's rule; a ``mask = (x == max)`` implementation would split ties);
average pooling with 'same' divides by the number of valid (unpadded) cells.
"""
import numpy as np

from numpy_models import _windows as win
from numpy_models.base import Layer


class _Pooling2D(win.ChannelsFirstMixin, Layer):
    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, name=None, dtype=None,
                 trainable=True):
        super().__init__(name=name, dtype=dtype, trainable=trainable)
        who = self._who()
        self.pool_size = win.as_pair(pool_size, "pool_size", who)
        self.strides = win.as_pair(strides if strides is not None else self.pool_size, "strides", who)
        self.padding = win.check_padding(padding, who, ("valid", "same"))
        self.data_format = win.check_data_format(data_format, who)

    def build(self, input_shape, rng=None):
        if len(input_shape) != 4:
            raise ValueError(f"{self._who()}: expects 4-D input (batch, height, width, channels). Received: input_shape={tuple(input_shape)}")
        self._plan = win.spatial_plan(self._nhwc(input_shape), self.pool_size, self.strides, (1, 1), self.padding, self._who())
        super().build(input_shape, rng)

    def compute_output_shape(self, input_shape):
        return self._from_nhwc_shape((input_shape[0], self._plan[0], self._plan[1], self._nhwc(input_shape)[3]))

    def call(self, x, training=False):
        return self._from_nhwc(self.pool(self._to_nhwc(x)))

    def backward_call(self, dout):
        return self._from_nhwc(self.pool_backward(self._to_nhwc(dout)))

    def _window_matrix(self, x, fill):
        """(N, OH, OW, ph*pw, C) copy of every window, and the padded shape."""
        oh, ow, ph, pw = self._plan
        xp = win.pad(x, ph, pw, fill)
        view = win.windows(xp, self.pool_size, self.strides, (1, 1), (oh, ow))
        n, c = x.shape[0], x.shape[3]
        return view.reshape(n, oh, ow, -1, c), xp.shape

    def _scatter(self, dwin, padded_shape, x_shape):
        oh, ow, ph, pw = self._plan
        dwin = dwin.reshape(x_shape[0], oh, ow, *self.pool_size, x_shape[3])
        dxp = win.scatter_windows(dwin, padded_shape, self.strides, (1, 1))
        return win.unpad(dxp, ph, pw, x_shape[1:3])

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "strides": self.strides, "padding": self.padding,
                "data_format": self.data_format}


class MaxPooling2D(_Pooling2D):
    """Max over each window; gradient to the first maximum (row-major) of each window."""

    def pool(self, x):
        cols, padded_shape = self._window_matrix(x, -np.inf)
        arg = cols.argmax(axis=3)[:, :, :, None, :]
        y = np.take_along_axis(cols, arg, axis=3)[:, :, :, 0, :]
        self._cache = (arg, cols.shape, padded_shape, x.shape)
        return y

    def pool_backward(self, dout):
        arg, cols_shape, padded_shape, x_shape = self._cache
        dwin = np.zeros(cols_shape, dtype=dout.dtype)
        np.put_along_axis(dwin, arg, dout[:, :, :, None, :], axis=3)
        return self._scatter(dwin, padded_shape, x_shape)

    def kink_signature(self):
        """Which element wins each window (a change of winner is a kink for finite differences)."""
        return [self._cache[0]] if self._cache else []


class AveragePooling2D(_Pooling2D):
    """Mean over each window's valid (unpadded) cells."""

    def _counts(self, x_shape):
        ones = np.ones((1,) + tuple(x_shape[1:3]) + (1,), dtype=self.dtype)
        cols, _ = self._window_matrix(ones, 0.0)
        return cols.sum(axis=3)  # (1, OH, OW, 1)

    def pool(self, x):
        cols, padded_shape = self._window_matrix(x, 0.0)
        counts = self._counts(x.shape)
        self._cache = (counts, cols.shape, padded_shape, x.shape)
        return cols.sum(axis=3) / counts

    def pool_backward(self, dout):
        counts, cols_shape, padded_shape, x_shape = self._cache
        share = (dout / counts)[:, :, :, None, :]
        dwin = np.broadcast_to(share, cols_shape)
        return self._scatter(np.ascontiguousarray(dwin), padded_shape, x_shape)


class GlobalAveragePooling2D(Layer):
    """Mean over height and width: (N, H, W, C) -> (N, C)."""

    def __init__(self, keepdims=False, name=None, dtype=None, trainable=True):
        super().__init__(name=name, dtype=dtype, trainable=trainable)
        self.keepdims = keepdims

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(f"{self._who()}: expects 4-D input. Received: input_shape={tuple(input_shape)}")
        return (input_shape[0], 1, 1, input_shape[3]) if self.keepdims else (input_shape[0], input_shape[3])

    def call(self, x, training=False):
        self._cache = x.shape
        return x.mean(axis=(1, 2), keepdims=self.keepdims)

    def backward_call(self, dout):
        n, h, w, c = self._cache
        return np.broadcast_to(dout.reshape(n, 1, 1, c) / (h * w), self._cache).copy()

    def get_config(self):
        return {**super().get_config(), "keepdims": self.keepdims}
