"""Maxout (Goodfellow et al. 2013): the max of ``pieces`` affine maps per unit.

A textbook layer with no Keras class. Its Keras twin is built from stock
layers (``parity.maxout_twin``): ``Dense(pieces * units)`` ->
``Reshape((pieces, units))`` -> ``GlobalMaxPooling1D`` (max over the pieces
axis). The kernel uses that Dense's layout, so weights copy unchanged:
column ``p * units + u`` is piece ``p`` of unit ``u``. Ties between pieces
share the gradient equally, as ``tf.reduce_max`` does.
"""
import numpy as np

from numpy_models import initializers
from numpy_models._fast import column_sums
from numpy_models.base import Layer, serialize_regularizer
from numpy_models.core import _ser_init


class Maxout(Layer):
    """``y[:, u] = max_p (x @ kernel + bias)[:, p * units + u]``.

    Args:
        units: output size.
        pieces: affine pieces per unit (>= 2 for a non-linearity).
        use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
        bias_regularizer: as in Dense.
    Shapes: x (N, in) -> y (N, units); kernel (in, pieces * units); bias (pieces * units,).
    Parity: no Keras class; Dense + Reshape + GlobalMaxPooling1D (see module docstring).
    """

    def __init__(self, units, pieces, use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, name=None, dtype=None, trainable=True):
        super().__init__(name=name, dtype=dtype, trainable=trainable)
        for arg, value in (("units", units), ("pieces", pieces)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{self._who()}: {arg} must be a positive integer. Received: {arg}={value!r}")
        self.units, self.pieces, self.use_bias = int(units), int(pieces), use_bias
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer
        for what in (kernel_initializer, bias_initializer):
            initializers.get(what, self._who())

    def build(self, input_shape, rng=None):
        if len(input_shape) != 2:
            raise ValueError(f"{self._who()}: expects 2-D input (batch, features). Received: input_shape={tuple(input_shape)}")
        self.dtype = self.dtype or "float32"
        width = self.pieces * self.units
        self.add_weight("kernel", (input_shape[-1], width), self.kernel_initializer, rng,
                        regularizer=self.kernel_regularizer)
        if self.use_bias:
            self.add_weight("bias", (width,), self.bias_initializer, rng, regularizer=self.bias_regularizer)
        super().build(input_shape, rng)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    def call(self, x, training=False):
        z = x @ self.params["kernel"]
        if self.use_bias:
            z = z + self.params["bias"]
        z = z.reshape(x.shape[0], self.pieces, self.units)
        y = z.max(axis=1)
        self._cache = (x, z, y)
        return y

    def backward_call(self, dout):
        x, z, y = self._cache
        winners = (z == y[:, None, :]).astype(dout.dtype)
        dz = (winners / winners.sum(axis=1, keepdims=True)) * dout[:, None, :]
        dz = dz.reshape(x.shape[0], -1)
        self.grads["kernel"] = x.T @ dz
        if self.use_bias:
            self.grads["bias"] = column_sums(dz)
        return dz @ self.params["kernel"].T

    def kink_signature(self):
        """Which piece wins each unit: a change of winner is a kink for finite differences."""
        return [] if self._cache is None else [self._cache[1].argmax(axis=1)]

    def get_config(self):
        return {**super().get_config(), "units": self.units, "pieces": self.pieces, "use_bias": self.use_bias,
                "kernel_initializer": _ser_init(self.kernel_initializer),
                "bias_initializer": _ser_init(self.bias_initializer),
                "kernel_regularizer": serialize_regularizer(self, "kernel"),
                "bias_regularizer": serialize_regularizer(self, "bias")}
