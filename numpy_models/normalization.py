"""BatchNormalization with Keras defaults and semantics.

Parity: ``keras.layers.BatchNormalization``: normalise over every axis but
``axis`` (so per channel for NHWC input) with the *biased* batch variance;
``momentum=0.99, epsilon=1e-3``, moving_variance starts at 1; moving
statistics update once per training call as ``m <- m * momentum + stat * (1 - momentum)``;
``trainable=False`` freezes the layer the Keras way: every weight becomes
non-trainable (no gradients reported, nothing for an optimizer) and it runs
in inference mode even when ``training=True``. Any ``axis`` works (e.g. 1 for
channels-first data): statistics are taken over all other axes. Textbook variant
``per_activation=True`` normalises each feature (c, h, w) separately, as
Deep Learning from Scratch does after flattening a 4-D input.
"""
import numpy as np

from numpy_models._validation import refuse
from numpy_models.base import Layer


class BatchNormalization(Layer):
    """``y = gamma * (x - mean) / sqrt(var + epsilon) + beta``.

    Shapes: x (N, ..., C) -> same; gamma, beta, moving_mean, moving_variance (C,)
    (or the per-sample shape with ``per_activation``).
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", moving_mean_initializer="zeros",
                 moving_variance_initializer="ones", beta_regularizer=None, gamma_regularizer=None,
                 beta_constraint=None, gamma_constraint=None, renorm=False, renorm_clipping=None,
                 renorm_momentum=0.99, synchronized=False, per_activation=False, name=None, dtype=None,
                 trainable=True):
        super().__init__(name=name, dtype=dtype, trainable=trainable)
        refuse(self._who(), beta_constraint=beta_constraint, gamma_constraint=gamma_constraint, renorm=renorm,
               renorm_clipping=renorm_clipping, synchronized=synchronized)
        if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
            raise TypeError(f"{self._who()}: axis must be an int. Received: axis={axis!r}")
        if per_activation and axis != -1:
            raise ValueError(f"{self._who()}: per_activation normalises every feature; it takes no axis. Received: axis={axis!r}")
        if not 0.0 <= momentum <= 1.0 or epsilon <= 0:
            raise ValueError(f"{self._who()}: needs 0 <= momentum <= 1 and epsilon > 0. Received: momentum={momentum}, epsilon={epsilon}")
        self.axis, self.momentum, self.epsilon = axis, momentum, epsilon
        self.center, self.scale, self.per_activation = center, scale, per_activation
        self.initializers = {"gamma": gamma_initializer, "beta": beta_initializer,
                             "moving_mean": moving_mean_initializer, "moving_variance": moving_variance_initializer}
        self.regularizer_args = {"gamma": gamma_regularizer, "beta": beta_regularizer}

    def build(self, input_shape, rng=None):
        self.dtype = self.dtype or "float32"
        ndim = len(input_shape)
        if not -ndim <= self.axis < ndim or self.axis % ndim == 0:
            raise ValueError(f"{self._who()}: axis must name a non-batch axis of a {ndim}-D input. Received: axis={self.axis}")
        self._channel_axis = self.axis % ndim
        shape = tuple(input_shape[1:]) if self.per_activation else (input_shape[self.axis],)
        # A frozen layer (trainable=False) holds all four weights as non-trainable, as Keras does.
        if self.scale:
            self.add_weight("gamma", shape, self.initializers["gamma"], rng, trainable=self.trainable,
                            regularizer=self.regularizer_args["gamma"])
        if self.center:
            self.add_weight("beta", shape, self.initializers["beta"], rng, trainable=self.trainable,
                            regularizer=self.regularizer_args["beta"])
        self.add_weight("moving_mean", shape, self.initializers["moving_mean"], rng, trainable=False)
        self.add_weight("moving_variance", shape, self.initializers["moving_variance"], rng, trainable=False)
        super().build(input_shape, rng)

    def _axes(self, ndim):
        return (0,) if self.per_activation else tuple(i for i in range(ndim) if i != self._channel_axis)

    def _bc(self, v, ndim):
        """A per-channel vector shaped to broadcast along the channel axis."""
        if self.per_activation or self._channel_axis == ndim - 1 or np.ndim(v) == 0:
            return v
        return v.reshape([-1 if i == self._channel_axis else 1 for i in range(ndim)])

    def call(self, x, training=False):
        if training and self.trainable:
            axes = self._axes(x.ndim)
            mean = x.mean(axis=axes)
            var = np.square(x - self._bc(mean, x.ndim)).mean(axis=axes)  # biased, as tf.nn.moments
            m = self.momentum
            self.state["moving_mean"][...] = self.state["moving_mean"] * m + mean * (1.0 - m)
            self.state["moving_variance"][...] = self.state["moving_variance"] * m + var * (1.0 - m)
            batch_stats = True
        else:
            mean, var = self.state["moving_mean"], self.state["moving_variance"]
            batch_stats = False
        inv = 1.0 / np.sqrt(var + self.epsilon)
        x_hat = (x - self._bc(mean, x.ndim)) * self._bc(inv, x.ndim)
        gamma = self._bc(self._weight("gamma"), x.ndim) if self.scale else 1.0
        y = x_hat * gamma + (self._bc(self._weight("beta"), x.ndim) if self.center else 0.0)
        self._cache = (x_hat, inv, batch_stats, x.ndim)
        return y

    def backward_call(self, dout):
        x_hat, inv, batch_stats, ndim = self._cache
        axes = self._axes(ndim)
        if self.center and "beta" in self.params:  # a frozen layer reports no gradients
            self.grads["beta"] = dout.sum(axis=axes)
        if self.scale and "gamma" in self.params:
            self.grads["gamma"] = (dout * x_hat).sum(axis=axes)
        dx_hat = dout * self._bc(self._weight("gamma"), ndim) if self.scale else dout
        inv = self._bc(inv, ndim)
        if not batch_stats:  # moving statistics are constants
            return dx_hat * inv
        count = x_hat.size // np.size(inv)
        total = lambda a: self._bc(a.sum(axis=axes), ndim)  # noqa: E731
        # Gradient through the batch mean and variance (the textbook formula, simplified).
        return inv / count * (count * dx_hat - total(dx_hat) - x_hat * total(dx_hat * x_hat))

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale, "per_activation": self.per_activation}
