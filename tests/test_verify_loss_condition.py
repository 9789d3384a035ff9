"""verify judges a step's loss on the scale of its sensitivity to the outputs (parity/verify/loss_condition.py):
near a fit the loss cancels (an MSE of residual r is r^2), so float32 round-off in the outputs gives a relative
loss difference of ~eps |y_pred| / r, which an rtol on |L| alone calls a failure; the step's gradients (2 r / n
for an MSE) cancel the same way (gradient_condition)."""
import numpy as np
import pytest

keras = pytest.importorskip("keras")

from parity import from_keras, verify  # noqa: E402
import numpy_models as nm  # noqa: E402
from parity.verify.loss_condition import gradient_condition, loss_condition  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
L = keras.layers


def _near_fit(residual):
    """A float32 Adam model whose targets are its own predictions plus ``residual``: the loss is ~residual^2."""
    keras.utils.set_random_seed(0)
    x = keras.Input((6,))
    h = L.LayerNormalization(name="ln")(L.Dense(6, activation="gelu", name="hidden")(x))
    model = keras.Model(x, L.Dense(2, name="out")(h))
    model.compile(loss="mse", optimizer="adam")
    data = np.random.default_rng(0).standard_normal((4, 6)).astype("float32")
    return model, data, model.predict(data, verbose=0) + residual


@pytest.mark.parametrize("residual", [1e-2, 1e-3])
def test_a_correct_float32_adam_run_near_a_fit_passes(residual):
    result = verify(*_near_fit(residual), batch=1)
    assert result.passed, str(result)


def test_an_output_slip_still_fails_the_loss_at_step_one():
    model, x, y = _near_fit(1e-3)
    twin = from_keras(model)
    twin.get_layer("out").params["bias"][...] += 1e-4  # outputs ~1 off by 1e-4: ten times the rtol
    found = verify(model, x, y, batch=1, twin=twin).divergence["training"]
    assert (found["step"], found["phase"]) == (1, "forward"), found


def test_the_condition_is_what_the_loss_moves_by_when_each_output_moves_by_its_size():
    model, x, y = _near_fit(1e-3)
    twin = from_keras(model)
    y_pred = twin.forward(x)
    expected = float(np.sum(np.abs(2 * (y_pred - y) / y.size * y_pred)))  # MSE: dL/dy_pred = 2 (y_pred - y) / n
    assert loss_condition(twin, y, y_pred) == pytest.approx(expected, rel=1e-6)


def test_near_a_fit_the_gradient_condition_is_the_outputs_size_over_the_residual():
    # MSE: dL/dy_pred = 2 (y_pred - y) / n moves by 2 rtol |y_pred| / n when the outputs move by rtol of their size
    model, x, y = _near_fit(1e-3)
    twin = from_keras(model)
    y_pred = twin.forward(x)
    expected = np.abs(y_pred).max() / np.abs(y_pred - y).max()
    assert expected > 100
    assert gradient_condition(twin, y, y_pred, 1e-5) == pytest.approx(expected, rel=1e-6)
    far = y_pred + 10.0  # residuals larger than the outputs: no cancellation to speak of
    assert gradient_condition(twin, far, y_pred, 1e-5) == 1.0


def test_a_cross_entropys_gradient_does_not_cancel():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), L.Dense(3, activation="softmax", name="out")])
    model.compile(loss="categorical_crossentropy", optimizer="sgd")
    twin = from_keras(model)
    x = np.random.default_rng(0).standard_normal((8, 4)).astype("float32")
    y = np.eye(3)[np.random.default_rng(1).integers(0, 3, 8)].astype("float32")
    assert gradient_condition(twin, y, twin.forward(x), 1e-5) == 1.0  # its gradient itself is the scale


class _SlippedHiddenKernel(nm.Dense):
    """A Dense whose kernel gradient is 0.1% off."""

    def backward_call(self, dout):
        dx = super().backward_call(dout)
        self.grads["kernel"] *= 1 + 1e-3
        return dx


def test_near_a_fit_a_slipped_kernel_gradient_still_fails():
    # the step's gradients are judged on ~1000x their size here; the gradient check with a random upstream is not
    model, x, y = _near_fit(1e-3)
    twin = from_keras(model)
    twin.get_layer("hidden").__class__ = _SlippedHiddenKernel
    result = verify(model, x, y, batch=1, twin=twin)
    assert not result.passed
    failed = [r for r in result.gradients if not r["passed"]]
    assert [r["tensor"] for r in failed] == ["hidden/kernel"], str(result)
