"""A failing random-direction check names the elements behind it (walkthrough 25).

A 50x60 weight wrong in one element: the sampled coordinates miss it, the random direction catches it. The
report says the direction failed and by how much, names the element (found by bisecting the direction over
halves of the tensor), shows it among the worst elements and states one_element_wrong.
"""
import numpy as np

from parity import gradcheck
from tests import textbook_layers as tb

SLIP = (1, 2)  # the element dW gets wrong


class _OneSlip(tb.Affine):
    def backward(self, dout):
        dx = super().backward(dout)
        self.dW[SLIP] += 0.3
        return dx


def _result():
    layer = _OneSlip(np.random.default_rng(1).standard_normal((50, 60)), np.zeros(60))
    return gradcheck(layer, np.random.default_rng(0).standard_normal((40, 50)))


def test_a_wrong_element_the_sample_missed_is_named():
    result = _result()
    w = result["W"]
    assert result.failed == ["W"] and w.frac_failed == 0 and not w.direction["ok"], str(result)  # the sample missed it
    assert w.direction["located"] == [SLIP] and w.worst[0].index == SLIP, str(result)
    assert w.likely_cause.name == "one_element_wrong" and str(SLIP) in w.likely_cause.evidence


def test_the_report_says_the_direction_failed_and_where():
    text = str(_result())
    assert "W: FAILED (the random-direction check)" in text
    assert "random direction FAILED by |analytic - numeric| = " in text and f"direction: {SLIP}" in text


class _SmallKink:
    """y = x + 2e-3 relu(x): a correct layer whose kink at 0 has a slope jump too small next to the directional
    derivative for the curvature test, but not next to the tolerance: it biases the direction probe."""

    def forward(self, x):
        self.x = x
        return x + 2e-3 * np.maximum(x, 0)

    def backward(self, dout):
        return dout * (1 + 2e-3 * (self.x > 0))


def test_a_kink_the_direction_s_curvature_test_misses_is_located_and_removed():
    x = np.random.default_rng(0).standard_normal((8, 10))
    x[3, 4] = 0.0  # an exact kink, not among the sampled coordinates
    result = gradcheck(_SmallKink(), x)
    d = result["dx"].direction
    assert result.ok and d["kink_handling"] == "reprobed_without_kinks" and d["removed_coordinates"] == 1, str(result)
