"""MaxPooling2D, AveragePooling2D and GlobalAveragePooling2D (channels_last).

Parity: ``keras.layers.*Pooling2D``. ``strides`` defaults to ``pool_size``;
'same' uses Keras's asymmetric padding; max pooling pads with -inf and sends
each window's gradient to the *first* maximal element in row-major (h, w)
order (TF's rule; a ``mask = (x == max)`` implementation would split ties);
average pooling with 'same' divides by the number of valid (unpadded) cells.
"""
import numpy as np

from numpy_models import _maxpool2x2
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

    def _offsets(self):
        return win.offset_slices(self.pool_size, self.strides, (1, 1), self._plan[:2])

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "strides": self.strides, "padding": self.padding,
                "data_format": self.data_format}


class MaxPooling2D(_Pooling2D):
    """Max over each window; gradient to the first maximum (row-major) of each window.

    Forward keeps a running maximum over the window offsets; backward walks the
    offsets in row-major order and hands each window's gradient to the first
    offset whose value equals the maximum, so ties go where TF sends them.
    """

    def pool(self, x):
        oh, ow, ph, pw = self._plan
        xp = win.pad(x, ph, pw, -np.inf)
        if _maxpool2x2.applies(self.pool_size, self.strides, xp.shape[1:3], (oh, ow)):
            best, row_max = _maxpool2x2.pool(xp)  # whole-array operations: 2-4x faster for few channels
            self._cache = (xp, best, x.shape, row_max)
            return best
        best = None
        for _, (rows, cols) in self._offsets():
            v = xp[:, rows, cols, :]
            best = v.copy() if best is None else np.maximum(best, v, out=best)
        self._cache = (xp, best, x.shape, None)
        return best

    def _first_winners(self):
        """Yield (slice, mask) per offset: mask marks windows whose first maximum sits at this offset."""
        xp, y = self._cache[:2]
        offsets = list(self._offsets())
        unclaimed = None
        for n, (_, (rows, cols)) in enumerate(offsets):
            wins = xp[:, rows, cols, :] == y
            if unclaimed is None:
                unclaimed = ~wins
            else:
                wins &= unclaimed
                if n < len(offsets) - 1:
                    unclaimed &= ~wins
            yield (rows, cols), wins

    def pool_backward(self, dout):
        xp, _, x_shape, row_max = self._cache
        oh, ow, ph, pw = self._plan
        if row_max is not None:
            return win.unpad(_maxpool2x2.pool_backward(xp, row_max, dout), ph, pw, x_shape[1:3])
        overlapping = any(s < p for s, p in zip(self.strides, self.pool_size, strict=True))
        # Windows that tile the padded input write every cell once: no zero fill needed.
        tiled = all(s == p and o * p == n for o, s, p, n in zip(self._plan[:2], self.strides, self.pool_size,
                                                                 xp.shape[1:3], strict=True))
        dxp = np.empty(xp.shape, dtype=dout.dtype) if tiled else np.zeros(xp.shape, dtype=dout.dtype)
        for (rows, cols), wins in self._first_winners():
            if overlapping:
                dxp[:, rows, cols, :] += dout * wins
            else:  # windows do not overlap: each cell is written once
                np.multiply(dout, wins, out=dxp[:, rows, cols, :])
        return win.unpad(dxp, ph, pw, x_shape[1:3])

    def kink_signature(self):
        """Which offset wins each window (a change of winner is a kink for finite differences).

        Offsets are visited last to first, each overwriting the windows it ties:
        the first maximum is written last (the rule of ``_first_winners``). The
        overwrite is integer arithmetic on the 0/1 tie mask, ~6x faster than a masked copy.
        2x2 windows tiling the input take ``_maxpool2x2.winners`` (the same offsets, ~2x faster on LeNet's pool1).
        """
        if not self._cache:
            return []
        xp, y, _, row_max = self._cache
        if row_max is not None and not np.isnan(y).any():  # 2x2 windows tiling the input: whole-array steps
            return [_maxpool2x2.winners(xp, row_max)]
        offsets = list(self._offsets())
        winner = np.zeros(y.shape, dtype=np.int8 if len(offsets) < 128 else np.int16)
        for k, (rows, cols) in reversed(offsets):
            ties = np.equal(xp[:, rows, cols, :], y).view(np.int8)
            winner -= (winner - k) * ties  # k where tied, unchanged elsewhere
        return [winner]


class AveragePooling2D(_Pooling2D):
    """Mean over each window's valid (unpadded) cells."""

    def _sum(self, xp):
        total = None
        for _, (rows, cols) in self._offsets():
            v = xp[:, rows, cols, :]
            total = v.copy() if total is None else total + v
        return total

    def pool(self, x):
        oh, ow, ph, pw = self._plan
        counts = self._sum(win.pad(np.ones((1,) + x.shape[1:3] + (1,), dtype=x.dtype), ph, pw))
        self._cache = (counts, win.pad(x, ph, pw).shape, x.shape)
        return self._sum(win.pad(x, ph, pw)) / counts

    def pool_backward(self, dout):
        counts, padded_shape, x_shape = self._cache
        share = dout / counts
        dxp = np.zeros(padded_shape, dtype=dout.dtype)
        for _, (rows, cols) in self._offsets():
            dxp[:, rows, cols, :] += share
        oh, ow, ph, pw = self._plan
        return win.unpad(dxp, ph, pw, x_shape[1:3])


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
