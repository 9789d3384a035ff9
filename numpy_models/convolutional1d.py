"""Conv1D: a Conv2D over a height-1 image, plus Keras's 'causal' padding.

Parity: ``keras.layers.Conv1D`` (channels_last (N, L, C), kernel (k, C_in / groups,
filters), 'causal' = left-pad dilation * (k - 1) then 'valid', groups). The
1-D input is viewed as (N, 1, L, C) and the kernel as (1, k, C_in / groups,
filters), so forward and backward are Conv2D's (same memory, no copies).
"""
import numpy as np

from numpy_models import _windows as win
from numpy_models.convolutional import Conv2D


def _single(value, name, who):
    """Keras accepts an int or a 1-tuple for the 1-D kernel_size / strides / dilation_rate."""
    single = value
    if isinstance(value, (tuple, list)) and len(value) == 1:
        single = value[0]
    if not isinstance(single, (int, np.integer)) or isinstance(single, bool) or single < 1:
        raise ValueError(f"{who}: {name} must be an int or a 1-tuple of an int >= 1. Received: {name}={value!r}")
    return int(single)


class Conv1D(Conv2D):
    """1-D convolution ``y = act(conv1d(x, kernel) + bias)``.

    Shapes:
        x (N, L, C_in) -> y (N, OL, filters); kernel (k, C_in / groups, filters); bias (filters,).
        valid: OL = (L - d(k-1) - 1) // s + 1; same: ceil(L / s); causal: (L - 1) // s + 1.
    """

    _input_rank = 3
    _layout_words = "(batch, steps, channels)"

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 name=None, dtype=None, trainable=True):
        who = f"Layer '{name or 'conv1d'}' (Conv1D)"
        pairs = {key: (1, _single(value, key, who)) for key, value in
                 (("kernel_size", kernel_size), ("strides", strides), ("dilation_rate", dilation_rate))}
        win.check_padding(padding, who, allowed=("valid", "same", "causal"))
        super().__init__(filters, padding="valid", data_format=data_format, groups=groups, activation=activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
                         name=name, dtype=dtype, trainable=trainable, **pairs)
        self.padding = padding

    def _kernel_shape(self, c_in):
        return (self.kernel_size[1], c_in // self.groups, self.filters)

    def _spatial_plan(self, nhwc):
        if self.padding != "causal":
            return super()._spatial_plan(nhwc)
        left = self.dilation_rate[1] * (self.kernel_size[1] - 1)
        padded = (nhwc[0], 1, nhwc[2] + left, nhwc[3])
        oh, ow, ph, _ = win.spatial_plan(padded, self.kernel_size, self.strides, self.dilation_rate, "valid",
                                         self._who())
        return oh, ow, ph, (left, 0)

    # (N, L, C) <-> (N, 1, L, C): views, so Conv2D's math runs unchanged.
    def _nhwc(self, shape):
        n, length, c = (shape[0], shape[2], shape[1]) if self.data_format == "channels_first" else tuple(shape)
        return (n, 1, length, c)

    def _from_nhwc_shape(self, shape):
        n, _, length, c = shape
        return (n, c, length) if self.data_format == "channels_first" else (n, length, c)

    def _to_nhwc(self, x):
        return (x.transpose(0, 2, 1) if self.data_format == "channels_first" else x)[:, None]

    def _from_nhwc(self, y):
        return y[:, 0].transpose(0, 2, 1) if self.data_format == "channels_first" else y[:, 0]

    @property
    def logits(self):
        return self._from_nhwc(self._cache[1])

    def get_config(self):
        config = super().get_config()
        for key in ("kernel_size", "strides", "dilation_rate"):
            config[key] = (getattr(self, key)[1],)
        return config
