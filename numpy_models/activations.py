"""Activation functions with their derivatives, keyed by Keras name.

Each entry is ``(forward(x) -> y, backward(x, y, dout) -> dx)``; the backward
gets both the input and the output so each derivative is written in the cheap
form the textbooks use (sigmoid: ``dout * y * (1 - y)``).

Parity: ``keras.activations.<name>`` on the TensorFlow backend, including the
derivative TF autodiff uses at kinks (relu'(0) = 0, leaky_relu'(0) = slope,
elu'(0) = 1) and the float32-rounded constants TF uses in float64.
"""
import numpy as np
from scipy import special

from numpy_models._fast import zeros
from numpy_models.conventions import layer_constant

# tf.nn.selu kernel constants (exact doubles in the C++ kernel).
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
# keras.activations.leaky_relu default; tf.nn.leaky_relu stores it as a float32 attr (numpy_models.conventions).
LEAKY_RELU_SLOPE = 0.2
# tf.nn.gelu casts these Python floats through float32; 0.7978845608028654 is used as a float64 literal.
GELU_INV_SQRT2 = 0.7071067811865476
GELU_TANH_COEFF = 0.044715
GELU_SQRT_2_OVER_PI = 0.7978845608028654


def _linear(x):
    return x


def _linear_grad(x, y, dout):
    return dout.copy()  # copy: never hand back the caller's array


def _sigmoid(x):
    return special.expit(x)


def _sigmoid_grad(x, y, dout):
    return dout * y * (1.0 - y)


def _tanh_grad(x, y, dout):
    return dout * (1.0 - y * y)


def _relu(x):
    # Against an array of zeros, not the scalar 0: NumPy's scalar-operand maximum loop is ~3x slower (same values).
    x = np.asarray(x)
    return np.maximum(x, zeros(x.shape, x.dtype))


def _relu_grad(x, y, dout):
    return dout * (x > 0)  # derivative 0 at 0, as TF


def _leaky_relu(x):
    return np.where(x > 0, x, x * np.asarray(layer_constant(LEAKY_RELU_SLOPE), x.dtype))


def _leaky_relu_grad(x, y, dout):
    return np.where(x > 0, dout, dout * np.asarray(layer_constant(LEAKY_RELU_SLOPE), x.dtype))


def _elu(x):
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))


def _elu_grad(x, y, dout):
    return np.where(y > 0, dout, dout * (y + 1))  # TF EluGrad works from the output


def _selu(x):
    neg = SELU_ALPHA * np.expm1(np.minimum(x, 0))
    return SELU_SCALE * np.where(x > 0, x, neg).astype(x.dtype, copy=False)


def _selu_grad(x, y, dout):
    return np.where(y > 0, dout * SELU_SCALE, dout * (y + SELU_SCALE * SELU_ALPHA)).astype(y.dtype, copy=False)


def _silu(x):
    return x * special.expit(x)


def _silu_grad(x, y, dout):
    s = special.expit(x)
    return dout * s * (1.0 + x * (1.0 - s))


def _gelu(x):
    c = np.asarray(layer_constant(GELU_INV_SQRT2), x.dtype)
    return 0.5 * x * special.erfc(-x * c)


def _gelu_grad(x, y, dout):
    c = np.asarray(layer_constant(GELU_INV_SQRT2), x.dtype)
    pdf = np.exp(-np.square(x * c)) * (2.0 / np.sqrt(np.pi))
    return dout * (0.5 * special.erfc(-x * c) + 0.5 * x * pdf * c)


def _gelu_tanh(x):
    inner = GELU_SQRT_2_OVER_PI * (x + np.asarray(layer_constant(GELU_TANH_COEFF), x.dtype) * x**3)
    return 0.5 * x * (1.0 + np.tanh(inner))


def _gelu_tanh_grad(x, y, dout):
    c = np.asarray(layer_constant(GELU_TANH_COEFF), x.dtype)
    t = np.tanh(GELU_SQRT_2_OVER_PI * (x + c * x**3))
    d_inner = GELU_SQRT_2_OVER_PI * (1.0 + 3.0 * c * x * x)
    return dout * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * d_inner)


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _softmax_grad(x, y, dout):
    # Jacobian-vector product: s * (g - sum(g * s)).
    return y * (dout - (dout * y).sum(axis=-1, keepdims=True))


