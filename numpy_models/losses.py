"""Losses with Keras semantics, each giving its value and its gradient.

``loss(y_true, y_pred)`` returns the reduced scalar, ``loss.gradient(y_true,
y_pred)`` returns dL/dy_pred. Reduction "sum_over_batch_size" divides by the
number of per-sample values (not by the sum of sample weights), as Keras does.

Keras's logits path: on TensorFlow, when a softmax or sigmoid output layer
feeds any cross-entropy, Keras silently computes the loss from the cached
logits (no epsilon clipping), whatever ``from_logits`` says (with
``from_logits=True`` it warns the output "does not represent logits" and
reads the logits all the same) and whichever of the two activations it was (a
sigmoid output under CategoricalCrossentropy gets the softmax cross-entropy of
its logits; a nested model's output is read through to its last layer, and
a layer that returns its input tensor as is, ``Layer.passes_input_through``,
to the layer before it: Keras's output is then the very same tensor).
``compute_loss`` and ``backward_loss`` of Sequential and Model
reproduce that through ``logits_value_and_gradient``; calling the loss on a
bare probability array takes the clipped probability path, exactly as Keras
does for such an array. On JAX and PyTorch Keras has no cached logits:
``conventions.cached_logits`` off takes the probability path (or, with
``from_logits=True``, softmax/sigmoid of the probabilities again, as they do),
and SparseCategoricalCrossentropy's probability path is then theirs
(renormalise, clip, log), not TensorFlow's.
"""
import numbers

import numpy as np
from scipy import special

from numpy_models._validation import as_float_array, check_finite, tf_rounded
from numpy_models.activations import LOGIT_ACTIVATIONS
from numpy_models.conventions import cached_logits

EPSILON = 1e-7  # keras.config.epsilon()
REDUCTIONS = ("sum_over_batch_size", "sum", "none")


