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
