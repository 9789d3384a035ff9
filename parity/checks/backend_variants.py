"""Measured explanations of backend differences: failing rows re-run with the variant that explains them.

A row of the backend matrix that fails on JAX or PyTorch is explained only when
re-running it with the convention that differs switched is measured to pass:

    float64_kept   Keras's type promotion keeps float64 on JAX/PyTorch
                   (``keras_models.backend.keep_float64``): by default
                   ``BIT64_TO_BIT32_DTYPE`` demotes float64 to float32 there.
    exact_cast     the NumPy twin takes Python-float optimizer constants exactly, as
                   ``ops.cast`` does on JAX/PyTorch, and evaluates learning-rate schedules
                   in float64; TensorFlow's ``tf.cast`` of a Python float goes through
                   float32 (``numpy_models`` models TF's).
    torch_generic_update  Keras's PyTorch optimizers run the generic ``update_step`` instead
                   of their ``torch._foreach`` one (float32 slot rows); needs its own process
                   (``SEPARATE``), since the worker's other variants would stay switched on.
    torch_replicate_pool  the NumPy twin's AveragePooling2D pads an uneven 'same' split by
                   replicating the edge and averages the whole padded window, as Keras's
                   PyTorch backend does (``parity.checks.backend_pooling``); float32 in its own
                   process, float64 on top of float64_kept.
    exact_constants, float64_resize, torch_hardsigmoid_sixth  the NumPy twin's float64
                   TensorFlow rules switched to JAX's/PyTorch's (``parity.checks.backend_conventions``),
                   on top of float64_kept, for the specs whose twin they change.
    probability_crossentropy  the NumPy twin's cross-entropy from the probabilities, as JAX's and
                   PyTorch's: for training runs only (``parity.report.experiment_backends``).

The backend's worker re-runs its failing rows after its own pass (``backends._rerun_failing``), each
variant switched on for its re-run only (``switched_on``).
"""
import contextlib

import numpy as np

from numpy_models.optimizers import base, keras_rules, schedules
from parity.checks import backend_conventions
from parity.checks.backend_conventions import twin_conventions
from parity.checks.backend_pooling import replicate_same_average_pooling, uneven_same_average_pooling

# Which variant may explain a failing row, and the cause it names when the re-run passes.
CAUSES = {
    "float64_kept": "Keras demotes float64 to float32 in its type promotion on JAX and PyTorch "
                    "(keras.src.backend.common.dtypes.BIT64_TO_BIT32_DTYPE)",
    "exact_cast": "TensorFlow's ops.cast of a Python-float constant (beta_2, momentum, a schedule's rates) rounds "
                  "it to float32 first and the NumPy twin models that; JAX's and PyTorch's ops.cast are exact",
    "torch_generic_update": "Keras's PyTorch optimizers update moments as b*m + (1-b)*g with torch._foreach ops "
                            "(keras/src/backend/torch/optimizers), the generic ones and the NumPy twin as "
                            "m + (g - m)*(1-b)",
    "torch_replicate_pool": "padding split: Keras's PyTorch backend pads an uneven 'same' average-pooling window by "
                            "replicating the edge and averages the whole padded window "
                            "(keras/src/backend/torch/nn.py _apply_same_padding, mode='replicate'); TensorFlow and "
                            "the NumPy twin average the window's valid elements only",
    "exact_constants": "TensorFlow's kernels take a layer's Python-float constants (LeakyReLU's slope, ReLU's "
                       "max_value, gelu's 1/sqrt(2) and 0.044715, L1/L2 factors) as float32 even in a float64 model, "
                       "and the NumPy twin models that; JAX and PyTorch use them exactly",
    "float64_resize": "TensorFlow's bilinear resize (tf.image.resize) computes in float32 for a float64 input, and "
                      "the NumPy twin models that; JAX's and PyTorch's compute in float64",
    "probability_crossentropy": "Keras's softmax/sigmoid outputs carry their logits (_keras_logits) on TensorFlow "
                                "only, and a from_logits=False cross-entropy reads them there (keras/src/backend/"
                                "tensorflow/nn.py _get_logits), as the NumPy twin does; on JAX and PyTorch it takes the "
                                "probability path (renormalise, clip to [1e-7, 1 - 1e-7], log: backend/jax/nn.py, "
                                "backend/torch/nn.py), which clips every prediction more confident than 1 - 1e-7",
    "torch_hardsigmoid_sixth": "PyTorch's hardsigmoid_backward multiplies by a float32 1/6 in float64 too (ATen: "
                               "one_sixth(1.0f / 6.0f)); TensorFlow and the NumPy twin divide by 6",
}
SEPARATE = ("torch_generic_update", "torch_replicate_pool")