class Loss:
    # Whether this loss reads a softmax/sigmoid output's cached logits (Keras ``_get_logits``, TensorFlow only).
    reads_cached_logits = False

    def __init__(self, reduction="sum_over_batch_size", name=None):
        if reduction not in REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {REDUCTIONS}. Received: reduction={reduction!r}")
        self.reduction = reduction
        self.name = name or type(self).__name__

    # -- public API -------------------------------------------------------------
    def __call__(self, y_true, y_pred, sample_weight=None):
        return self.value_and_gradient(y_true, y_pred, sample_weight)[0]

    def gradient(self, y_true, y_pred, sample_weight=None):
        return self.value_and_gradient(y_true, y_pred, sample_weight)[1]

    def value_and_gradient(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = self._check(y_true, y_pred)
        values, dvalues = self.values_and_grads(y_true, y_pred)
        return self._reduce(values, dvalues, sample_weight)

    def uses_logits_of(self, activation):
        """True when Keras would compute this loss from the logits of an output layer with ``activation``.

        Parity: TensorFlow's ``_get_logits`` reads ``_keras_logits`` of any softmax/sigmoid output, with
        ``from_logits=True`` too and whatever the loss (measured: CCE, SCCE, BCE x softmax, sigmoid).
        """
        return self.reads_cached_logits and activation in LOGIT_ACTIVATIONS and cached_logits()

    def logits_value_and_gradient(self, y_true, logits, sample_weight=None):
        """Loss and dL/dlogits the way Keras computes them on its logits path."""
        y_true, logits = self._check(y_true, logits)
        values, dvalues = self.logit_values_and_grads(y_true, logits)
        return self._reduce(values, dvalues, sample_weight)

    # -- subclass hooks ----------------------------------------------------------
    def values_and_grads(self, y_true, y_pred):
        """Per-sample values (shape y_pred.shape[:-1]) and d value / d y_pred."""
        raise NotImplementedError

    # -- helpers -----------------------------------------------------------------
    def _check(self, y_true, y_pred):
        y_pred = np.asarray(y_pred)
        dtype = y_pred.dtype.name if y_pred.dtype.kind == "f" else "float32"
        y_pred = as_float_array(y_pred, dtype, self.name, "y_pred")
        y_true = as_float_array(y_true, dtype, self.name, "y_true")
        if y_pred.ndim < 1:
            raise ValueError(f"{self.name}: y_pred must have a batch axis. Received: y_pred.shape={y_pred.shape}")
        if y_true.shape != y_pred.shape:
            raise ValueError(
                f"{self.name}: y_true and y_pred must have the same shape. "
                f"Received: y_true.shape={y_true.shape}, y_pred.shape={y_pred.shape}"
            )
        return y_true, y_pred

    def _reduce(self, values, dvalues, sample_weight):
        if sample_weight is None:  # weights of one: multiplying by them changes no bit, so skip the two passes
            weighted, grad = values, dvalues
        else:
            weights = np.asarray(sample_weight, dtype=values.dtype)
            if weights.shape != values.shape[: weights.ndim]:
                raise ValueError(f"{self.name}: sample_weight shape must match the per-sample losses {values.shape}. Received: sample_weight.shape={weights.shape}")
            weights = weights.reshape(weights.shape + (1,) * (values.ndim - weights.ndim))
            check_finite(weights, self.name, "sample_weight")
            weighted = values * weights
            grad = dvalues * weights[..., None]
        if self.reduction == "none":
            return weighted, grad
        if self.reduction == "sum_over_batch_size":
            return weighted.sum() / values.size, grad / values.size
        return weighted.sum(), grad

    def get_config(self):
        return {"reduction": self.reduction, "name": self.name}


class MeanSquaredError(Loss):
    """mean((y_true - y_pred)**2, axis=-1); dL/dp = 2 (p - y) / (B * D)."""

    def values_and_grads(self, y_true, y_pred):
        diff = y_pred - y_true
        d = y_pred.shape[-1]
        return np.mean(diff * diff, axis=-1), 2.0 * diff / d


class MeanAbsoluteError(Loss):
    """mean(|y_true - y_pred|, axis=-1); gradient 0 at zero residual (TF's sign)."""

    def values_and_grads(self, y_true, y_pred):
        diff = y_pred - y_true
        return np.mean(np.abs(diff), axis=-1), np.sign(diff) / y_pred.shape[-1]


class Huber(Loss):
    """mean(h(p - y), axis=-1), h(e) = e**2 / 2 where |e| <= delta, else delta |e| - delta**2 / 2.

    Parity: Keras casts ``delta`` to the loss's dtype (float32-rounded only in
    float32); its ``where`` takes the quadratic branch at |e| == delta, where
    both branches have the derivative e (dL/dp = e or delta sign(e)).
    """

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name=None):
        super().__init__(reduction, name)
        if isinstance(delta, bool) or not isinstance(delta, numbers.Real) or not np.isfinite(delta):
            raise ValueError(f"{self.name}: delta must be a finite number. Received: delta={delta!r}")
        self.delta = delta

    def values_and_grads(self, y_true, y_pred):
        e = y_pred - y_true
        delta = y_pred.dtype.type(self.delta)
        quadratic = np.abs(e) <= delta
        values = np.where(quadratic, 0.5 * (e * e), delta * np.abs(e) - 0.5 * (delta * delta))
        return np.mean(values, axis=-1), np.where(quadratic, e, delta * np.sign(e)) / y_pred.shape[-1]

    def get_config(self):
        return {**super().get_config(), "delta": self.delta}


class LogCosh(Loss):
    """mean(log(cosh(e)), axis=-1), e = p - y, in Keras's stable form e + softplus(-2e) - log(2).

    Parity: Keras's log(2) is float32-rounded in float64 too (``ops.log(2.0)``
    runs in float32); dL/de is TF's autodiff of that form, 1 - 2 sigmoid(-2e)
    (= tanh(e), rounded as TF rounds it: 0 for |e| below ~3e-8 in float32).
    """

    def values_and_grads(self, y_true, y_pred):
        e = y_pred - y_true
        log2 = y_pred.dtype.type(tf_rounded(np.log(2.0)))
        values = e + np.logaddexp(0.0, -2.0 * e) - log2
        return np.mean(values, axis=-1), (1.0 - 2.0 * special.expit(-2.0 * e)) / y_pred.shape[-1]


