"""probability_crossentropy: the twin's cross-entropy from the probabilities, as Keras's on JAX and PyTorch.

Checked against Keras's own loss and gradient on each backend (an independent
reference: its ``sparse_categorical_crossentropy`` differentiated by JAX or
PyTorch), against TensorFlow's rule it replaces, and on a training run it
explains (``deep_mlps``' BatchNormalization + SGD run, two epochs).
"""
import numpy as np
import pytest

import numpy_models
from numpy_models import conventions, losses
from parity.checks.backend_conventions import run_conventions
from parity.checks.backend_variants import switched_on
from parity.report.experiment_backends import FIRST
from parity.tolerances import tolerance

LABELS = np.array([3, 1, 2, 5])
BACKENDS = [pytest.param(b, marks=pytest.mark.xdist_group(f"backend_{b}"), id=b) for b in ("jax", "torch")]


def _probabilities():
    """Softmax rows; the first predicts its label at 1 - 2e-9, past Keras's clip at 1 - 1e-7."""
    z = np.random.default_rng(0).standard_normal((4, 10))
    z[0, 3] = 22.0
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _keras_loss_and_gradient(backend, labels, probabilities):
    """In a ``backend`` process: Keras's mean sparse cross-entropy of the probabilities and its gradient."""
    import keras_models.backend  # noqa: F401  (JAX's x64 before any array exists)
    from keras import losses as keras_losses

    if backend == "jax":
        import jax

        value, grad = jax.value_and_grad(lambda p: keras_losses.sparse_categorical_crossentropy(labels, p).mean())(
            jax.numpy.asarray(probabilities))
        return float(value), np.asarray(grad)
    import torch

    p = torch.tensor(probabilities, requires_grad=True)
    value = keras_losses.sparse_categorical_crossentropy(torch.tensor(labels), p).mean()
    value.backward()
    return value.item(), p.grad.numpy()


def _assert_keras_rule(backend):
    from parity.checks.backends import run_on

    p = _probabilities()
    value, grad = run_on(backend, _keras_loss_and_gradient, backend, LABELS, p, reuse=True)
    loss = losses.SparseCategoricalCrossentropy()
    tf_value = loss(LABELS, p)  # TensorFlow's rule for bare probabilities: clip, log, renormalise
    with switched_on("probability_crossentropy"):
        mine, my_grad = loss.value_and_gradient(LABELS, p)
    rtol = tolerance("float64", "keras").rtol
    np.testing.assert_allclose(mine, value, rtol=rtol)
    np.testing.assert_allclose(my_grad, grad, rtol=rtol, atol=rtol * np.abs(grad).max())
    assert abs(tf_value - value) > 1e3 * rtol * abs(value)  # where the clip acts


@pytest.mark.parametrize("backend", BACKENDS)
def test_sparse_crossentropy_is_the_backends_own_with_the_convention_switched(backend):
    pytest.importorskip(backend, reason=f"{backend} is not installed: pip install -e '.[{backend}]'")
    _assert_keras_rule(backend)


def _softmax_model():
    model = numpy_models.Sequential([numpy_models.Dense(10, activation="softmax", name="out")], dtype="float64")
    return model.build((None, 6), seed=0)


def test_a_softmax_model_reads_its_logits_by_default_and_the_probabilities_when_switched():
    model, loss = _softmax_model(), losses.SparseCategoricalCrossentropy()
    x = np.random.default_rng(1).standard_normal((4, 6)) * 8  # confident predictions: the clip acts
    p = model.forward(x, training=False)
    with conventions.conventions(cached_logits=False):
        assert not loss.uses_logits_of("softmax")
        np.testing.assert_array_equal(model.compute_loss(loss, LABELS, p), loss(LABELS, p))
    assert loss.uses_logits_of("softmax") and conventions.cached_logits()  # restored
    assert model.compute_loss(loss, LABELS, p) != loss(LABELS, p)  # the logits path: no clip
    categorical = losses.CategoricalCrossentropy()(np.eye(10)[LABELS], p)
    with conventions.conventions(cached_logits=False):  # JAX's sparse path is the categorical one
        np.testing.assert_array_equal(loss(LABELS, p), categorical)


def test_the_convention_is_measured_on_a_runs_spec_and_not_offered_to_tensorflow():
    from parity.training.experiments import _deep_mlp

    assert run_conventions(_deep_mlp(64, "bn"), "jax") == ("probability_crossentropy",)
    assert run_conventions(_deep_mlp(64, "dropout_l2"), "torch") == ("exact_constants", "probability_crossentropy")
    assert run_conventions(_deep_mlp(64, "bn"), "tensorflow") == ()


def _bn_sgd_drifts(epochs):
    """In a backend process: deep_mlps' BatchNormalization + SGD run's largest step-loss drift, per variant."""
    from parity.training.datasets import load_digits
    from parity.training.experiments import _deep_mlp, _sgd
    from parity.training.loop import step_drift, train_both

    data, out = load_digits(0).flattened(), {}
    for variant in (FIRST, f"{FIRST}+probability_crossentropy"):
        with switched_on(variant):
            run = train_both("mlp_bn_sgd", _deep_mlp(64, "bn"), _sgd(0.1, momentum=0.9), data, epochs, 64, "float64")
        out[variant] = float(step_drift(run).max())
    return out


def _assert_explains_bn_sgd(backend):
    from parity.checks.backends import run_on

    drifts = run_on(backend, _bn_sgd_drifts, 2, reuse=True)
    tol = tolerance("float64", "training").rtol
    assert drifts[FIRST] > tol, drifts  # confident predictions clipped on the backend only
    assert drifts[f"{FIRST}+probability_crossentropy"] <= tol, drifts


@pytest.mark.parametrize("backend", BACKENDS)
def test_probability_crossentropy_explains_the_bn_sgd_runs_drift(backend):
    pytest.importorskip(backend, reason=f"{backend} is not installed: pip install -e '.[{backend}]'")
    _assert_explains_bn_sgd(backend)
