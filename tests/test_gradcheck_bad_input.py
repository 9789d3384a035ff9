"""What gradcheck and gradcheck_net must never pass (user walkthrough, session 24): NumPy only.

- NaN or Inf in a weight, an input, a target, a forward output, a loss or a gradient: a clear error or a
  failure, never ok (NaN compares unequal to everything, so a bound test ``err <= bound`` passed it);
- a gradient backward() never set (dW still None, a grads key missing): FAILED, naming the parameter;
- integer parameter arrays: checked in float64 like float32 ones (a truncated step gave a false FAILED);
- an empty batch: refused;
- a correct zero-gradient bias (before BatchNorm) says why its max_rel of ~1 means nothing.
"""
import numpy as np
import pytest

from parity import assert_gradients_ok, gradcheck, gradcheck_net
from tests import textbook_layers as tb


def _rng(seed=0):
    return np.random.default_rng(seed)


def _affine(w=None, b=None):
    rng = _rng()
    return tb.Affine(rng.standard_normal((4, 3)) if w is None else w, rng.standard_normal(3) if b is None else b)


def _x(n=5):
    return _rng(1).standard_normal((n, 4))


def _net_and_data(net_cls=tb.TwoLayerNet):
    net = net_cls(4, 3, 2)
    return net, _x(), np.eye(2)[[0, 1, 0, 1, 0]]


class WrongBackward:
    """fn(x) with a wrong backward (7 * dout): log on negative inputs is NaN everywhere; sqrt on inputs so close
    to 0 that every step of a probe leaves its domain is NaN next to x."""

    def __init__(self, fn):
        self.fn = fn

    def forward(self, x):
        with np.errstate(invalid="ignore"):
            return self.fn(x)

    def backward(self, dout):
        return 7.0 * dout


class ForgetsWeightGradient(tb.Affine):
    """backward sets db but never dW (still None from __init__)."""

    def backward(self, dout):
        self.db = dout.sum(axis=0)
        return dout @ self.W.T


class DictForgetsBias:
    """params/grads dicts; backward never writes grads['b']."""

    def __init__(self):
        self.params, self.grads = {"W": _rng().standard_normal((4, 3)), "b": np.zeros(3)}, {}

    def forward(self, x):
        self.x = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, dout):
        self.grads["W"] = self.x.T @ dout
        return dout @ self.params["W"].T


class HoldsAnUnpairedArray(tb.Affine):
    """Affine plus a scale array ``s`` forward uses in place but whose gradient backward() never computes."""

    def __init__(self, W, b):
        super().__init__(W, b)
        self.s = np.full(W.shape[1], 2.0)

    def forward(self, x):
        return super().forward(x) * self.s

    def backward(self, dout):
        return super().backward(dout * self.s)


@pytest.mark.parametrize("where", ["W", "b"])
def test_a_nan_weight_is_refused_naming_the_parameter_and_the_element(where):
    layer = _affine()
    getattr(layer, where).flat[1] = np.nan
    with pytest.raises(ValueError, match=rf"parameter Affine\.{where} contains NaN or Inf .*first at index"):
        gradcheck(layer, _x())


def test_an_inf_weight_of_a_net_is_refused_naming_its_key():
    net, x, t = _net_and_data()
    net.params["W2"][0, 1] = np.inf
    with pytest.raises(ValueError, match=r"parameter params\['W2'\] contains NaN or Inf.*index \(0, 1\)"):
        gradcheck_net(net, x, t)


def test_a_nan_target_is_refused():
    net, x, t = _net_and_data(tb.MissingOneOverN)
    t[0, 0] = np.nan
    with pytest.raises(ValueError, match=r"gradcheck_net: t contains NaN or Inf.*index \(0, 0\)"):
        gradcheck_net(net, x, t)


def test_a_nan_input_is_refused_with_its_position():
    x = _x()
    x[2, 3] = np.inf
    with pytest.raises(ValueError, match=r"x contains NaN or Inf .*first at index \(2, 3\)"):
        gradcheck(_affine(), x)


def test_a_forward_output_with_nan_fails_the_check_and_says_where():
    result = gradcheck(WrongBackward(np.log), -np.abs(_x()) - 0.5)
    assert not result.ok
    assert any("forward(x) returned NaN or Inf" in e and "index (0, 0)" in e for e in result.errors), str(result)
    with pytest.raises(AssertionError, match="returned NaN or Inf"):
        assert_gradients_ok(result)


def test_a_loss_that_is_not_finite_fails_the_net_check():
    class InfiniteLoss(tb.TwoLayerNet):
        def loss(self, x, t):
            return super().loss(x, t) + np.inf

    net, x, t = _net_and_data(InfiniteLoss)
    result = gradcheck_net(net, x, t)
    assert not result.ok and any("loss(x, t) = inf" in e for e in result.errors), str(result)