class MeanSquaredLogarithmicError(Loss):
    """mean((log(max(p, eps) + 1) - log(max(y, eps) + 1))**2, axis=-1).

    Parity: Keras's eps is float32(1e-7) in float64 too (a Python float made
    a float32 tensor); TF's maximum passes the gradient where p >= eps, ties
    included, and none below it (negative predictions get no gradient).
    """

    def values_and_grads(self, y_true, y_pred):
        eps = y_pred.dtype.type(tf_rounded(EPSILON))
        shifted = np.maximum(y_pred, eps) + 1.0
        diff = np.log(shifted) - np.log(np.maximum(y_true, eps) + 1.0)
        grads = 2.0 * diff / shifted * (y_pred >= eps) / y_pred.shape[-1]
        return np.mean(diff * diff, axis=-1), grads


def _clip_mask(p):
    """TF clip_by_value passes gradient where lo <= p <= hi."""
    return (p >= EPSILON) & (p <= 1.0 - EPSILON)


class BinaryCrossentropy(Loss):
    """Binary cross-entropy, mean over the last axis.

    Probability path: clip p to [eps, 1 - eps], ``-(y log p + (1-y) log(1-p))``.
    Logits path: ``max(z, 0) - z y + log1p(exp(-|z|))``, gradient ``sigmoid(z) - y``.
    """

    reads_cached_logits = True

    def __init__(self, from_logits=False, label_smoothing=0.0, reduction="sum_over_batch_size", name=None):
        super().__init__(reduction, name)
        _check_smoothing(self.name, label_smoothing)
        self.from_logits, self.label_smoothing = from_logits, label_smoothing

    def _smooth(self, y):
        ls = self.label_smoothing
        return y * (1.0 - ls) + 0.5 * ls if ls else y

    def values_and_grads(self, y_true, y_pred):
        if self.from_logits:
            return self.logit_values_and_grads(y_true, y_pred)
        y = self._smooth(y_true)
        p = np.clip(y_pred, EPSILON, 1.0 - EPSILON)
        d = y_pred.shape[-1]
        values = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p), axis=-1)
        grads = (-y / p + (1 - y) / (1 - p)) * _clip_mask(y_pred) / d
        return values, grads

    def logit_values_and_grads(self, y_true, z):
        y = self._smooth(y_true)
        d = z.shape[-1]
        values = np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))), axis=-1)
        return values, (special.expit(z) - y) / d

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits, "label_smoothing": self.label_smoothing}


def _check_smoothing(who, ls):
    if not 0.0 <= ls <= 1.0:
        raise ValueError(f"{who}: label_smoothing must be in [0, 1]. Received: label_smoothing={ls!r}")


def _renormalised_values_and_grads(t, p):
    """``-sum(t log clip(p / sum(p)))`` and its gradient: Keras's categorical probability path."""
    s = p.sum(axis=-1, keepdims=True)
    q = p / s
    dq = -t / np.clip(q, EPSILON, 1.0 - EPSILON) * _clip_mask(q)
    # through q = p / sum(p): dp_j = (dq_j - sum_i dq_i q_i) / s
    grads = (dq - (dq * q).sum(axis=-1, keepdims=True)) / s
    return -(t * np.log(np.clip(q, EPSILON, 1.0 - EPSILON))).sum(axis=-1), grads


def _log_softmax(z):
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


class CategoricalCrossentropy(Loss):
    """Categorical cross-entropy over the last axis with one-hot (or soft) targets.

    Probability path: renormalise p / sum(p), clip to [eps, 1 - eps],
    ``-sum(t log p)``. Logits path: ``-sum(t * log_softmax(z))``, gradient
    ``softmax(z) * sum(t) - t``.
    """

    reads_cached_logits = True

    def __init__(self, from_logits=False, label_smoothing=0.0, reduction="sum_over_batch_size", name=None):
        super().__init__(reduction, name)
        _check_smoothing(self.name, label_smoothing)
        self.from_logits, self.label_smoothing = from_logits, label_smoothing

    def _smooth(self, t):
        ls = self.label_smoothing
        return t * (1.0 - ls) + ls / t.shape[-1] if ls else t

    def values_and_grads(self, y_true, y_pred):
        if self.from_logits:
            return self.logit_values_and_grads(y_true, y_pred)
        return _renormalised_values_and_grads(self._smooth(y_true), y_pred)

    def logit_values_and_grads(self, y_true, z):
        t = self._smooth(y_true)
        log_p = _log_softmax(z)
        return -(t * log_p).sum(axis=-1), np.exp(log_p) * t.sum(axis=-1, keepdims=True) - t

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits, "label_smoothing": self.label_smoothing}


