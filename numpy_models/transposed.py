"""Conv2DTranspose: the adjoint (input gradient) of a Conv2D, with Keras's output-size rule.

Parity: ``keras.layers.Conv2DTranspose`` (channels_last, kernel (kh, kw, filters,
C_in), bias (filters,)). TF computes it as ``conv2d_backprop_input`` of the
conv that maps the (OH, OW) output back to the (H, W) input, so this layer is
exactly Conv2D's backward pass run forwards, and its backward is Conv2D's
forward (im2col + one GEMM). Deliberate extra, as a named textbook variant:
``padding="symmetric"`` crops p = d(k-1)//2 from the top/left of the full
col2im output and p - output_padding from the bottom/right, the PyTorch /
from-scratch convention ``out = (n-1)s - 2p + d(k-1) + 1 + output_padding``.
"""
import numpy as np

from numpy_models import _windows as win
from numpy_models import activations, initializers
from numpy_models._fast import column_sums
from numpy_models._validation import refuse
from numpy_models.base import Layer, serialize_regularizer
from numpy_models.convolutional import _offset_blocks, _positive_int
from numpy_models.core import _ActivationMixin, _ser_init


def output_size(n, k, s, d, padding, output_padding):
    """Keras's rule (``backend/common/backend_utils.py _get_output_shape_given_tf_padding``).

    span = d(k-1)+1.  valid: (n-1)s + span + op, op defaulting to max(span, s) - span.
    same: n*s when op is None, else (n-1)s + span % 2 + op.
    """
    span = d * (k - 1) + 1
    if padding == "symmetric":
        return (n - 1) * s + span - 2 * ((span - 1) // 2) + (output_padding or 0)
    if padding == "valid":
        return (n - 1) * s + span + (max(span, s) - span if output_padding is None else output_padding)
    return n * s if output_padding is None else (n - 1) * s + span % 2 + output_padding


def _symmetric_crop(k, d, output_padding, who):
    """(before, after) cropped from the full col2im output in the textbook convention."""
    p = d * (k - 1) // 2
    if (output_padding or 0) > p:
        raise ValueError(f"{who}: padding='symmetric' needs output_padding <= (kernel span - 1) // 2 = {p}. "
                         f"Received: output_padding={output_padding}")
    return p, p - (output_padding or 0)


class Conv2DTranspose(win.ChannelsFirstMixin, _ActivationMixin, Layer):
    """Transposed 2-D convolution ``y = act(conv^T(x, kernel) + bias)``.

    Shapes:
        x (N, H, W, C_in) -> y (N, OH, OW, filters); kernel (kh, kw, filters, C_in).
    Math (conv = the Conv2D from (OH, OW, filters) to (H, W, C_in) with this kernel and padding):
        y  = unpad(col2im over offsets (x @ kernel[i, j]^T)) + bias     (conv's input gradient)
        dx = im2col(pad(dy)) @ kernel.reshape(-1, C_in)                 (conv's forward)
        dkernel = im2col(pad(dy))^T @ x
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", output_padding=None,
                 data_format=None, dilation_rate=(1, 1), activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 name=None, dtype=None, trainable=True):
        super().__init__(name=name, dtype=dtype, trainable=trainable)
        who = self._who()
        refuse(who, activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                           bias_constraint=bias_constraint)
        self.filters = _positive_int(filters, "filters", who)
        self.kernel_size = win.as_pair(kernel_size, "kernel_size", who)
        self.strides = win.as_pair(strides, "strides", who)
        self.dilation_rate = win.as_pair(dilation_rate, "dilation_rate", who)
        self.padding = win.check_padding(padding, who, allowed=("valid", "same", "symmetric"))
        self.data_format = win.check_data_format(data_format, who)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{who}: strides > 1 cannot be combined with dilation_rate > 1 (as in Keras). "
                             f"Received: strides={self.strides}, dilation_rate={self.dilation_rate}")
        self.output_padding = None
        if output_padding is not None:
            self.output_padding = win.as_pair(output_padding, "output_padding", who, minimum=0)
            if any(p >= s for p, s in zip(self.output_padding, self.strides, strict=True)):
                raise ValueError(f"{who}: output_padding must be smaller than strides along each axis (as in Keras). "
                                 f"Received: output_padding={output_padding!r}, strides={self.strides}")
        self.activation = activations.get(activation, who)
        self.use_bias = use_bias
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer
        for what in (kernel_initializer, bias_initializer):
            initializers.get(what, who)

    def build(self, input_shape, rng=None):
        if len(input_shape) != 4:
            raise ValueError(f"{self._who()}: expects 4-D input (batch, height, width, channels). "
                             f"Received: input_shape={tuple(input_shape)}")
        self.dtype = self.dtype or "float32"
        nhwc = self._nhwc(input_shape)
        self._plan = self._transpose_plan(nhwc)
        self.add_weight("kernel", self.kernel_size + (self.filters, nhwc[3]), self.kernel_initializer, rng,
                        regularizer=self.kernel_regularizer)
        if self.use_bias:
            self.add_weight("bias", (self.filters,), self.bias_initializer, rng, regularizer=self.bias_regularizer)
        super().build(input_shape, rng)

    def _transpose_plan(self, nhwc):
        """(OH, OW, pads_h, pads_w): output size, and the padding of the conv whose adjoint this is."""
        plan = []
        for n, k, s, d, axis in zip(nhwc[1:3], self.kernel_size, self.strides, self.dilation_rate, (0, 1), strict=True):
            op = None if self.output_padding is None else self.output_padding[axis]
            out = output_size(n, k, s, d, self.padding, op)
            if self.padding == "symmetric":
                plan.append((out, _symmetric_crop(k, d, op, self._who())))
                continue
            back, pads = win.output_and_padding(out, k, s, d, self.padding)
            if back != n:  # TF's conv2d_backprop_input refuses these too (e.g. 'same', even kernel, output_padding=0)
                raise ValueError(
                    f"{self._who()}: with kernel_size={self.kernel_size}, strides={self.strides}, padding="
                    f"'{self.padding}' and output_padding={self.output_padding}, an output of {out} along axis "
                    f"{axis + 1} is not the transpose of an input of {n} (a conv of it gives {back}). "
                    f"Received: input_shape={tuple(nhwc)}")
            plan.append((out, pads))
        return plan[0][0], plan[1][0], plan[0][1], plan[1][1]

    def compute_output_shape(self, input_shape):
        return self._from_nhwc_shape((input_shape[0], self._plan[0], self._plan[1], self.filters))

    def call(self, x, training=False):
        x = self._to_nhwc(x)
        oh, ow, ph, pw = self._plan
        n, h, w, c_in = x.shape
        blocks = _offset_blocks(x.reshape(-1, c_in), self.params["kernel"])
        blocks = blocks.reshape(-1, n, h, w, self.filters)
        padded = (n, oh + sum(ph), ow + sum(pw), self.filters)
        z = win.scatter_offsets(blocks, padded, self.kernel_size, self.strides, self.dilation_rate)
        z = np.ascontiguousarray(win.unpad(z, ph, pw, (oh, ow)))
        if self.use_bias:
            z += self.params["bias"]
        y = self._activate(z)
        self._cache = (x, z, y)
        return self._from_nhwc(y)

    def backward_call(self, dout):
        _, z, y = self._cache
        return self.backward_preactivation(activations.backward(self.activation, z, y, self._to_nhwc(dout)))

    def _columns(self, dz):
        """im2col of the padded output gradient at the input's (H, W) positions; (matrix, transposed)."""
        ph, pw = self._plan[2:]
        dzp = win.pad(dz, ph, pw)
        hw = self._cache[0].shape[1:3]
        if self.filters == 1:  # offset-major columns are much faster to build for one channel
            return win.offset_major_columns(dzp, self.kernel_size, self.strides, self.dilation_rate, hw), True
        view = win.windows(dzp, self.kernel_size, self.strides, self.dilation_rate, hw)
        return view.reshape(-1, int(np.prod(view.shape[3:]))), False

    def backward_preactivation(self, dz):
        x = self._cache[0]
        x2 = x.reshape(-1, x.shape[3])
        kernel = self.params["kernel"]
        cols, transposed = self._columns(dz)
        dkernel = cols @ x2 if transposed else (x2.T @ cols).T
        self.grads["kernel"] = np.ascontiguousarray(dkernel).reshape(kernel.shape)
        if self.use_bias:
            self.grads["bias"] = column_sums(dz.reshape(-1, self.filters))
        if not self.compute_input_grad:
            return None
        dx2 = (cols.T if transposed else cols) @ kernel.reshape(-1, x.shape[3])
        return self._from_nhwc(dx2.reshape(x.shape))

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding, "output_padding": self.output_padding,
                "data_format": self.data_format, "dilation_rate": self.dilation_rate,
                "activation": self.activation, "use_bias": self.use_bias,
                "kernel_initializer": _ser_init(self.kernel_initializer),
                "bias_initializer": _ser_init(self.bias_initializer),
                "kernel_regularizer": serialize_regularizer(self, "kernel"),
                "bias_regularizer": serialize_regularizer(self, "bias")}
