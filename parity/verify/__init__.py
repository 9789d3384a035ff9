"""``parity verify``: check a user's Keras model against its NumPy twin and find the first divergence.

Importing this package does not import TensorFlow; ``verify`` does on first use.
"""
from parity.verify.api import verify
from parity.verify.result import VerifyResult

__all__ = ["VerifyResult", "verify"]
