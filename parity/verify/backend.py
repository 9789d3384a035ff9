"""``verify`` on another Keras backend: one spawned process with ``KERAS_BACKEND`` set, as the backend matrix does.

Keras fixes its backend when it is first imported, so verifying on JAX or
PyTorch from a TensorFlow process means a fresh process
(``parity.checks.backends._start_worker``). The model crosses as its ``.keras``
path (a loaded model belongs to its process's backend); the result comes back
as data (``VerifyResult``, the repro as arrays), with the worker's backend and
precision settings in ``result.settings["backend"]``.
"""
import os

from parity.checks.backends import BACKENDS, run_on

__all__ = ["check_backend", "run_on", "running_backend"]


def running_backend():
    """The backend this process runs (or will run) Keras on."""
    return os.environ.get("KERAS_BACKEND", "tensorflow")


def check_backend(backend, model):
    """Refuse an unknown backend, or a model object where a file is needed, before any work."""
    if backend not in BACKENDS:
        raise ValueError(f"Unknown backend; expected one of {BACKENDS}. Received: backend={backend!r}")
    if backend != running_backend() and not isinstance(model, (str, bytes, os.PathLike)):
        raise TypeError("verify on another backend needs the model as a .keras path (a loaded model belongs to this "
                        f"process's backend, {running_backend()}). Received: model={type(model).__name__}")
