"""Conv2D: cross-correlation as one GEMM on a strided im2col matrix.

Parity: ``keras.layers.Conv2D`` (channels_last, kernel (kh, kw, in, out),
Keras's asymmetric 'same' padding, dilation). Deliberate extras, as named
textbook variants: ``padding="symmetric"`` (p = (k-1)//2 on both sides) and
``data_format="channels_first"`` for NCHW data (the kernel layout stays Keras's;
``parity.gradcheck.layouts`` converts textbook (out, in, kh, kw) kernels).
"""
import numpy as np

from numpy_models import _banded, _grouped
from numpy_models import _windows as win
from numpy_models import activations, initializers
from numpy_models._fast import add_bias_per_sample, channel_sums
from numpy_models._validation import refuse
from numpy_models.base import Layer, serialize_regularizer
from numpy_models.core import _ActivationMixin, _ser_init

# Up to this many groups one block-diagonal dense GEMM beats regrouping the columns (measured single-threaded,
# batch 32 at 28x28, 3x3: G=4 11 vs 50 ms, depthwise C=32 107 vs 268 ms); beyond, G-fold flops catch up.
DENSE_GROUPS = 32


class Conv2D(win.ChannelsFirstMixin, _ActivationMixin, Layer):
    """2-D convolution ``y = act(conv(x, kernel) + bias)``.

    Shapes:
        x (N, H, W, C_in) -> y (N, OH, OW, filters); kernel (kh, kw, C_in / groups, filters).
    Math:
        cols = im2col(pad(x))           # (N*OH*OW, kh*kw*C_in), a copy of a strided view
        y    = cols @ kernel.reshape(-1, filters) + bias
        dkernel = cols^T @ dz,  dx = col2im(dz @ kernel^T)
        groups > 1: the same per group, as one batched GEMM (``_grouped``).
        few filters: B adjacent outputs per GEMM row against a banded kernel, and the input gradient
        by bands of half output rows (``_banded``): the same sums, GEMMs wide enough for BLAS.
    """

    _input_rank = 4

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 name=None, dtype=None, trainable=True):
        super().__init__(name=name, dtype=dtype, trainable=trainable)
        who = self._who()
        refuse(who, activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                           bias_constraint=bias_constraint)
        self.filters = _positive_int(filters, "filters", who)
        self.groups = _positive_int(groups, "groups", who)
        if self.filters % self.groups:
            raise ValueError(f"{who}: filters must be divisible by groups. "
                             f"Received: filters={filters}, groups={groups}")
        self._init_geometry(kernel_size, strides, padding, data_format, dilation_rate)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{who}: strides > 1 cannot be combined with dilation_rate > 1 (as in Keras). "
                             f"Received: strides={self.strides}, dilation_rate={self.dilation_rate}")
        self._init_bias_and_activation(activation, use_bias, bias_initializer, bias_regularizer)
        self.kernel_initializer, self.kernel_regularizer = kernel_initializer, kernel_regularizer
        initializers.get(kernel_initializer, who)

    def _init_geometry(self, kernel_size, strides, padding, data_format, dilation_rate):
        who = self._who()
        self.kernel_size = win.as_pair(kernel_size, "kernel_size", who)
        self.strides = win.as_pair(strides, "strides", who)
        self.dilation_rate = win.as_pair(dilation_rate, "dilation_rate", who)
        self.padding = win.check_padding(padding, who)
        self.data_format = win.check_data_format(data_format, who)

    def _init_bias_and_activation(self, activation, use_bias, bias_initializer, bias_regularizer):
        self.activation = activations.get(activation, self._who())
        self.use_bias = use_bias
        self.bias_initializer, self.bias_regularizer = bias_initializer, bias_regularizer
        initializers.get(bias_initializer, self._who())

    def _check_input(self, input_shape):
        """Input rank and channels; returns the NHWC shape."""
        if len(input_shape) != self._input_rank:
            raise ValueError(f"{self._who()}: expects {self._input_rank}-D input {self._layout_words}. "
                             f"Received: input_shape={tuple(input_shape)}")
        nhwc = self._nhwc(input_shape)
        if nhwc[3] % self.groups:
            raise ValueError(f"{self._who()}: input channels must be divisible by groups={self.groups}. "
                             f"Received: input_shape={tuple(input_shape)}")
        return nhwc

    _layout_words = "(batch, height, width, channels)"

    def _kernel_shape(self, c_in):
        return self.kernel_size + (c_in // self.groups, self.filters)

    def build(self, input_shape, rng=None):
        self.dtype = self.dtype or "float32"
        nhwc = self._check_input(input_shape)
        self._plan = self._spatial_plan(nhwc)
        self.add_weight("kernel", self._kernel_shape(nhwc[3]), self.kernel_initializer, rng,
                        regularizer=self.kernel_regularizer)
        if self.use_bias:
            self.add_weight("bias", (self.filters,), self.bias_initializer, rng, regularizer=self.bias_regularizer)
        super().build(input_shape, rng)

    def _spatial_plan(self, nhwc):
        return win.spatial_plan(nhwc, self.kernel_size, self.strides, self.dilation_rate, self.padding, self._who())

    def compute_output_shape(self, input_shape):
        return self._from_nhwc_shape((input_shape[0], self._plan[0], self._plan[1], self.filters))

    def _columns(self, xp):
        """The GEMM's left operand and its layout.

        "banded": B adjacent outputs per row (``_banded``: few filters); "offset_major": im2col as (K, M),
        faster to build for single-channel input; "im2col": (M, K); "grouped": (G, M, KK*Cg), many groups.
        """
        geometry = (self.kernel_size, self.strides, self.dilation_rate, self._plan[:2])
        if self._positions() > 1:
            return _banded.patches(xp, *geometry, self._positions()), "banded"
        if xp.shape[3] == 1 and not self._batched_groups:
            return win.offset_major_columns(xp, *geometry), "offset_major"
        view = win.windows(xp, *geometry)
        if self._batched_groups:
            return _grouped.group_columns(view, self.groups), "grouped"
        return view.reshape(-1, int(np.prod(view.shape[3:]))), "im2col"

    def _positions(self):
        """Output pixels per GEMM row (``_banded.band_width``); 1 is the textbook im2col."""
        if self._batched_groups:
            return 1
        return _banded.band_width(self._plan[1], self.filters, self.kernel_size[1], self.strides[1],
                                  self.dilation_rate[1])

    def _kernel4d(self):
        """The kernel as (kh, kw, Cg, F): Conv1D and DepthwiseConv2D store the same numbers in their own layouts."""
        return self.params["kernel"].reshape(self.kernel_size + (-1, self.filters))

    @property
    def _batched_groups(self):
        """Many groups: one batched GEMM per group; a few: one dense GEMM with a block-diagonal kernel."""
        return self.groups > DENSE_GROUPS

    def _dense_kernel(self):
        kernel = self._kernel4d()
        return _grouped.block_diagonal(kernel, self.groups) if self.groups > 1 else kernel

    def call(self, x, training=False):
        x = self._to_nhwc(x)
        oh, ow, ph, pw = self._plan
        xp = win.pad(x, ph, pw)
        cols, layout = self._columns(xp)
        if layout == "grouped":
            z = _grouped.forward(cols, self._kernel4d(), self.groups)
        elif layout == "banded":
            z = cols @ _banded.band_kernel(self._dense_kernel(), self._positions(), self.strides[1],
                                           self.dilation_rate[1])
        else:
            z = (cols.T if layout == "offset_major" else cols) @ self._dense_kernel().reshape(-1, self.filters)
        if self.use_bias:
            add_bias_per_sample(z, self.params["bias"], x.shape[0])
        z = z.reshape(x.shape[0], oh, ow, self.filters)
        y = self._activate(z)
        self._cache = ((cols, layout), z, y, xp.shape, x.shape)
        return self._from_nhwc(y)

    def backward_call(self, dout):
        dout = self._to_nhwc(dout)
        _, z, y, _, _ = self._cache
        return self.backward_preactivation(activations.backward(self.activation, z, y, dout))

    def backward_preactivation(self, dz):
        (cols, layout), _, _, padded_shape, x_shape = self._cache
        dz2 = dz.reshape(-1, self.filters)
        self.grads["kernel"] = self._kernel_grad(cols, layout, dz2, padded_shape[3]).reshape(
            self.params["kernel"].shape)
        if self.use_bias:
            self.grads["bias"] = channel_sums(dz2, self._plan[1])
        if not self.compute_input_grad:
            return None
        oh, ow, ph, pw = self._plan
        dxp = self._padded_input_grad(dz2, layout, padded_shape, (x_shape[0], oh, ow))
        return self._from_nhwc(win.unpad(dxp, ph, pw, x_shape[1:3]))

    def _kernel_grad(self, cols, layout, dz2, c_in):
        """dL/dkernel as (kh, kw, Cg, F), contiguous."""
        if layout == "grouped":
            return _grouped.kernel_grad(cols, dz2, self._kernel4d().shape, self.groups)
        dense_shape = self.kernel_size + (c_in, self.filters)
        if layout == "banded":  # (dz^T cols)^T, as below: 2x faster than cols^T dz in float64, 10% in float32
            dband = (dz2.reshape(cols.shape[0], -1).T @ cols).T
            dense = _banded.fold_kernel_grad(dband, dense_shape, self._positions(), self.strides[1],
                                             self.dilation_rate[1])
        else:  # (dz^T cols)^T is measurably faster than cols^T dz for a tall im2col matrix.
            dense = cols @ dz2 if layout == "offset_major" else (dz2.T @ cols).T
        dense = np.ascontiguousarray(dense).reshape(dense_shape)
        return _grouped.diagonal_blocks(dense, self.groups) if self.groups > 1 else dense

    def _padded_input_grad(self, dz2, layout, padded_shape, out_nhw):
        """dL/d(padded input): bands of half or whole output rows where that is cheap, else one GEMM per offset."""
        geometry = (self.kernel_size, self.strides, self.dilation_rate)
        if layout == "grouped":  # scatter per (group, channel) into a (N, H, W, G, Cg) view of the buffer
            blocks = _grouped.offset_blocks(dz2, self._kernel4d(), self.groups, out_nhw)
            shape = padded_shape[:3] + (self.groups, padded_shape[3] // self.groups)
            return win.scatter_offsets(blocks, shape, *geometry).reshape(padded_shape)
        kernel = self._dense_kernel()
        positions = _banded.input_grad_positions(out_nhw[2], padded_shape[3], self.kernel_size[1], self.strides[1],
                                                 self.dilation_rate[1])
        if positions:
            return _banded.input_grad(dz2.reshape(out_nhw + (-1,)), kernel, padded_shape, self.strides,
                                      self.dilation_rate, positions)
        return _offset_input_grad(dz2, kernel, padded_shape, out_nhw, geometry)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": self.dilation_rate, "groups": self.groups, "activation": self.activation,
                "use_bias": self.use_bias,
                "kernel_initializer": _ser_init(self.kernel_initializer),
                "bias_initializer": _ser_init(self.bias_initializer),
                "kernel_regularizer": serialize_regularizer(self, "kernel"),
                "bias_regularizer": serialize_regularizer(self, "bias")}


def _offset_blocks(dz2, kernel):
    """(KK, M, C_in): dz @ kernel[i, j]^T for every offset, one contiguous block each.

    A loop of kh*kw GEMMs into one buffer is 2x faster than NumPy's broadcast batched matmul.
    """
    kh, kw, c_in, filters = kernel.shape
    per_offset = np.ascontiguousarray(kernel.reshape(kh * kw, c_in, filters).transpose(0, 2, 1))
    blocks = np.empty((kh * kw, dz2.shape[0], c_in), dtype=dz2.dtype)
    for k in range(kh * kw):
        np.matmul(dz2, per_offset[k], out=blocks[k])
    return blocks


def _offset_input_grad(dz2, kernel, padded_shape, out_nhw, geometry):
    """col2im(dz @ kernel^T) one kernel offset at a time: dz @ kernel[i, j]^T, then added through its slice.

    The same GEMMs and adds, in the same order, as ``_offset_blocks`` followed by
    ``scatter_offsets`` (bit for bit), but each offset's block is added while it is
    still in cache instead of after all KK blocks went through memory (-15% CPU on LeNet's conv2).
    """
    kh, kw, c_in, filters = kernel.shape
    per_offset = np.ascontiguousarray(kernel.reshape(kh * kw, c_in, filters).transpose(0, 2, 1))
    block = np.empty((dz2.shape[0], c_in), dtype=dz2.dtype)
    block_nhwc = block.reshape(out_nhw + (c_in,))
    dxp = np.zeros(padded_shape, dtype=dz2.dtype)
    for k, (rows, cols) in win.offset_slices(*geometry, out_nhw[1:]):
        np.matmul(dz2, per_offset[k], out=block)
        dxp[:, rows, cols, :] += block_nhwc
    return dxp


def _positive_int(value, name, who):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{who}: {name} must be a positive integer. Received: {name}={value!r}")
    return int(value)
