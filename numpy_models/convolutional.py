"""Conv2D: cross-correlation as one GEMM on a strided im2col matrix.

Parity: ``keras.layers.Conv2D`` (channels_last, kernel (kh, kw, in, out),
Keras's asymmetric 'same' padding, dilation). Deliberate extras, as named
textbook variants: ``padding="symmetric"`` (p = (k-1)//2 on both sides) and
``data_format="channels_first"`` for NCHW data (the kernel layout stays Keras's;
``parity.gradcheck.layouts`` converts textbook (out, in, kh, kw) kernels).
"""
import numpy as np

from numpy_models import _windows as win
from numpy_models import activations, initializers
from numpy_models._fast import column_sums
from numpy_models.base import Layer, serialize_regularizer
from numpy_models.core import _ActivationMixin, _ser_init


class Conv2D(win.ChannelsFirstMixin, _ActivationMixin, Layer):
    """2-D convolution ``y = act(conv(x, kernel) + bias)``.

    Shapes:
        x (N, H, W, C_in) -> y (N, OH, OW, filters); kernel (kh, kw, C_in, filters).
    Math:
        cols = im2col(pad(x))           # (N*OH*OW, kh*kw*C_in), a copy of a strided view
        y    = cols @ kernel.reshape(-1, filters) + bias
        dkernel = cols^T @ dz,  dx = col2im(dz @ kernel^T)
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, name=None,
                 dtype=None, trainable=True):
        super().__init__(name=name, dtype=dtype, trainable=trainable)
        who = self._who()
        if not isinstance(filters, (int, np.integer)) or filters <= 0:
            raise ValueError(f"{who}: filters must be a positive integer. Received: filters={filters!r}")
        self.filters = int(filters)
        self.kernel_size = win.as_pair(kernel_size, "kernel_size", who)
        self.strides = win.as_pair(strides, "strides", who)
        self.dilation_rate = win.as_pair(dilation_rate, "dilation_rate", who)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{who}: strides > 1 cannot be combined with dilation_rate > 1 (as in Keras). "
                             f"Received: strides={self.strides}, dilation_rate={self.dilation_rate}")
        self.padding = win.check_padding(padding, who)
        self.data_format = win.check_data_format(data_format, who)
        self.activation = activations.get(activation, who)
        self.use_bias = use_bias
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer
        for what in (kernel_initializer, bias_initializer):
            initializers.get(what, who)

    def build(self, input_shape, rng=None):
        if len(input_shape) != 4:
            raise ValueError(f"{self._who()}: expects 4-D input (batch, height, width, channels). Received: input_shape={tuple(input_shape)}")
        self.dtype = self.dtype or "float32"
        nhwc = self._nhwc(input_shape)
        self._plan = win.spatial_plan(nhwc, self.kernel_size, self.strides, self.dilation_rate, self.padding, self._who())
        self.add_weight("kernel", self.kernel_size + (nhwc[3], self.filters), self.kernel_initializer, rng,
                        regularizer=self.kernel_regularizer)
        if self.use_bias:
            self.add_weight("bias", (self.filters,), self.bias_initializer, rng, regularizer=self.bias_regularizer)
        super().build(input_shape, rng)

    def compute_output_shape(self, input_shape):
        return self._from_nhwc_shape((input_shape[0], self._plan[0], self._plan[1], self.filters))

    def _columns(self, xp):
        """im2col as (M, K), or (K, M) for single-channel input (faster to build); returns (matrix, transposed)."""
        oh, ow = self._plan[:2]
        if xp.shape[3] == 1:
            return win.offset_major_columns(xp, self.kernel_size, self.strides, self.dilation_rate, (oh, ow)), True
        view = win.windows(xp, self.kernel_size, self.strides, self.dilation_rate, (oh, ow))
        return view.reshape(-1, int(np.prod(view.shape[3:]))), False

    def call(self, x, training=False):
        x = self._to_nhwc(x)
        oh, ow, ph, pw = self._plan
        xp = win.pad(x, ph, pw)
        cols, transposed = self._columns(xp)
        kernel2d = self.params["kernel"].reshape(-1, self.filters)
        z = (cols.T if transposed else cols) @ kernel2d
        if self.use_bias:
            z += self.params["bias"]
        z = z.reshape(x.shape[0], oh, ow, self.filters)
        y = self._activate(z)
        self._cache = ((cols, transposed), z, y, xp.shape, x.shape)
        return self._from_nhwc(y)

    def backward_call(self, dout):
        dout = self._to_nhwc(dout)
        _, z, y, _, _ = self._cache
        return self.backward_preactivation(activations.backward(self.activation, z, y, dout))

    def backward_preactivation(self, dz):
        (cols, transposed), _, _, padded_shape, x_shape = self._cache
        kernel = self.params["kernel"]
        dz2 = dz.reshape(-1, self.filters)
        # (dz^T cols)^T is measurably faster than cols^T dz for a tall im2col matrix.
        dkernel = cols @ dz2 if transposed else (dz2.T @ cols).T
        self.grads["kernel"] = np.ascontiguousarray(dkernel).reshape(kernel.shape)
        if self.use_bias:
            self.grads["bias"] = column_sums(dz2)
        if not self.compute_input_grad:
            return None
        oh, ow, ph, pw = self._plan
        kh, kw, c_in, _ = kernel.shape
        # One contiguous (M, C_in) block per kernel offset: dz @ kernel[i, j]^T (a loop of
        # kh*kw GEMMs into one buffer is 2x faster than NumPy's broadcast batched matmul).
        per_offset = np.ascontiguousarray(kernel.reshape(kh * kw, c_in, self.filters).transpose(0, 2, 1))
        blocks = np.empty((kh * kw, dz2.shape[0], c_in), dtype=dz2.dtype)
        for k in range(kh * kw):
            np.matmul(dz2, per_offset[k], out=blocks[k])
        blocks = blocks.reshape(kh * kw, x_shape[0], oh, ow, c_in)
        dxp = win.scatter_offsets(blocks, padded_shape, self.kernel_size, self.strides, self.dilation_rate)
        return self._from_nhwc(win.unpad(dxp, ph, pw, x_shape[1:3]))

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": self.dilation_rate, "activation": self.activation, "use_bias": self.use_bias,
                "kernel_initializer": _ser_init(self.kernel_initializer),
                "bias_initializer": _ser_init(self.bias_initializer),
                "kernel_regularizer": serialize_regularizer(self, "kernel"),
                "bias_regularizer": serialize_regularizer(self, "bias")}
