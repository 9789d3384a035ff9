"""Dense, Activation and Flatten.

Parity: ``keras.layers.Dense`` / ``Activation`` / ``Flatten`` (channels-last,
so Flatten is (H, W, C) order).
"""
import numpy as np

from numpy_models import activations, initializers
from numpy_models._fast import column_sums
from numpy_models.base import Layer, serialize_regularizer


class _ActivationMixin:
    """Shared activation handling: forward keeps the pre-activation for backward."""

    def _activate(self, z):
        y = activations.forward(self.activation, z)
        return y

    def backward_preactivation(self, dz):
        """Backward from dL/d(pre-activation); used by Keras's logits path."""
        raise NotImplementedError

    @property
    def logits(self):
        """Pre-activation of the last forward (what Keras caches as ``_keras_logits``)."""
        return self._cache[1]


class Dense(_ActivationMixin, Layer):
    """Fully connected layer ``y = act(x @ kernel + bias)``.

    Args:
        units: output size.
        activation: an activation name (see ``numpy_models.activations``) or None.
        use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
        bias_regularizer, name, dtype: as in Keras.
    Shapes:
        x (N, ..., in) -> y (N, ..., units); kernel (in, units); bias (units,)
    Parity: keras.layers.Dense (contracts the last axis only).
    """

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 name=None, dtype=None, trainable=True):
        super().__init__(name=name, dtype=dtype, trainable=trainable)
        if not isinstance(units, (int, np.integer)) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"{self._who()}: units must be a positive integer. Received: units={units!r}")
        self.units = int(units)
        self.activation = activations.get(activation, self._who())
        self.use_bias = use_bias
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer = kernel_regularizer
        self.bias_regularizer = bias_regularizer
        for what in (kernel_initializer, bias_initializer):
            initializers.get(what, self._who())  # fail at construction, not at build

    def build(self, input_shape, rng=None):
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(f"{self._who()}: needs inputs of shape (batch, ..., features). Received: input_shape={tuple(input_shape)}")
        self.dtype = self.dtype or "float32"
        self.add_weight("kernel", (input_shape[-1], self.units), self.kernel_initializer, rng,
                        regularizer=self.kernel_regularizer)
        if self.use_bias:
            self.add_weight("bias", (self.units,), self.bias_initializer, rng, regularizer=self.bias_regularizer)
        super().build(input_shape, rng)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)[:-1] + (self.units,)

    def call(self, x, training=False):
        z = x @ self.params["kernel"]
        if self.use_bias:
            z = z + self.params["bias"]
        y = self._activate(z)
        self._cache = (x, z, y)
        return y

    def backward_call(self, dout):
        x, z, y = self._cache
        return self.backward_preactivation(activations.backward(self.activation, z, y, dout))

    def backward_preactivation(self, dz):
        x = self._cache[0]
        x2, dz2 = x.reshape(-1, x.shape[-1]), dz.reshape(-1, dz.shape[-1])
        self.grads["kernel"] = x2.T @ dz2
        if self.use_bias:
            self.grads["bias"] = column_sums(dz2)
        if not self.compute_input_grad:
            return None
        return dz @ self.params["kernel"].T

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": self.activation,
                "use_bias": self.use_bias,
                "kernel_initializer": _ser_init(self.kernel_initializer),
                "bias_initializer": _ser_init(self.bias_initializer),
                "kernel_regularizer": serialize_regularizer(self, "kernel"),
                "bias_regularizer": serialize_regularizer(self, "bias")}


def _ser_init(identifier):
    return identifier if isinstance(identifier, str) else initializers.serialize(initializers.get(identifier))


class Activation(_ActivationMixin, Layer):
    """Applies an activation function elementwise (softmax: over the last axis).

    Parity: keras.layers.Activation.
    """

    def __init__(self, activation, name=None, dtype=None, trainable=True):
        super().__init__(name=name, dtype=dtype, trainable=trainable)
        self.activation = activations.get(activation, self._who())

    def call(self, x, training=False):
        y = self._activate(x)
        self._cache = (None, x, y)
        return y

    def backward_call(self, dout):
        _, z, y = self._cache
        return activations.backward(self.activation, z, y, dout)

    def backward_preactivation(self, dz):
        return dz.copy()

    def passes_input_through(self):
        return self.activation == "linear"  # keras.activations.linear returns its input

    def get_config(self):
        return {**super().get_config(), "activation": self.activation}


class Flatten(Layer):
    """Flattens all but the batch axis in C order, i.e. (H, W, C) for NHWC input.

    Parity: keras.layers.Flatten (channels_last).
    """

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        size = None if any(d is None for d in rest) else int(np.prod(rest))
        return (input_shape[0], size)

    def call(self, x, training=False):
        self._cache = x.shape
        return x.reshape(x.shape[0], -1)

    def backward_call(self, dout):
        return dout.reshape(self._cache).copy()  # copy: a reshape is a view of dout


# Activations whose derivative jumps at 0: finite differences straddling 0 are kinks.
KINKED_ACTIVATIONS = tuple(activations.KINKS)


def _kink_signature(self):
    """Which side of the kink each pre-activation is on (for gradient checkers)."""
    return [activations.kink_side(self.activation, self._cache[1])] if self.activation in KINKED_ACTIVATIONS and self._cache else []


_ActivationMixin.kink_signature = _kink_signature
