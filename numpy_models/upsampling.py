"""UpSampling2D: nearest (repeat) or bilinear (TF's half-pixel resize).

Parity: ``keras.layers.UpSampling2D``. 'nearest' is ``ops.repeat`` along
height then width. 'bilinear' is ``tf.image.resize(method='bilinear')``, i.e.
TF's ResizeBilinear with half-pixel centres: source coordinate
``s = (i + 0.5) * (in / out) - 0.5``, rows ``max(floor(s), 0)`` and
``min(ceil(s), in - 1)``, weight ``s - floor(s)``, interpolated as
``top + (bottom - top) * wy`` with ``top = tl + (tr - tl) * wx``. TF's kernel
computes all of this in float32 whatever the input dtype (the output of the
forward is float32, and its gradient products ``g * wy * wx`` are float32
before being accumulated in the input dtype); the twin does the same, so a
float64 model is only float32-accurate through this layer, exactly as in Keras
(``numpy_models.conventions`` switches this off to model JAX and PyTorch, which
resize in the input's dtype).
Finite differences cannot resolve a float32-rounded function, so gradient
checkers use the textbook variant ``compute_in_float32=False`` (same formula
in the layer's dtype).
"""
import numpy as np

from numpy_models import _windows as win
from numpy_models.base import Layer
from numpy_models.conventions import resize_dtype


def half_pixel_weights(in_size, out_size, dtype=np.float32):
    """(lower, upper, lerp) per output index along one axis, in ``dtype`` arithmetic (TF: float32)."""
    scale = dtype(in_size) / dtype(out_size)
    src = (np.arange(out_size, dtype=dtype) + dtype(0.5)) * scale - dtype(0.5)
    floor = np.floor(src)
    lower = np.maximum(floor.astype(np.int64), 0)
    upper = np.minimum(np.ceil(src).astype(np.int64), in_size - 1)
    return lower, upper, (src - floor).astype(dtype)


class UpSampling2D(win.ChannelsFirstMixin, Layer):
    """Repeats (nearest) or interpolates (bilinear) rows by ``size[0]`` and columns by ``size[1]``.

    Shapes: (N, H, W, C) -> (N, H * size[0], W * size[1], C).
    """

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", compute_in_float32=True, name=None,
                 dtype=None, trainable=True):
        super().__init__(name=name, dtype=dtype, trainable=trainable)
        self.compute_in_float32 = compute_in_float32
        self.size = win.as_pair(size, "size", self._who())
        self.data_format = win.check_data_format(data_format, self._who())
        if not isinstance(interpolation, str) or interpolation.lower() not in ("nearest", "bilinear"):
            raise ValueError(f"{self._who()}: interpolation must be 'nearest' or 'bilinear'. "
                             f"Received: interpolation={interpolation!r}")
        self.interpolation = interpolation.lower()

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(f"{self._who()}: expects 4-D input. Received: input_shape={tuple(input_shape)}")
        n, h, w, c = self._nhwc(input_shape)
        return self._from_nhwc_shape((n, h * self.size[0], w * self.size[1], c))

    def call(self, x, training=False):
        x = self._to_nhwc(x)
        self._cache = x.shape
        if self.interpolation == "nearest":
            return self._from_nhwc(np.repeat(np.repeat(x, self.size[0], axis=1), self.size[1], axis=2))
        return self._from_nhwc(self._bilinear(x))

    def backward_call(self, dout):
        dout = self._to_nhwc(dout)
        n, h, w, c = self._cache
        if self.interpolation == "nearest":  # each input cell fed a size[0] x size[1] block
            dx = dout.reshape(n, h, self.size[0], w, self.size[1], c).sum(axis=(2, 4))
        else:
            dx = self._bilinear_backward(dout)
        return self._from_nhwc(dx)

    def _weights(self):
        n, h, w, c = self._cache
        dtype = self._math_dtype()
        return half_pixel_weights(h, h * self.size[0], dtype), half_pixel_weights(w, w * self.size[1], dtype)

    def _math_dtype(self):
        return resize_dtype(self.dtype) if self.compute_in_float32 else np.dtype(self.dtype).type

    def _bilinear(self, x):
        (top, bottom, wy), (left, right, wx) = self._weights()
        xf = x.astype(self._math_dtype())
        wx, wy = wx[None, None, :, None], wy[None, :, None, None]
        rows_t, rows_b = xf[:, top], xf[:, bottom]
        upper = rows_t[:, :, left] + (rows_t[:, :, right] - rows_t[:, :, left]) * wx
        lower = rows_b[:, :, left] + (rows_b[:, :, right] - rows_b[:, :, left]) * wx
        return (upper + (lower - upper) * wy).astype(x.dtype)

    def _bilinear_backward(self, dout):
        (top, bottom, wy), (left, right, wx) = self._weights()
        g = dout.astype(self._math_dtype())
        one = self._math_dtype()(1)
        wy_, wx_ = wy[None, :, None, None], wx[None, None, :, None]
        dx = np.zeros(self._cache, dtype=dout.dtype)
        for rows, ry in ((top, one - wy_), (bottom, wy_)):
            for cols, rx in ((left, one - wx_), (right, wx_)):
                np.add.at(dx, (slice(None), rows[:, None], cols[None, :]), ((g * ry) * rx).astype(dout.dtype))
        return dx

    def get_config(self):
        return {**super().get_config(), "size": self.size, "data_format": self.data_format,
                "interpolation": self.interpolation, "compute_in_float32": self.compute_in_float32}
