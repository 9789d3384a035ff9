"""Finite differences at the edge of the forward's domain (review, session 24): NumPy only.

- an element whose numeric gradient is NaN at the default step (sqrt of x - h < 0) but agrees at a smaller
  step of the sweep is ok, and its error is reported at that step: never ``ok`` next to ``max_abs=inf``;
- a failing element that is NaN is never explained away by a cause the other elements fit (loss_epsilon);
- a hypothesis whose prediction holds NaN fits nothing (``NaN > FIT`` is False).
"""
import json

import numpy as np

from parity import gradcheck, gradcheck_net
from parity.gradcheck.causes import Evidence, diagnose
from parity.gradcheck.checker import DEFAULTS
from parity.gradcheck.finite_differences import SWEEP
from tests import textbook_layers as tb


class Sqrt:
    """sqrt(x), correct backward."""

    def forward(self, x):
        with np.errstate(invalid="ignore"):
            self.y = np.sqrt(x)
        return self.y

    def backward(self, dout):
        return dout * 0.5 / self.y


class SqrtWrong(Sqrt):
    def backward(self, dout):
        return dout * 0.7 / self.y


def _near_zero():
    x = np.random.default_rng(0).random((2, 3)) + 0.5
    x[0, 0] = 2e-4  # within the default step of 0: f(x - h) is NaN
    return x


def test_an_element_nan_at_the_default_step_that_agrees_at_a_smaller_one_is_measured_there():
    result = gradcheck(Sqrt(), _near_zero())
    dx = result["dx"]
    assert result.ok and np.isfinite(dx.max_abs) and np.isfinite(dx.max_rel), str(result)
    [(index, h)] = dx.nonfinite_at_step
    assert index == (0, 0) and h in SWEEP and h < DEFAULTS["step"], str(result)
    [element] = [e for e in dx.worst if e.index == (0, 0)]
    assert element.step == h and np.isfinite(element.numeric) and element.abs_err <= dx.max_abs
    header = next(line for line in str(result).splitlines() if line.strip().startswith("dx:"))
    assert "inf" not in header and "NaN or Inf at the default step" in str(result), str(result)
    assert json.loads(result.to_json())["params"][0]["nonfinite_at_step"] == [[[0, 0], h]]


def test_a_wrong_gradient_at_the_edge_of_the_domain_still_fails():
    result = gradcheck(SqrtWrong(), _near_zero())
    assert result.failed == ["dx"] and result["dx"].nonfinite_at_step == [], str(result)


class GainNet:
    """scores = (x @ W) * sqrt(g), textbook -log(y + 1e-7) loss: g[0] = 0 sits at the edge of sqrt's domain
    (the loss is NaN for g[0] < 0 at every step); std-3 weights make the loss epsilon explain W and g[1:]."""

    def __init__(self, rng, d=12, k=5):
        self.params = {"W": 3.0 * rng.standard_normal((d, k)), "g": np.concatenate([[0.0], rng.uniform(1, 2, k - 1)])}
        self.last_layer = tb.SoftmaxWithLoss()

    def loss(self, x, t):
        self.z = x @ self.params["W"]
        with np.errstate(invalid="ignore"):
            return self.last_layer.forward(self.z * np.sqrt(self.params["g"]), t)

    def gradient(self, x, t):
        self.loss(x, t)
        ds, root = self.last_layer.backward(), np.sqrt(self.params["g"])
        dg = (ds * self.z).sum(axis=0) * 0.5 / np.where(root > 0, root, np.inf)  # 0 at g = 0, a choice
        return {"W": x.T @ (ds * root), "g": dg}


def test_a_failing_element_nan_at_every_step_is_never_explained_away():
    rng = np.random.default_rng(0)
    net = GainNet(rng)
    result = gradcheck_net(net, 3 * rng.standard_normal((8, 12)), np.eye(5)[rng.integers(0, 5, 8)])
    assert result["W"].ok and result["W"].likely_cause.name == "loss_epsilon", str(result)  # the others still fit
    assert result.failed == ["g"], str(result)
    cause = result["g"].likely_cause
    assert cause.name == "nonfinite_numeric" and not cause.explains_away and "loss_epsilon" in cause.evidence
    assert "g: FAILED" in str(result)


def test_a_hypothesis_whose_prediction_holds_nan_fits_nothing():
    analytic = np.random.default_rng(0).standard_normal(6)
    plain = analytic.copy()
    plain[0] = np.nan  # the loss without its epsilon fits every other element exactly
    ev = Evidence(plain_loss_numeric=lambda j: plain[j], epsilon=1e-7)
    cause = diagnose(analytic, np.ones(6), np.arange(6), 0.3 * analytic, ev)
    assert cause.name != "loss_epsilon" and not cause.explains_away, cause
