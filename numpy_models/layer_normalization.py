"""LayerNormalization: per-sample normalisation over one or several axes.

Parity: ``keras.layers.LayerNormalization`` (``ops.layer_normalization`` on
TF): biased variance over ``axis``, then in Keras's operation order
``inv = rsqrt(var + epsilon) * gamma``, ``y = x * inv + (beta - mean * inv)``.
gamma and beta have the shape of the normalised axes. ``rms_scaling=True``
(deprecated in Keras) is refused.
"""
import numpy as np

from numpy_models import initializers
from numpy_models._validation import refuse
from numpy_models.base import Layer, serialize_regularizer
from numpy_models.core import _ser_init


class LayerNormalization(Layer):
    """``y = gamma * (x - mean) / sqrt(var + epsilon) + beta``, statistics over ``axis`` per sample.

    Args:
        axis: an int or a list of ints (non-batch axes).
        epsilon, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
        gamma_regularizer: as in Keras; constraints and rms_scaling are refused.
    Shapes: x (N, ...) -> same; gamma, beta (size of each normalised axis, in axis order).
    """

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, rms_scaling=False, name=None, dtype=None, trainable=True):
        super().__init__(name=name, dtype=dtype, trainable=trainable)
        refuse(self._who(), beta_constraint=beta_constraint, gamma_constraint=gamma_constraint,
               rms_scaling=rms_scaling)
        if not isinstance(axis, (int, list, tuple)) or isinstance(axis, bool):
            raise TypeError(f"{self._who()}: axis must be an int or a list of ints. Received: axis={axis!r}")
        if epsilon <= 0:
            raise ValueError(f"{self._who()}: epsilon must be positive. Received: epsilon={epsilon!r}")
        self.axis, self.epsilon, self.center, self.scale = axis, epsilon, center, scale
        self.initializers = {"gamma": gamma_initializer, "beta": beta_initializer}
        self.regularizer_args = {"gamma": gamma_regularizer, "beta": beta_regularizer}
        for what in self.initializers.values():
            initializers.get(what, self._who())

    def build(self, input_shape, rng=None):
        ndim = len(input_shape)
        axes = list(self.axis) if isinstance(self.axis, (list, tuple)) else [self.axis]
        if not axes or any(not -ndim <= a < ndim or a % ndim == 0 for a in axes):
            raise ValueError(f"{self._who()}: axis must name non-batch axes of a {ndim}-D input. Received: axis={self.axis!r}")
        # Keras sorts the axes as given (negative ones first) and *reshapes* gamma/beta to broadcast.
        self._raw_axes = sorted(axes)
        self._axes = tuple(sorted(a % ndim for a in axes))
        self.dtype = self.dtype or "float32"
        shape = tuple(input_shape[a] for a in self._raw_axes)
        for name, wanted in (("gamma", self.scale), ("beta", self.center)):
            if wanted:
                self.add_weight(name, shape, self.initializers[name], rng, regularizer=self.regularizer_args[name])
        super().build(input_shape, rng)

    def _broadcast(self, v, ndim):
        shape = [1] * ndim
        for a in self._raw_axes:
            shape[a] = self.input_shape[a]
        return v.reshape(shape)

    def call(self, x, training=False):
        mean = x.mean(axis=self._axes, keepdims=True)
        var = np.square(x - mean).mean(axis=self._axes, keepdims=True)  # biased, as tf.nn.moments
        r = 1.0 / np.sqrt(var + np.asarray(self.epsilon, x.dtype))
        inv = r * self._broadcast(self.params["gamma"], x.ndim) if self.scale else r
        res = -mean * inv
        if self.center:
            res = res + self._broadcast(self.params["beta"], x.ndim)
        self._cache = ((x - mean) * r, r)
        return x * inv + res

    def backward_call(self, dout):
        x_hat, r = self._cache
        other = tuple(i for i in range(dout.ndim) if i not in self._axes)
        if self.center:
            self.grads["beta"] = dout.sum(axis=other, keepdims=True).reshape(self.params["beta"].shape)
        if self.scale:
            self.grads["gamma"] = (dout * x_hat).sum(axis=other, keepdims=True).reshape(self.params["gamma"].shape)
            dout = dout * self._broadcast(self.params["gamma"], dout.ndim)
        mean = lambda a: a.mean(axis=self._axes, keepdims=True)  # noqa: E731
        # Gradient through the per-sample mean and variance (the batch-norm formula, other axes).
        return r * (dout - mean(dout) - x_hat * mean(dout * x_hat))

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon, "center": self.center,
                "scale": self.scale, "beta_initializer": _ser_init(self.initializers["beta"]),
                "gamma_initializer": _ser_init(self.initializers["gamma"]),
                "beta_regularizer": serialize_regularizer(self, "beta"),
                "gamma_regularizer": serialize_regularizer(self, "gamma")}
