"""SeparableConv2D: a depthwise convolution followed by a 1x1 (pointwise) convolution.

Parity: ``keras.layers.SeparableConv2D`` (channels_last; weights in Keras order
``depthwise_kernel`` (kh, kw, C_in, depth_multiplier), ``pointwise_kernel``
(1, 1, C_in * depth_multiplier, filters), ``bias`` (filters,); no bias between
the two stages, as ``tf.nn.separable_conv2d``).
"""
from numpy_models import _windows as win
from numpy_models import activations, initializers, regularizers
from numpy_models._fast import column_sums
from numpy_models._validation import refuse
from numpy_models.base import Layer, serialize_regularizer
from numpy_models.convolutional import _positive_int
from numpy_models.core import _ActivationMixin, _ser_init
from numpy_models.depthwise import DepthwiseConv2D


class SeparableConv2D(win.ChannelsFirstMixin, _ActivationMixin, Layer):
    """Depthwise-separable 2-D convolution ``y = act(pointwise(depthwise(x)) + bias)``.

    Shapes:
        x (N, H, W, C) -> d (N, OH, OW, C*M) -> y (N, OH, OW, filters).
    Math:
        d = DepthwiseConv2D(x)                 (strides, padding and dilation live here)
        z = d.reshape(-1, C*M) @ pointwise.reshape(C*M, filters) + bias
        dpointwise = d^T dz,  dd = dz pointwise^T,  then the depthwise backward.
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, pointwise_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, depthwise_constraint=None,
                 pointwise_constraint=None, bias_constraint=None, name=None, dtype=None, trainable=True):
        super().__init__(name=name, dtype=dtype, trainable=trainable)
        who = self._who()
        refuse(who, activity_regularizer=activity_regularizer, depthwise_constraint=depthwise_constraint,
                           pointwise_constraint=pointwise_constraint, bias_constraint=bias_constraint)
        self.filters = _positive_int(filters, "filters", who)
        self.data_format = win.check_data_format(data_format, who)
        # The depthwise stage validates kernel_size/strides/padding/dilation; it never owns weights of its
        # own: build() points its 'kernel' at this layer's 'depthwise_kernel'.
        self._depthwise = DepthwiseConv2D(kernel_size, strides, padding, depth_multiplier,
                                          dilation_rate=dilation_rate, use_bias=False,
                                          depthwise_initializer="zeros", name=f"{self.name}_depthwise", dtype=dtype)
        for key in ("kernel_size", "strides", "padding", "dilation_rate", "depth_multiplier"):
            setattr(self, key, getattr(self._depthwise, key))
        self.activation = activations.get(activation, who)
        self.use_bias = use_bias
        self.initializers = {"depthwise_kernel": depthwise_initializer, "pointwise_kernel": pointwise_initializer,
                             "bias": bias_initializer}
        self._regularizer_args = {"depthwise_kernel": depthwise_regularizer,
                                  "pointwise_kernel": pointwise_regularizer, "bias": bias_regularizer}
        for what in self.initializers.values():
            initializers.get(what, who)
        for what in self._regularizer_args.values():
            regularizers.get(what, who)

    def build(self, input_shape, rng=None):
        self.dtype = self.dtype or "float32"
        if len(input_shape) != 4:
            raise ValueError(f"{self._who()}: expects 4-D input (batch, height, width, channels). "
                             f"Received: input_shape={tuple(input_shape)}")
        nhwc = self._nhwc(input_shape)
        self._depthwise.dtype = self.dtype
        self._depthwise.build(nhwc, rng)
        c_mid = self._depthwise.filters
        shapes = {"depthwise_kernel": self._depthwise.params["kernel"].shape,
                  "pointwise_kernel": (1, 1, c_mid, self.filters), "bias": (self.filters,)}
        for key, shape in shapes.items():  # Keras's creation order, so a shared rng draws the same way
            if key != "bias" or self.use_bias:
                self.add_weight(key, shape, self.initializers[key], rng, regularizer=self._regularizer_args[key])
        self._link()
        super().build(input_shape, rng)

    def _link(self):
        """The depthwise stage computes with this layer's array (in place updates reach it)."""
        self._depthwise.params["kernel"] = self.params["depthwise_kernel"]
        self._depthwise.dtype = self.dtype

    def cast(self, dtype):
        super().cast(dtype)
        self._depthwise.cast(dtype)
        self._link()

    def compute_output_shape(self, input_shape):
        oh, ow = self._depthwise._plan[:2]
        return self._from_nhwc_shape((input_shape[0], oh, ow, self.filters))

    def call(self, x, training=False):
        d = self._depthwise.call(self._to_nhwc(x))
        d2 = d.reshape(-1, d.shape[3])
        z = d2 @ self.params["pointwise_kernel"].reshape(d2.shape[1], self.filters)
        if self.use_bias:
            z += self.params["bias"]
        z = z.reshape(d.shape[:3] + (self.filters,))
        y = self._activate(z)
        self._cache = (d2, z, y, d.shape)
        return self._from_nhwc(y)

    def backward_call(self, dout):
        _, z, y, _ = self._cache
        return self.backward_preactivation(activations.backward(self.activation, z, y, self._to_nhwc(dout)))

    def backward_preactivation(self, dz):
        d2, _, _, d_shape = self._cache
        dz2 = dz.reshape(-1, self.filters)
        pointwise = self.params["pointwise_kernel"].reshape(d2.shape[1], self.filters)
        self.grads["pointwise_kernel"] = (d2.T @ dz2).reshape(self.params["pointwise_kernel"].shape)
        if self.use_bias:
            self.grads["bias"] = column_sums(dz2)
        self._depthwise.compute_input_grad = self.compute_input_grad
        dx = self._depthwise.backward_preactivation((dz2 @ pointwise.T).reshape(d_shape))
        self.grads["depthwise_kernel"] = self._depthwise.grads["kernel"]
        return None if dx is None else self._from_nhwc(dx)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": self.dilation_rate, "depth_multiplier": self.depth_multiplier,
                "activation": self.activation, "use_bias": self.use_bias,
                **{f"{key.split('_')[0]}_initializer": _ser_init(init) for key, init in self.initializers.items()},
                **{f"{key.split('_')[0]}_regularizer": serialize_regularizer(self, key) for key in self.initializers}}