_TF_CONSTANT = base.constant  # numpy_models' TensorFlow rule, before any switch


def _exact_constant(value, dtype):
    return np.asarray(value, dtype=dtype)


def cause(variant):
    """The cause a variant (or a "+"-joined combination) names."""
    return "; and ".join(CAUSES[v] for v in variant.split("+"))


def _exact_cast(on):
    base.constant = keras_rules.constant = _exact_constant if on else _TF_CONSTANT
    schedules.COMPUTE_DTYPE = "float64" if on else "float32"  # a schedule's Python-float constants: floatx tensors
    return {"numpy_optimizer_constants": "exact (as JAX/PyTorch ops.cast)" if on else "float32-rounded (as TF)",
            "numpy_schedules": schedules.COMPUTE_DTYPE}


def _switch(variant, on):
    """Switch one variant on (or off again) in this process; returns what it set."""
    if variant == "float64_kept":
        from keras_models.backend import keep_float64  # imports the backend

        return keep_float64(on)
    if variant == "torch_generic_update":
        from keras_models.backend import generic_torch_update  # imports the backend

        return generic_torch_update(on)
    if variant == "torch_replicate_pool":
        return replicate_same_average_pooling(on)
    if variant == "exact_cast":
        return _exact_cast(on)
    if variant in backend_conventions.BACKENDS or variant in backend_conventions.TRAINING_ONLY:
        return backend_conventions.switch(variant, on)
    raise ValueError(f"Unknown backend variant; expected one of {sorted(CAUSES)}. Received: variant={variant!r}")


def _parts(variant):
    """The variants of a "+"-joined combination, every one known (checked before anything is switched)."""
    parts = variant.split("+") if variant else []
    unknown = [p for p in parts if p not in CAUSES]
    if unknown:
        raise ValueError(f"Unknown backend variant; expected one of {sorted(CAUSES)}. Received: variant={variant!r}")
    return parts


def apply_variant(variant):
    """Switch ``variant`` (or each of a "+"-joined combination) on in this (worker) process; returns what it set."""
    return {k: v for part in _parts(variant) for k, v in _switch(part, True).items()}


@contextlib.contextmanager
def switched_on(variant):
    """``apply_variant(variant)`` for the block only: every part switched on is switched off again after it."""
    done, settings = [], {}
    try:
        for part in _parts(variant):
            settings.update(_switch(part, True))
            done.append(part)
        yield settings
    finally:
        for part in reversed(done):
            _switch(part, False)


def candidate(row):
    """The variant that may explain a failing row, or None."""
    if row["passed"] or row["backend"] == "tensorflow" or row["max_rel"] is None:  # an error: see backends.explain
        return None
    pool = row["backend"] == "torch" and uneven_same_average_pooling(row["spec"])
    if row["dtype"] == "float32":
        if row["check"].startswith("optimizer "):
            return "torch_generic_update" if row["backend"] == "torch" and row.get("slots_only") else None
        return "torch_replicate_pool" if pool else None
    if row["check"].startswith("optimizer "):
        return "exact_cast+float64_kept"
    return "+".join(("float64_kept",) + (("torch_replicate_pool",) if pool else ())
                    + twin_conventions(row["spec"], row["backend"]))


def rerun_plan(rows):
    """{(backend, variant): {"spec_ids", "checks", "optimizer_spec_ids", "settings"}} for the failing rows."""
    plan = {}
    for row in rows:
        variant = candidate(row)
        if variant is None:
            continue
        part = plan.setdefault((row["backend"], variant), {"spec_ids": set(), "checks": set(),
                                                           "optimizer_spec_ids": set(), "settings": set()})
        if row["check"].startswith("optimizer "):
            part["optimizer_spec_ids"].add(row["spec"])
            part["settings"].add(row["check"].split(" ", 1)[1])
        else:
            part["spec_ids"].add(row["spec"])
            part["checks"].add(row["check"].split("(", 1)[0])
    return plan


def measured(reruns):
    """{(backend, spec, check, dtype): {"variant", "cause", "max_rel", "passed"}} from the variant re-runs."""
    out = {}
    for (backend, variant), result in reruns.items():
        for r in result["rows"]:
            out[(backend, r["spec"], r["check"], r["dtype"])] = {"variant": variant, "cause": cause(variant),
                                                                 "max_rel": r["max_rel"], "passed": r["passed"]}
    return out
