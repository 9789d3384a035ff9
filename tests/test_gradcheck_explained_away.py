"""A cause that explains a failure away (loss_epsilon: the gradient is right for the loss without its log
epsilon) must cover every check that failed (review, session 24): NumPy only.

- a failing element whose numeric gradient is NaN at every step: nothing checked it, the parameter fails;
- a kink outside its subgradient interval and a random direction that disagrees (a bug in elements not
  sampled) are rechecked against the loss without the epsilon: a real bug there fails, correct code passes;
- a hypothesis whose prediction holds NaN fits nothing (``NaN > FIT`` is False).
"""
import importlib

import numpy as np
import pytest

from parity import gradcheck_net
from parity.gradcheck.causes import Evidence, diagnose
from tests import textbook_layers as tb

probing = importlib.import_module("parity.gradcheck.probing")  # ``parity.gradcheck.gradcheck`` shadows the name


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


def _data(rng, n, d, k):
    return rng.standard_normal((n, d)), np.eye(k)[rng.integers(0, k, n)]


class ScaledUnsampled(tb.TwoLayerNet):
    """dW1 times ``factor`` at ``mask`` (elements the coordinate probes do not sample)."""

    mask, factor = None, 1.0

    def gradient(self, x, t):
        grads = super().gradient(x, t)
        grads["W1"] = np.where(self.mask, self.factor * grads["W1"], grads["W1"])
        return grads


def _unsampled_mask(monkeypatch, x, t):
    """5% of W1's elements, none sampled by the coordinate probes, all small enough to leave the argmax alone."""
    seen, original = [], probing.sample_coordinates
    monkeypatch.setattr(probing, "sample_coordinates", lambda a, k, rng: seen.append(original(a, k, rng)) or seen[-1])
    net = ScaledUnsampled(200, 50, 10, seed=1)
    net.mask = np.zeros((200, 50), dtype=bool)
    grad = net.gradient(x, t)["W1"]
    gradcheck_net(net, x, t)
    monkeypatch.undo()
    mask = np.random.default_rng(5).random(grad.size) < 0.05
    mask[seen[0]] = False
    return mask.reshape(grad.shape) & (np.abs(grad) < 0.15 * np.abs(grad).max())


def test_a_bug_only_the_random_direction_sees_is_not_explained_away(monkeypatch):
    x, t = _data(np.random.default_rng(0), 20, 200, 10)  # std-0.5 weights: tiny probabilities, loss_epsilon
    mask = _unsampled_mask(monkeypatch, x, t)
    results = {}
    for factor in (1.0, 5.0):
        net = ScaledUnsampled(200, 50, 10, seed=1)
        net.mask, net.factor = mask, factor
        results[factor] = gradcheck_net(net, x, t)
    correct, buggy = results[1.0], results[5.0]
    assert correct.ok and correct["W1"].likely_cause.name == "loss_epsilon", str(correct)
    assert not correct["W1"].direction["ok"], str(correct)  # the epsilon moves it: rechecked without it
    assert buggy.failed == ["W1"], str(buggy)
    cause = buggy["W1"].likely_cause
    assert cause.name == "unexplained" and not cause.explains_away and "random-direction" in cause.evidence, str(buggy)


class ReluTripleAtZero(tb.Relu):
    """ReLU whose backward passes 3 x dout where the input is exactly 0: outside the subgradient interval."""

    def forward(self, x):
        self.at_zero = x == 0
        return super().forward(x)

    def backward(self, dout):
        return np.where(self.at_zero, 3 * dout, super().backward(dout))


@pytest.mark.parametrize("scale", [1.0, 3.0], ids=["epsilon_negligible", "tiny_probabilities"])
def test_a_wrong_gradient_at_a_kink_is_not_explained_away_by_the_loss_epsilon(scale):
    results = {}
    for relu in (tb.Relu, ReluTripleAtZero):
        net = tb.TwoLayerNet(8, 6, 4, seed=1)
        net.layers["Act"].__class__ = relu
        for key in ("W1", "W2"):
            net.params[key] *= scale  # in place: the layers share these arrays
        x, t = _data(np.random.default_rng(0), 5, 8, 4)
        x[0], net.params["b1"][2] = 0.0, 0.0  # hidden unit 2 of sample 0 sits exactly at the kink
        results[relu] = gradcheck_net(net, x, t)
    correct, buggy = results[tb.Relu], results[ReluTripleAtZero]
    assert correct.ok and correct["b1"].kinks == [(2,)], str(correct)
    if scale > 1:  # the epsilon moves the one-sided slopes past the analytic value: rechecked without it
        assert not correct["b1"].kink_checks[0]["ok"], str(correct)
        assert correct["b1"].likely_cause.name == "loss_epsilon", str(correct)
    assert buggy.failed == ["b1"], str(buggy)
    cause = buggy["b1"].likely_cause
    assert cause.name == "unexplained" and not cause.explains_away and "kink (2,)" in cause.evidence, str(buggy)
