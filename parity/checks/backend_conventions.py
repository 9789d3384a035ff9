"""NumPy-side measurement variants: the twin switched from a TensorFlow rule to JAX's or PyTorch's.

The NumPy twin follows Keras on TensorFlow. Three of TensorFlow's rules are not
JAX's or PyTorch's, and each shows only in float64 (1e-10..2e-7, far over the
1e-12 tolerance, far under any float32 effect):

    exact_constants  layer constants (LeakyReLU's slope, ReLU's max_value, gelu's,
                     L1/L2 factors) used exactly, not float32-rounded as TF's kernels
                     and Python-float tensors do (``numpy_models.conventions``)
    float64_resize   bilinear ``UpSampling2D`` computed in the model's dtype, not in
                     float32 as ``tf.image.resize``
    torch_hardsigmoid_sixth  hard_sigmoid's derivative is ``float32(1/6)``, as ATen's
                     ``hardsigmoid_backward`` (``one_sixth(1.0f / 6.0f)``) in float64 too

A fourth shows only in training runs, once predictions grow confident:

    probability_crossentropy  a softmax/sigmoid output's cross-entropy computed from the
                     probabilities (renormalised, clipped to [1e-7, 1 - 1e-7]), as Keras on
                     JAX and PyTorch, whose outputs carry no cached logits; TF's do, and the
                     twin reads them. One batch of random inputs never reaches the clip, so
                     the backend matrix does not try it (it would only trade one round-off for
                     another); the experiments across backends do (``run_conventions``).

A failing float64 row is re-run with the ones that change its spec's twin
(``twin_conventions``): measured, not read off the spec's layer list.
"""
import contextlib
import functools

import numpy as np

from numpy_models import activations
from numpy_models.conventions import conventions, set_conventions
from parity.checks.nodes import numpy_backward
from parity.specs import SPECS, make_inputs, make_targets
from parity.twins import numpy_loss, numpy_twin

BACKENDS = {"exact_constants": ("jax", "torch"), "float64_resize": ("jax", "torch"),
            "torch_hardsigmoid_sixth": ("torch",)}
TRAINING_ONLY = {"probability_crossentropy": ("jax", "torch")}
ORDER = (*BACKENDS, *TRAINING_ONLY)  # the order a combination names them in
_SWITCHES = {"exact_constants": "float32_constants", "float64_resize": "float32_resize",
             "probability_crossentropy": "cached_logits"}
_SHIPPED_HARD_SIGMOID = activations.ACTIVATIONS["hard_sigmoid"]


def _sixth_grad(x, y, dout):
    """Parity: ATen's hardsigmoid_backward, ``grad * one_sixth`` with ``one_sixth`` a float32 1/6, inside (-3, 3)."""
    inside = (x > -3) & (x < 3)
    return dout * inside * np.asarray(np.float32(1) / np.float32(6), dout.dtype)


def switch(variant, on=True):
    """Switch one NumPy-side variant on (or back off) in this process; returns what it set."""
    if variant == "torch_hardsigmoid_sixth":
        forward = _SHIPPED_HARD_SIGMOID[0]
        activations.ACTIVATIONS["hard_sigmoid"] = (forward, _sixth_grad) if on else _SHIPPED_HARD_SIGMOID
        return {"numpy_hard_sigmoid_derivative": "float32(1/6) (as ATen)" if on else "1/6"}
    set_conventions(**{_SWITCHES[variant]: not on})
    return {f"numpy_{_SWITCHES[variant]}": not on}


def _numbers(spec):
    """The float64 twin's output, loss (regularization included) and every gradient, for one batch."""
    np_model = numpy_twin(spec, "float64", 0)
    x = make_inputs(spec, "float64", 0)
    y = np_model.forward(x, training=False)
    y_true = make_targets(spec, y.shape, "float64", 0)
    loss = numpy_loss(spec)
    value = np_model.compute_loss(loss, y_true, y)
    dx, _, _ = numpy_backward(np_model, loss=loss, y_true=y_true, y_pred=y)
    return [y, np.asarray(value), dx] + [np_model.grads[k] for k in sorted(np_model.grads)]


@contextlib.contextmanager
def _tensorflow_twin():
    """The twin with TensorFlow's rules (every convention off) for the block, whatever this process had on."""
    hard_sigmoid = activations.ACTIVATIONS["hard_sigmoid"]
    activations.ACTIVATIONS["hard_sigmoid"] = _SHIPPED_HARD_SIGMOID
    try:
        with conventions(float32_constants=True, float32_resize=True, cached_logits=True):
            yield
    finally:
        activations.ACTIVATIONS["hard_sigmoid"] = hard_sigmoid


def _changes_twin(spec, variant):
    with _tensorflow_twin():
        before = _numbers(spec)
        switch(variant)
        after = _numbers(spec)
    return any(not np.array_equal(a, b) for a, b in zip(before, after, strict=True))


def _changing(spec, backend, variants):
    return tuple(v for v, backends in variants.items() if backend in backends and _changes_twin(spec, v))


@functools.lru_cache(maxsize=None)
def twin_conventions(spec_id, backend):
    """The NumPy-side variants of ``backend`` that change ``spec_id``'s float64 twin, in a fixed order.

    Measured against the TensorFlow rules whatever is switched on in this process (the answer is cached). A spec
    whose float64 twin raises here gets none: its rows carry that error already.
    """
    try:
        return _changing(SPECS[spec_id], backend, BACKENDS)
    except Exception:  # noqa: BLE001 - one spec must not end the matrix; its own rows report the error
        return ()


def run_conventions(spec, backend):
    """``twin_conventions`` for a training run's spec (any ``ModelSpec``), ``TRAINING_ONLY`` ones included; none
    where its float64 twin raises (the run's own row reports it)."""
    try:
        return _changing(spec, backend, {**BACKENDS, **TRAINING_ONLY})
    except Exception:  # noqa: BLE001 - one run must not end the backend's training process
        return ()