def _relu6(x):
    return np.clip(x, 0, 6)


def _relu6_grad(x, y, dout):
    return dout * ((x > 0) & (x < 6))  # TF Relu6Grad: 0 at both kinks


def _softplus(x):
    return np.logaddexp(0, x)


def _softplus_grad(x, y, dout):
    return dout * special.expit(x)


def _softsign(x):
    return x / (np.abs(x) + 1)


def _softsign_grad(x, y, dout):
    return dout / np.square(np.abs(x) + 1)  # TF SoftsignGrad


def _hard_sigmoid(x):
    return _relu6(x + 3) / np.asarray(6, x.dtype)  # Keras 3 (TF): relu6(x + 3) / 6


def _hard_sigmoid_grad(x, y, dout):
    return _relu6_grad(x + 3, None, dout) / np.asarray(6, x.dtype)


def _hard_silu(x):
    return x * _hard_sigmoid(x)


def _hard_silu_grad(x, y, dout):
    return dout * _hard_sigmoid(x) + x * _hard_sigmoid_grad(x, None, dout)


def _mish(x):
    return x * np.tanh(_softplus(x))


def _mish_grad(x, y, dout):
    t = np.tanh(_softplus(x))
    return dout * t + x * (dout * (1.0 - t * t)) * special.expit(x)


def _log_softmax(x):
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _log_softmax_grad(x, y, dout):
    return dout - np.exp(y) * dout.sum(axis=-1, keepdims=True)  # TF LogSoftmax gradient


def _exponential(x):
    return np.exp(x)


def _exponential_grad(x, y, dout):
    return dout * y


ACTIVATIONS = {
    "linear": (_linear, _linear_grad),
    "sigmoid": (_sigmoid, _sigmoid_grad),
    "tanh": (np.tanh, _tanh_grad),
    "relu": (_relu, _relu_grad),
    "leaky_relu": (_leaky_relu, _leaky_relu_grad),
    "elu": (_elu, _elu_grad),
    "selu": (_selu, _selu_grad),
    "silu": (_silu, _silu_grad),
    "swish": (_silu, _silu_grad),  # Keras alias of silu
    "gelu": (_gelu, _gelu_grad),  # exact erf form, keras.activations.gelu default
    "gelu_tanh": (_gelu_tanh, _gelu_tanh_grad),  # keras.activations.gelu(approximate=True)
    "softmax": (_softmax, _softmax_grad),
    "relu6": (_relu6, _relu6_grad),
    "softplus": (_softplus, _softplus_grad),
    "softsign": (_softsign, _softsign_grad),
    "hard_sigmoid": (_hard_sigmoid, _hard_sigmoid_grad),
    "hard_silu": (_hard_silu, _hard_silu_grad),
    "hard_swish": (_hard_silu, _hard_silu_grad),  # Keras alias of hard_silu
    "mish": (_mish, _mish_grad),
    "log_softmax": (_log_softmax, _log_softmax_grad),
    "exponential": (_exponential, _exponential_grad),
}
# Where each activation's derivative jumps: finite differences straddling one of these are kinks.
KINKS = {"relu": (0.0,), "leaky_relu": (0.0,), "selu": (0.0,), "relu6": (0.0, 6.0),
         "hard_sigmoid": (-3.0, 3.0), "hard_silu": (-3.0, 3.0), "hard_swish": (-3.0, 3.0)}


def kink_side(name, x):
    """Which interval between the kinks of ``name`` each element of ``x`` lies in (None if smooth)."""
    if name not in KINKS:
        return None
    return sum((x > k).astype(np.int8) for k in KINKS[name])
# Output activations after which Keras's cross-entropies read the cached logits.
LOGIT_ACTIVATIONS = ("softmax", "sigmoid")


def get(name, who="Activation"):
    """Return the canonical activation name; None means linear."""
    name = "linear" if name is None else name
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(
            f"{who}: unknown activation. Expected one of {sorted(ACTIVATIONS)}. "
            f"Received: activation={name!r}"
        )
    return name


def forward(name, x):
    return ACTIVATIONS[name][0](x)


def backward(name, x, y, dout):
    return ACTIVATIONS[name][1](x, y, dout)
