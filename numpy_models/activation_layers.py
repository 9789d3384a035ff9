"""Activation layers: ReLU, LeakyReLU, PReLU, ELU and Softmax.

Parity: ``keras.layers.<name>`` on the TensorFlow backend, including the
derivative TF autodiff takes at each kink (written next to each backward).
"""
import numpy as np

from numpy_models import initializers
from numpy_models._validation import refuse
from numpy_models.conventions import layer_constant
from numpy_models.base import Layer, serialize_regularizer
from numpy_models.core import _ser_init


def _check_non_negative(who, **values):
    for name, value in values.items():
        if value is None or not isinstance(value, (int, float, np.floating, np.integer)) or value < 0:
            raise ValueError(f"{who}: {name} must be a non-negative number. Received: {name}={value!r}")


class ReLU(Layer):
    """``y = min(x, max_value)`` for ``x > threshold``, ``negative_slope * (x - threshold)`` below.

    Shapes: any -> same.
    Parity: keras.layers.ReLU: the leaky path (no max_value, threshold 0) is
    ``tf.nn.leaky_relu`` (float32 slope attribute, f'(0) = slope); otherwise
    ``relu(x or where(x > t, x, 0)) clipped - slope * relu(t - x)`` with f' = 0
    at x = t and f' = 1 at x = max_value (clip_by_value passes the bound).
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, name=None, dtype=None, trainable=True):
        super().__init__(name=name, dtype=dtype, trainable=trainable)
        _check_non_negative(self._who(), negative_slope=negative_slope, threshold=threshold)
        if max_value is not None:
            _check_non_negative(self._who(), max_value=max_value)
        self.max_value, self.negative_slope, self.threshold = max_value, negative_slope, threshold

    def _leaky_path(self):
        return self.negative_slope != 0 and self.max_value is None and self.threshold == 0

    def call(self, x, training=False):
        self._cache = x
        if self._leaky_path():
            slope = np.asarray(layer_constant(self.negative_slope), x.dtype)
            return np.where(x > 0, x, x * slope)
        t = self.threshold
        pos = np.where(x > t, x, 0).astype(x.dtype) if t != 0 else np.maximum(x, 0)
        if self.max_value is not None:
            pos = np.minimum(pos, np.asarray(layer_constant(self.max_value), x.dtype))
        if self.negative_slope == 0:
            return pos
        return pos - self.negative_slope * np.maximum(-x + t, 0)

    def backward_call(self, dout):
        x = self._cache
        if self._leaky_path():
            return np.where(x > 0, dout, dout * np.asarray(layer_constant(self.negative_slope), x.dtype))
        t = self.threshold
        pass_pos = x > t
        if self.max_value is not None:
            # relu6 (max 6, threshold 0) is its own TF op with f'(6) = 0; clip_by_value keeps f'(max) = 1.
            top = np.asarray(layer_constant(self.max_value), x.dtype)
            pass_pos &= (x < top) if (self.max_value == 6 and t == 0) else (x <= top)
        dx = dout * pass_pos
        if self.negative_slope != 0:
            dx = dx + self.negative_slope * (dout * (x < t))
        return dx

    def kink_signature(self):
        if self._cache is None:
            return []
        points = [self.threshold] + ([self.max_value] if self.max_value is not None else [])
        return [sum((self._cache > p).astype(np.int8) for p in points)]

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value, "negative_slope": self.negative_slope,
                "threshold": self.threshold}


class LeakyReLU(Layer):
    """``y = x`` for x > 0, ``negative_slope * x`` otherwise (f'(0) = negative_slope).

    Parity: keras.layers.LeakyReLU (default slope 0.3, unlike the activation
    string's 0.2); tf.nn.leaky_relu holds the slope as a float32 attribute.
    """

    def __init__(self, negative_slope=0.3, name=None, dtype=None, trainable=True):
        super().__init__(name=name, dtype=dtype, trainable=trainable)
        _check_non_negative(self._who(), negative_slope=negative_slope)
        self.negative_slope = negative_slope

    def _slope(self, dtype):
        return np.asarray(layer_constant(self.negative_slope), dtype)

    def call(self, x, training=False):
        self._cache = x
        return np.where(x > 0, x, x * self._slope(x.dtype))

    def backward_call(self, dout):
        return np.where(self._cache > 0, dout, dout * self._slope(dout.dtype))

    def kink_signature(self):
        return [] if self._cache is None else [self._cache > 0]

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class PReLU(Layer):
    """``y = relu(x) - alpha * relu(-x)`` with a trainable ``alpha``.

    Args:
        alpha_initializer: Keras default "Zeros".
        alpha_regularizer: a regularizer identifier or None.
        alpha_constraint: refused unless None.
        shared_axes: axes (1-based, batch is 0) along which alpha is shared.
    Shapes: x (N, *S) -> same; alpha S with the shared axes set to 1.
    Parity: keras.layers.PReLU; f'(0) = 0 (both relu branches are 0 there).
    """

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None, alpha_constraint=None, shared_axes=None,
                 name=None, dtype=None, trainable=True):
        super().__init__(name=name, dtype=dtype, trainable=trainable)
        refuse(self._who(), alpha_constraint=alpha_constraint)
        self.alpha_initializer = "zeros" if alpha_initializer == "Zeros" else alpha_initializer
        initializers.get(self.alpha_initializer, self._who())
        self.alpha_regularizer = alpha_regularizer
        if shared_axes is None:
            self.shared_axes = None
        else:
            self.shared_axes = list(shared_axes) if isinstance(shared_axes, (list, tuple)) else [shared_axes]

    def build(self, input_shape, rng=None):
        self.dtype = self.dtype or "float32"
        shape = list(input_shape[1:])
        for axis in self.shared_axes or []:
            if not 1 <= axis <= len(shape):
                raise ValueError(f"{self._who()}: shared_axes must lie in 1..{len(shape)}. Received: shared_axes={self.shared_axes}")
            shape[axis - 1] = 1
        self.add_weight("alpha", tuple(shape), self.alpha_initializer, rng, regularizer=self.alpha_regularizer)
        super().build(input_shape, rng)

    def call(self, x, training=False):
        neg = np.maximum(-x, 0)
        self._cache = (x, neg)
        return np.maximum(x, 0) + (-self.params["alpha"]) * neg

    def backward_call(self, dout):
        x, neg = self._cache
        alpha = self.params["alpha"]
        d_alpha = -(dout * neg)
        sum_axes = (0,) + tuple(i + 1 for i, s in enumerate(alpha.shape) if s == 1 and x.shape[i + 1] != 1)
        self.grads["alpha"] = d_alpha.sum(axis=sum_axes, keepdims=True).reshape(alpha.shape)
        return dout * (x > 0) + alpha * (dout * (x < 0))

    def kink_signature(self):
        return [] if self._cache is None else [np.sign(self._cache[0])]

    def get_config(self):
        return {**super().get_config(), "alpha_initializer": _ser_init(self.alpha_initializer),
                "alpha_regularizer": serialize_regularizer(self, "alpha"), "alpha_constraint": None,
                "shared_axes": self.shared_axes}


class ELU(Layer):
    """``y = x`` for x > 0, ``alpha * (exp(x) - 1)`` otherwise.

    Parity: keras.layers.ELU: ``where(x > 0, elu(x), alpha * elu(x))`` with TF's
    EluGrad, which works from the output (f'(0) = alpha).
    """

    def __init__(self, alpha=1.0, name=None, dtype=None, trainable=True):
        super().__init__(name=name, dtype=dtype, trainable=trainable)
        self.alpha = alpha

    def call(self, x, training=False):
        res = np.where(x > 0, x, np.expm1(np.minimum(x, 0)))
        self._cache = (x, res)
        return res if self.alpha == 1 else np.where(x > 0, res, self.alpha * res).astype(x.dtype)

    def backward_call(self, dout):
        x, res = self._cache
        if self.alpha != 1:
            dout = np.where(x > 0, dout, self.alpha * dout).astype(dout.dtype)
        return np.where(res > 0, dout, dout * (res + 1))

    def kink_signature(self):
        return [] if self._cache is None or self.alpha == 1 else [self._cache[0] > 0]

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class Softmax(Layer):
    """``y = exp(x) / sum(exp(x))`` over ``axis`` (an int or a list of axes).

    Parity: keras.layers.Softmax: one axis is ``tf.nn.softmax`` (whose output
    caches the logits, so a cross-entropy after it reads them, as here);
    several axes are ``exp(x - logsumexp(x, axes))``.
    """

    def __init__(self, axis=-1, name=None, dtype=None, trainable=True):
        super().__init__(name=name, dtype=dtype, trainable=trainable)
        self.axis = axis
        single = not isinstance(axis, (list, tuple)) or len(axis) == 1
        # tf.nn.softmax over one axis caches its logits for Keras's cross-entropies, whatever the axis.
        self.activation = "softmax" if single else None

    def _axes_tuple(self):
        return tuple(self.axis) if isinstance(self.axis, (list, tuple)) else (self.axis,)

    def build(self, input_shape, rng=None):
        ndim = len(input_shape)
        if any(not -ndim <= a < ndim or a % ndim == 0 for a in self._axes_tuple()):
            raise ValueError(f"{self._who()}: axis must name non-batch axes of a {ndim}-D input. Received: axis={self.axis!r}")
        super().build(input_shape, rng)

    def call(self, x, training=False):
        axes = self._axes_tuple()
        e = np.exp(x - x.max(axis=axes, keepdims=True))
        y = e / e.sum(axis=axes, keepdims=True)
        self._cache = (x, y)
        return y

    def backward_call(self, dout):
        y = self._cache[1]
        return y * (dout - (dout * y).sum(axis=self._axes_tuple(), keepdims=True))

    @property
    def logits(self):
        return self._cache[0]

    def backward_preactivation(self, dz):
        return dz.copy()

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
