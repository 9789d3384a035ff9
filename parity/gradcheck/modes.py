"""Which function a textbook net's gradient belongs to: the mode of its loss, and its log epsilon.

Textbook nets with BatchNormalization/Dropout default ``loss(x, t, train_flg=False)``
(inference) while ``gradient(x, t)`` runs the forward pass in training mode.
The checker evaluates the loss in the mode the gradient used: ``train_flg=True``
(or ``training=True``) whenever the loss signature takes it, the same rule as
for a layer's ``forward``. Every evaluation runs on a deep copy with NumPy's
global RNG replayed, so moving statistics are never updated and dropout masks
are the ones ``gradient`` drew.
"""
import inspect

import numpy as np

from parity.gradcheck.subject import TRAINING_ARGS

TEXTBOOK_EPSILON = 1e-7  # -log(y + 1e-7): the usual cross-entropy guard against log(0)


def loss_kwargs(net, training):
    """{"train_flg": training} (or ``training``) when ``net.loss`` takes a mode argument, else {}."""
    try:
        names = inspect.signature(net.loss).parameters
    except (TypeError, ValueError):
        return {}
    return {name: training for name in TRAINING_ARGS if name in names}


def mode_note(kwargs):
    if not kwargs:
        return "loss(x, t) takes no train_flg/training argument: evaluated as given"
    (name, value), = kwargs.items()
    return (f"loss evaluated with {name}={value}, the mode gradient() runs its forward pass in (moving statistics "
            "untouched: every evaluation runs on a deep copy; dropout masks held fixed: NumPy's RNG is replayed)")


def softmax_loss_layer(net):
    """The layer holding the softmax output ``y`` and targets ``t`` after ``loss`` (textbook ``last_layer``)."""
    candidates = [getattr(net, "last_layer", None)] + list(vars(net).values()) if hasattr(net, "__dict__") else []
    for obj in candidates:
        y, t = getattr(obj, "y", None), getattr(obj, "t", None)
        if isinstance(y, np.ndarray) and isinstance(t, np.ndarray) and y.ndim == 2:
            return obj
    return None


def cross_entropy_log_gap(y, t, eps=TEXTBOOK_EPSILON):
    """mean over the batch of t . (log(y + eps) - log(y)): what removing the epsilon adds to the loss."""
    y = np.asarray(y, dtype=np.float64)
    p = (y * t).sum(axis=1) if t.shape == y.shape else y[np.arange(y.shape[0]), t.astype(int).reshape(-1)]
    return float(np.sum(np.log(p + eps) - np.log(np.maximum(p, 1e-300)))) / y.shape[0]
