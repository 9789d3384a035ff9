"""``parity verify``: check a user's Keras model against its NumPy twin and find the first divergence.

Importing this package does not import TensorFlow; ``verify`` does on first use.
Importing a subpackage makes it the attribute ``parity.verify``, shadowing the
lazy function of the same name in ``parity/__init__.py``; the package is
therefore callable, so ``parity.verify(model, ...)`` works either way.
"""
import sys
import types

from parity.verify.api import verify
from parity.verify.result import VerifyResult


class _CallablePackage(types.ModuleType):
    def __call__(self, *args, **kwargs):
        return verify(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage

__all__ = ["VerifyResult", "verify"]
