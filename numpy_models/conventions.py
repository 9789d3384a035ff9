"""Three TensorFlow habits the twin copies, and switches to JAX's and PyTorch's behaviour instead.

- ``float32_constants``: the Python-float constants of layers and regularizers
  (LeakyReLU's slope, ReLU's max_value, gelu's 1/sqrt(2) and 0.044715, L1/L2
  factors) reach TensorFlow's kernels as float32: op attributes, or tensors made
  from Python floats before the cast. JAX and PyTorch use the float64 value.
- ``float32_resize``: ``tf.image.resize`` interpolates bilinearly in float32 for
  any input dtype; ``jax.image.resize`` and ``torch``'s ``interpolate`` compute
  in the input's dtype.
- ``cached_logits``: on TensorFlow a softmax/sigmoid output carries its logits
  (``_keras_logits``) and any cross-entropy reads them, whatever its
  ``from_logits`` (``numpy_models.losses``); on JAX and PyTorch it takes the
  probability path (renormalise, clip to [1e-7, 1 - 1e-7], log), so a
  prediction more confident than 1 - 1e-7 is clipped.

All are on by default (Keras on TensorFlow is the oracle). The backend matrix
switches one off to measure whether it explains a float64 difference on JAX or
PyTorch (``parity.checks.backend_variants``). Optimizer constants have their own
rule (``numpy_models.optimizers.base.constant``).
"""
import contextlib

import numpy as np

from numpy_models._validation import tf_rounded

_TENSORFLOW = {"float32_constants": True, "float32_resize": True, "cached_logits": True}
_settings = dict(_TENSORFLOW)


def layer_constant(value):
    """A layer's Python-float constant as the model computes with it (float32-rounded, as TF, by default)."""
    return tf_rounded(value) if _settings["float32_constants"] else float(value)


def resize_dtype(dtype):
    """The dtype bilinear resizing computes in for a model of ``dtype`` (float32, as TF, by default)."""
    return np.float32 if _settings["float32_resize"] else np.dtype(dtype).type


def cached_logits():
    """Whether a cross-entropy reads its softmax/sigmoid output layer's logits (as TF), not the probabilities."""
    return _settings["cached_logits"]


def set_conventions(**switches):
    """Set some of ``float32_constants``, ``float32_resize``, ``cached_logits`` here; returns the settings before."""
    unknown = sorted(set(switches) - set(_TENSORFLOW))
    if unknown:
        raise ValueError(f"Unknown convention(s); expected some of {sorted(_TENSORFLOW)}. "
                         f"Received: {', '.join(f'{k}={switches[k]!r}' for k in unknown)}")
    before = dict(_settings)
    _settings.update({k: bool(v) for k, v in switches.items()})
    return before


def current():
    """The settings in force, e.g. for a report's manifest."""
    return dict(_settings)


@contextlib.contextmanager
def conventions(**switches):
    """``set_conventions(**switches)`` inside the block only."""
    before = set_conventions(**switches)
    try:
        yield current()
    finally:
        _settings.update(before)
