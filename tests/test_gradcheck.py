"""The gradient checker: flags every broken layer naming the right parameter, never flags a correct one."""
import json

import numpy as np
import pytest

import numpy_models as nm
from parity import assert_gradients_ok, gradcheck, gradcheck_net
from tests import textbook_layers as tb


def _make(cls, rng, n=5, d=4):
    if issubclass(cls, tb.Affine):
        return cls(rng.standard_normal((d, d)), rng.standard_normal(d)), rng.standard_normal((n, d))
    if issubclass(cls, tb.Dropout):
        return cls(0.5), rng.standard_normal((n, d))
    return cls(), rng.standard_normal((n, d))


@pytest.mark.parametrize("cls", tb.BROKEN_LAYERS, ids=lambda c: c.__name__)
def test_broken_layer_is_flagged_and_the_parameter_named(cls):
    layer, x = _make(cls, np.random.default_rng(0))
    result = gradcheck(layer, x, strict=cls.MUST_NAME == "dout")  # a hazard fails only in strict mode
    assert not result.ok
    if cls.MUST_NAME == "dout":
        assert any("dout" in h for h in result.hazards) and "HAZARD" in str(result), str(result)
    else:
        assert cls.MUST_NAME in result.failed, str(result)
        assert set(result.failed) <= {cls.MUST_NAME, "dx"}, str(result)  # dx may follow from a wrong W


@pytest.mark.parametrize("cls", tb.BROKEN_NETS, ids=lambda c: c.__name__)
def test_broken_net_is_flagged_and_the_parameters_named(cls):
    rng = np.random.default_rng(1)
    net = cls(6, 5, 3, seed=1, activation=tb.Sigmoid)
    x, t = rng.standard_normal((8, 6)), np.eye(3)[rng.integers(0, 3, 8)]
    result = gradcheck_net(net, x, t)
    assert set(result.failed) == set(cls.MUST_NAME), str(result)


def test_report_names_worst_elements_with_indices_and_both_values():
    layer, x = _make(tb.TransposedGradient, np.random.default_rng(0))
    text = str(gradcheck(layer, x))
    assert "W: FAILED" in text and "analytic=" in text and "numeric=" in text and "at (" in text
    assert "step sweep" in text  # the sweep shows a real bug is wrong at every step


def test_result_is_data_and_serialises_to_json():
    layer, x = _make(tb.TransposedGradient, np.random.default_rng(0))
    result = gradcheck(layer, x)
    data = json.loads(result.to_json())
    assert data["ok"] is False and {p["name"] for p in data["params"]} == {"W", "b", "dx"}
    assert result["W"].max_rel > 0.1 and result["b"].ok


def test_assert_gradients_ok_raises_with_the_report():
    layer, x = _make(tb.SignError, np.random.default_rng(0))
    with pytest.raises(AssertionError, match="dx: FAILED"):
        assert_gradients_ok(layer, x)
    good, x = _make(tb.Affine, np.random.default_rng(0))
    assert assert_gradients_ok(good, x).ok


def test_relu_kinks_are_checked_by_the_interval_rule_not_failed():
    """Inputs within 1e-9 of zero straddle the kink even at the smallest retry step (1e-6)."""
    x = np.array([[1e-9, -2e-9, 0.5, -0.5], [3e-10, 1.0, -1.0, -4e-10]])
    result = gradcheck(tb.Relu(), x)
    assert result.ok, str(result)
    assert set(result["dx"].kinks) == {(0, 0), (0, 1), (1, 0), (1, 3)} and "subgradient interval rule, 0 outside" in str(result)


def test_kinks_a_smaller_step_resolves_are_checked_not_excluded():
    x = np.array([[1e-5, -2e-5, 0.5], [3e-6, 1.0, -4e-6]])
    result = gradcheck(tb.Relu(), x)
    assert result.ok and result["dx"].kinks == [] and result["dx"].checked == 6


def test_max_pool_kinks_from_the_branch_signature():
    x = np.zeros((1, 4, 4, 1))
    x[0, 0, 1, 0] = 1e-5  # two near-ties within +-h
    result = gradcheck(nm.MaxPooling2D(2), x)
    assert result.ok, str(result)
    assert result["dx"].kinks


def test_textbook_dropout_masks_are_held_fixed():
    result = gradcheck(tb.Dropout(0.5), np.random.default_rng(0).standard_normal((6, 5)))
    assert result.ok, str(result)


def test_the_callers_layer_and_batch_statistics_are_untouched():
    layer = nm.BatchNormalization(dtype="float64")
    layer.build((None, 3))
    before = {k: v.copy() for k, v in layer.state.items()}
    gradcheck(layer, np.random.default_rng(0).standard_normal((6, 3)))
    assert all(np.array_equal(layer.state[k], v) for k, v in before.items())


def test_a_layer_that_computes_in_float32_is_reported():
    class Float32Affine(tb.Affine):
        def forward(self, x):
            return super().forward(x).astype(np.float32)

    layer, x = _make(Float32Affine, np.random.default_rng(0))
    result = gradcheck(layer, x)
    assert not result.ok and any("silent downcast" in e for e in result.errors)


def test_a_layer_returning_a_view_of_its_input_is_handled():
    class Reshape:
        def forward(self, x):
            self.shape = x.shape
            return x.reshape(x.shape[0], -1)  # a view

        def backward(self, dout):
            return dout.reshape(self.shape)

    assert gradcheck(Reshape(), np.random.default_rng(0).standard_normal((2, 3, 4))).ok


def test_backward_modifying_its_saved_input_is_reported():
    class Clobbers(tb.Affine):
        def backward(self, dout):
            dx = super().backward(dout)
            self.x *= 0
            return dx

    layer, x = _make(Clobbers, np.random.default_rng(0))
    assert any("saved input" in h for h in gradcheck(layer, x).hazards)


def test_float32_layers_are_checked_in_float64():
    layer = nm.Dense(3, activation="tanh")  # float32 by default
    layer.build((None, 4), np.random.default_rng(0))
    result = gradcheck(layer, np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32))
    assert result.ok and any("float64" in n for n in result.notes)


def test_clear_errors_for_things_that_cannot_be_checked():
    with pytest.raises(TypeError, match=r"expected an object with forward\(x\) and backward\(dout\).*without backward"):
        gradcheck(object.__new__(type("OnlyForward", (), {"forward": lambda self, x: x})), np.ones((2, 2)))
    layer = nm.Dense(3)
    layer.build((None, 4))
    with pytest.raises(ValueError, match=r"forward\(x\) of Dense failed for x.shape=\(2, 5\).*expected shape \(None, 4\)"):
        gradcheck(layer, np.ones((2, 5)))

    class HiddenGrad(tb.Affine):
        def backward(self, dout):
            self.grad_W = self.x.T @ dout
            return dout @ self.W.T

    with pytest.raises(ValueError, match=r"holds arrays \['W', 'b'\] but no gradient"):
        gradcheck(HiddenGrad(np.ones((2, 2)), np.ones(2)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="parameter 'V' was named"):
        gradcheck(tb.Affine(np.ones((2, 2)), np.ones(2)), np.ones((3, 2)), params=["V"])
    with pytest.raises(TypeError, match="unknown option"):
        gradcheck(tb.Relu(), np.ones((2, 2)), tolerance=1)
    with pytest.raises(TypeError, match=r"gradcheck_net: expected a network with a `params` dict"):
        gradcheck_net(tb.Relu(), np.ones((2, 2)), np.ones((2, 2)))
