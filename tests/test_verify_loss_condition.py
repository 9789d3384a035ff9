"""verify judges a step's loss on the scale of its sensitivity to the outputs (parity/verify/loss_condition.py):
near a fit the loss cancels (an MSE of residual r is r^2), so float32 round-off in the outputs gives a relative
loss difference of ~eps |y_pred| / r, which an rtol on |L| alone calls a failure; the step's gradients (2 r / n
for an MSE) cancel the same way (near_fit_shares)."""
import numpy as np
import pytest

keras = pytest.importorskip("keras")

from parity import from_keras, verify  # noqa: E402
import numpy_models as nm  # noqa: E402
from parity.verify.loss_condition import loss_condition, near_fit_shares  # noqa: E402

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


def test_near_a_fit_an_mse_floors_each_gradient_at_the_share_the_outputs_difference_explains():
    model, x, y = _near_fit(1e-3)
    twin = from_keras(model)
    y_pred = twin.forward(x, training=True)
    twin.backward_loss(twin.loss, y, y_pred)
    before, output_grads = {k: g.copy() for k, g in twin.grads.items()}, twin.output_grads
    y_keras = y_pred + np.random.default_rng(1).standard_normal(y_pred.shape).astype(y_pred.dtype) * 1e-7
    shares = near_fit_shares(twin, y, y_pred, [y_keras])
    # out/bias sums dL/dy_pred over the batch: the MSE's 2 (y_keras - y_twin) / n summed per unit, twice
    explained = (2 * (y_keras.astype(np.float64) - y_pred) / y_pred.size).sum(axis=0)
    assert shares["out/bias"] == pytest.approx(2 * np.abs(explained).max(), rel=1e-4)
    assert set(shares) == set(before)
    # the step's own backward is left as it was: gradients bit for bit, the per-node gradients the same
    assert all(np.array_equal(twin.grads[k], g) for k, g in before.items()) and twin.output_grads is output_grads


def test_no_loss_but_an_mse_gets_near_fit_shares():
    # a kink (MAE) or a clip (a cross-entropy's) moves the gradient by its own size at a fit: no floor may hide that
    keras.utils.set_random_seed(0)
    x_in = keras.Input((4,))
    model = keras.Model(x_in, [L.Dense(2, name="a")(x_in), L.Dense(1, activation="sigmoid", name="b")(x_in)])
    model.compile(loss=["mae", "binary_crossentropy"], optimizer="sgd")
    twin = from_keras(model)
    x = np.random.default_rng(0).standard_normal((8, 4)).astype("float32")
    y_pred = twin.forward(x, training=True)
    assert near_fit_shares(twin, [y_pred[0], np.ones_like(y_pred[1])], y_pred, [y + 1e-3 for y in y_pred]) == {}


def _slipped(loss_class, factor):
    """``loss_class`` whose dL/dp (and dL/d(logits), where it reads logits) is ``factor`` times the true one: a
    subclass, so that verify treats it as the loss it slips."""

    class Slipped(loss_class):
        def logit_values_and_grads(self, y_true, logits):
            values, grads = super().logit_values_and_grads(y_true, logits)
            return values, grads * factor

        def values_and_grads(self, y_true, y_pred):
            values, grads = super().values_and_grads(y_true, y_pred)
            return values, grads * factor

    return Slipped()


def test_a_slipped_loss_gradient_fails_with_a_saturated_sample():
    # review, session 28: a floor measured by moving the outputs by rtol crossed the cross-entropy's clip at
    # p = 1 - 1e-7 and judged every gradient at ~0.19 of its size: this twin PASSED
    keras.utils.set_random_seed(0)
    x_in = keras.Input((4,))
    model = keras.Model(x_in, L.Dense(1, activation="sigmoid", name="out")(L.Dense(5, name="hidden")(x_in)))
    model.compile(loss="binary_crossentropy", optimizer="adam")
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((8, 4)).astype("float32"), rng.integers(0, 2, (8, 1)).astype("float32")
    x[0] *= 40.0 / abs(float(model(x[:1]).numpy().ravel()[0] - 0.5) + 1e-3)  # a large logit: sigmoid ~ 1.0
    y[0] = 1.0
    twin = from_keras(model)
    twin.loss = _slipped(nm.losses.BinaryCrossentropy, 1.03)
    found = verify(model, x, y, twin=twin, steps=3).divergence["training"]
    assert (found["step"], found["phase"]) == (1, "gradient"), found


def test_near_a_fit_a_slipped_mse_gradient_still_fails():
    # the random-upstream gradient check never sees the loss's gradient: only the steps do, on the near-fit floors
    model, x, y = _near_fit(1e-3)
    twin = from_keras(model)
    twin.loss = _slipped(nm.losses.MeanSquaredError, 1.001)  # 0.1% off
    found = verify(model, x, y, batch=1, twin=twin).divergence["training"]
    assert (found["step"], found["phase"]) == (1, "gradient"), found


def test_an_mse_heads_floor_does_not_hide_a_slip_of_another_heads_loss_on_shared_weights():
    # review, session 28: floors of what moving the outputs by rtol implies let this slip through `trunk`; the
    # floors are now the share the outputs' measured difference explains
    keras.utils.set_random_seed(0)
    x_in = keras.Input((6,))
    trunk = L.Dense(4, name="trunk")(x_in)
    model = keras.Model(x_in, [L.Dense(1, name="reg", bias_initializer=keras.initializers.Constant(300.0))(trunk),
                               L.Softmax(name="cls")(trunk)])
    model.compile(loss=["mse", "categorical_crossentropy"], optimizer="sgd")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 6)).astype("float32")
    y = [model.predict(x, verbose=0)[0] + 0.03, np.eye(4, dtype="float32")[rng.integers(0, 4, 8)]]
    assert verify(model, x, y, steps=3).passed
    twin = from_keras(model)
    twin.loss = [nm.losses.MeanSquaredError(), _slipped(nm.losses.CategoricalCrossentropy, 1.005)]
    found = verify(model, x, y, twin=twin, steps=3).divergence["training"]
    assert (found["step"], found["phase"], found["tensor"]) == (1, "gradient", "trunk/kernel"), found