def test_a_numeric_gradient_that_is_nan_at_every_step_fails_with_its_cause():
    result = gradcheck(WrongBackward(np.sqrt), np.full((2, 3), 1e-12))
    assert result.failed == ["dx"], str(result)
    assert result["dx"].likely_cause.name == "nonfinite_numeric"


def test_an_analytic_gradient_with_nan_fails_naming_it():
    class NanGradient(tb.Affine):
        def backward(self, dout):
            dx = super().backward(dout)
            self.dW[0, 0] = np.nan
            return dx

    result = gradcheck(NanGradient(*_weights()), _x())
    assert result.failed == ["W"] and "NanGradient.dW contains NaN or Inf" in result["W"].gradient_error, str(result)


def _weights():
    rng = _rng()
    return rng.standard_normal((4, 3)), rng.standard_normal(3)


def test_a_weight_gradient_backward_never_set_fails_naming_it():
    result = gradcheck(ForgetsWeightGradient(*_weights()), _x())
    assert result.failed == ["W"], str(result)
    assert "dW is None or missing" in str(result)
    with pytest.raises(AssertionError, match="W: FAILED"):
        assert_gradients_ok(ForgetsWeightGradient(*_weights()), _x())


def test_a_grads_key_backward_never_wrote_fails_naming_it():
    result = gradcheck(DictForgetsBias(), _x())
    assert result.failed == ["b"] and "grads['b'] is None or missing" in str(result), str(result)


def test_an_array_without_a_gradient_attribute_is_a_hazard_not_a_silent_skip():
    result = gradcheck(HoldsAnUnpairedArray(*_weights()), _x())
    assert [h.split(":")[0] for h in result.hazards] == ["s"], str(result)
    assert not gradcheck(HoldsAnUnpairedArray(*_weights()), _x(), strict=True).ok


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8])
def test_integer_parameters_are_checked_in_float64(dtype):
    layer = _affine(np.arange(12).reshape(4, 3).astype(dtype) % 3, np.zeros(3, dtype=dtype))
    result = gradcheck(layer, _x())
    assert result.ok and not result.hazards, str(result)
    assert any("integer parameter(s) W, b" in n for n in result.notes), str(result)
    assert layer.W.dtype == dtype  # the user's object is untouched


def test_a_planted_bug_with_integer_parameters_is_still_caught():
    class NoBias(tb.Affine):
        def backward(self, dout):
            dx = super().backward(dout)
            self.db = np.zeros_like(self.db)
            return dx

    result = gradcheck(NoBias(np.ones((4, 3), dtype=int), np.zeros(3, dtype=int)), _x())
    assert result.failed == ["b"], str(result)


def test_integer_net_parameters_are_checked_in_float64():
    net, x, t = _net_and_data()
    for key, layer in (("W1", "Affine1"), ("W2", "Affine2")):
        net.params[key] = np.round(3 * net.params[key]).astype(int)
        net.layers[layer].W = net.params[key]  # the layers share the arrays of params, as the textbook's do
    result = gradcheck_net(net, x, t)
    assert result.ok, str(result)
    assert any("integer parameter(s) W1, W2" in n for n in result.notes), str(result)


@pytest.mark.parametrize("shape", [(0, 4), (3, 0)])
def test_an_empty_batch_is_refused(shape):
    with pytest.raises(ValueError, match=rf"x is empty.*Received: x.shape=\({shape[0]}, {shape[1]}\)"):
        gradcheck(_affine(), np.zeros(shape))


def test_an_empty_batch_is_refused_by_the_net_check():
    net, _, _ = _net_and_data()
    with pytest.raises(ValueError, match=r"gradcheck_net: x is empty"):
        gradcheck_net(net, np.zeros((0, 4)), np.zeros((0, 2)))


def test_a_correct_zero_gradient_bias_explains_its_max_rel():
    class BiasBeforeCentering(tb.Affine):
        """x @ W + b, then each column centred: the bias has no effect, its true gradient is 0."""

        def forward(self, x):
            out = super().forward(x)
            return out - out.mean(axis=0)

        def backward(self, dout):
            return super().backward(dout - dout.mean(axis=0))

    result = gradcheck(BiasBeforeCentering(*_weights()), _x())
    assert result.ok, str(result)
    b_lines = [line for line in str(result).splitlines() if line.strip().startswith(("b:", "note: the true"))]
    assert "largest |gradient|" in b_lines[0] and "true gradient is ~0" in "\n".join(b_lines), str(result)
    assert "true gradient is ~0" not in "\n".join(result["W"].lines())


def test_element_and_header_relative_errors_are_labelled():
    result = gradcheck(tb.SignError(*_weights()), _x())
    text = "\n".join(result[tb.SignError.MUST_NAME].lines())
    assert "(= max_abs / " in text and ", the largest |gradient|)" in text
    assert "rel = |analytic - numeric| / max(|analytic|, |numeric|)" in text
