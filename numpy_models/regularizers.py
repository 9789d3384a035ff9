"""Weight regularizers with Keras semantics.

Parity: ``keras.regularizers.L1/L2/L1L2``. ``L2(l2)`` is ``l2 * sum(w**2)``
(no 1/2; gradient ``2 * l2 * w``) and the coefficient is cast through float32
as TF does. The penalty is added, un-averaged, to the batch-mean data loss.
The textbook ``0.5 * lambda * sum(w**2)`` is ``TextbookL2(lam)``, equal to
Keras's ``L2(lam / 2)``.
"""
import numpy as np

from numpy_models._validation import resolve
from numpy_models.conventions import layer_constant


class Regularizer:
    def __call__(self, w):
        raise NotImplementedError

    def gradient(self, w):
        raise NotImplementedError

    def get_config(self):
        return dict(self.__dict__)


def _check_coefficient(name, value):
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0. Received: {name}={value!r}")
    return float(value)


class L1L2(Regularizer):
    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _check_coefficient("l1", l1)
        self.l2 = _check_coefficient("l2", l2)

    def __call__(self, w):
        penalty = w.dtype.type(0)
        if self.l1:
            penalty = penalty + w.dtype.type(layer_constant(self.l1)) * np.abs(w).sum()
        if self.l2:
            penalty = penalty + w.dtype.type(layer_constant(self.l2)) * np.square(w).sum()
        return penalty

    def gradient(self, w):
        grad = np.zeros_like(w)
        if self.l1:
            grad += w.dtype.type(layer_constant(self.l1)) * np.sign(w)
        if self.l2:
            grad += 2 * w.dtype.type(layer_constant(self.l2)) * w
        return grad


class L1(L1L2):
    def __init__(self, l1=0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    def __init__(self, l2=0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


class TextbookL2(Regularizer):
    """Textbook weight decay ``0.5 * lam * sum(w**2)``; Keras twin ``L2(lam / 2)``."""

    def __init__(self, lam=0.01):
        self.lam = _check_coefficient("lam", lam)

    def __call__(self, w):
        return w.dtype.type(0.5 * self.lam) * np.square(w).sum()

    def gradient(self, w):
        return w.dtype.type(self.lam) * w


CLASSES = {"L1": L1, "L2": L2, "L1L2": L1L2, "TextbookL2": TextbookL2}
ALIASES = {"l1": L1, "l2": L2, "l1_l2": L1L2}


def get(identifier, who="regularizer"):
    """Resolve None, a name ('l2'), a ``{"class_name", "config"}`` dict or an instance."""
    return None if identifier is None else resolve(identifier, Regularizer, ALIASES, CLASSES, who, "regularizer")


def serialize(regularizer):
    if regularizer is None:
        return None
    return {"class_name": type(regularizer).__name__, "config": regularizer.get_config()}
