"""DepthwiseConv2D: one small filter bank per input channel (a grouped conv with groups = C_in).

Parity: ``keras.layers.DepthwiseConv2D`` (channels_last, weight ``kernel`` of
shape (kh, kw, C_in, depth_multiplier), ``bias`` (C_in * depth_multiplier,),
output channel c * depth_multiplier + m). Unlike Conv2D, Keras allows
strides > 1 together with dilation_rate > 1 here (TF's backend runs the dilated
conv at stride 1 and subsamples, which is the same strided window).
"""
from numpy_models import initializers
from numpy_models.convolutional import Conv2D, _positive_int
from numpy_models._validation import refuse
from numpy_models.base import Layer, serialize_regularizer
from numpy_models.core import _ser_init


class DepthwiseConv2D(Conv2D):
    """Depthwise 2-D convolution ``y[..., c*M + m] = act(sum_ij x[.., c] * kernel[i, j, c, m] + bias)``.

    Shapes:
        x (N, H, W, C) -> y (N, OH, OW, C*M); kernel (kh, kw, C, M); bias (C*M,).
    Math:
        the kernel viewed as (kh, kw, 1, C*M) is a Conv2D kernel with groups = C, so forward and
        backward are Conv2D's grouped path (one batched GEMM over channels).
    """

    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None, bias_constraint=None,
                 name=None, dtype=None, trainable=True):
        Layer.__init__(self, name=name, dtype=dtype, trainable=trainable)
        who = self._who()
        refuse(who, activity_regularizer=activity_regularizer, depthwise_constraint=depthwise_constraint,
                           bias_constraint=bias_constraint)
        self.depth_multiplier = _positive_int(depth_multiplier, "depth_multiplier", who)
        self.groups, self.filters = 1, None  # known at build: groups = C_in, filters = C_in * depth_multiplier
        self._init_geometry(kernel_size, strides, padding, data_format, dilation_rate)
        if self.strides[0] != self.strides[1]:
            # TF's DepthwiseConv2dNative raises at call time; refuse early rather than build a model with no twin.
            raise ValueError(f"{who}: strides must be equal along height and width (TensorFlow's depthwise kernel "
                             f"supports no other). Received: strides={strides!r}")
        self._init_bias_and_activation(activation, use_bias, bias_initializer, bias_regularizer)
        self.kernel_initializer, self.kernel_regularizer = depthwise_initializer, depthwise_regularizer
        initializers.get(depthwise_initializer, who)

    def build(self, input_shape, rng=None):
        if len(input_shape) == self._input_rank:
            c_in = self._nhwc(input_shape)[3]
            self.groups, self.filters = c_in, c_in * self.depth_multiplier
        super().build(input_shape, rng)

    def _kernel_shape(self, c_in):
        return self.kernel_size + (c_in, self.depth_multiplier)

    def get_config(self):
        config = super().get_config()
        for key in ("filters", "groups", "kernel_initializer", "kernel_regularizer"):
            config.pop(key)
        return {**config, "depth_multiplier": self.depth_multiplier,
                "depthwise_initializer": _ser_init(self.kernel_initializer),
                "depthwise_regularizer": serialize_regularizer(self, "kernel")}