class SparseCategoricalCrossentropy(Loss):
    """Categorical cross-entropy with integer labels of shape (N,) or (N, 1).

    Probability path: clip p, take log, then softmax cross-entropy on log p
    (i.e. renormalise after clipping), as Keras's TF backend does; JAX's and
    PyTorch's (``cached_logits`` off) renormalise first, as CategoricalCrossentropy.
    """

    reads_cached_logits = True

    def __init__(self, from_logits=False, reduction="sum_over_batch_size", name=None):
        super().__init__(reduction, name)
        self.from_logits = from_logits

    def _check(self, y_true, y_pred):
        y_pred = np.asarray(y_pred)
        dtype = y_pred.dtype.name if y_pred.dtype.kind == "f" else "float32"
        y_pred = as_float_array(y_pred, dtype, self.name, "y_pred")
        labels = np.asarray(y_true)
        if labels.ndim == y_pred.ndim and labels.shape[-1] == 1:
            labels = labels[..., 0]
        if labels.shape != y_pred.shape[:-1]:
            raise ValueError(
                f"{self.name}: labels must have shape {y_pred.shape[:-1]} (or with a trailing 1). "
                f"Received: y_true.shape={np.shape(y_true)}, y_pred.shape={y_pred.shape}"
            )
        if labels.dtype.kind == "f" and not np.all(labels == np.round(labels)):
            raise ValueError(f"{self.name}: labels must be integers. Received: non-integer values such as {labels[labels != np.round(labels)][:3]}")
        if labels.size and (labels.min() < 0 or labels.max() >= y_pred.shape[-1]):
            raise ValueError(
                f"{self.name}: labels must lie in [0, {y_pred.shape[-1]}). "
                f"Received: labels in [{labels.min()}, {labels.max()}]"
            )
        onehot = np.zeros_like(y_pred)
        np.put_along_axis(onehot, labels.astype(np.int64)[..., None], 1.0, axis=-1)
        return onehot, y_pred

    def values_and_grads(self, onehot, y_pred):
        if self.from_logits:
            return self.logit_values_and_grads(onehot, y_pred)
        if not cached_logits():  # JAX's and PyTorch's sparse path is the categorical one on one-hot labels
            return _renormalised_values_and_grads(onehot, y_pred)
        p = np.clip(y_pred, EPSILON, 1.0 - EPSILON)
        s = p.sum(axis=-1, keepdims=True)
        values = -(onehot * np.log(p)).sum(axis=-1) + np.log(s[..., 0])
        grads = (1.0 / s - onehot / p) * _clip_mask(y_pred)
        return values, grads

    def logit_values_and_grads(self, onehot, z):
        log_p = _log_softmax(z)
        return -(onehot * log_p).sum(axis=-1), np.exp(log_p) - onehot

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits}


CLASSES = {c.__name__: c for c in (MeanSquaredError, MeanAbsoluteError, Huber, LogCosh, MeanSquaredLogarithmicError,
                                    BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy)}
ALIASES = {"mse": MeanSquaredError, "MSE": MeanSquaredError, "mean_squared_error": MeanSquaredError,
           "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
           "bce": BinaryCrossentropy, "BCE": BinaryCrossentropy,
           "huber": Huber, "log_cosh": LogCosh,
           "msle": MeanSquaredLogarithmicError, "MSLE": MeanSquaredLogarithmicError,
           "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
           "binary_crossentropy": BinaryCrossentropy,
           "categorical_crossentropy": CategoricalCrossentropy,
           "sparse_categorical_crossentropy": SparseCategoricalCrossentropy}


def get(identifier, **kwargs):
    """Resolve a loss from a Keras class name, an alias or an instance."""
    if isinstance(identifier, Loss):
        return identifier
    cls = CLASSES.get(identifier) or ALIASES.get(identifier) if isinstance(identifier, str) else None
    if cls is None:
        raise ValueError(f"Unknown loss. Expected one of {sorted(CLASSES) + sorted(ALIASES)}. Received: loss={identifier!r}")
    return cls(**kwargs)
