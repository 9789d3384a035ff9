"""Finite differences at the edge of the forward's domain (review, session 24): NumPy only.

- an element whose numeric gradient is NaN at the default step (sqrt of x - h < 0) but agrees at a smaller
  step of the sweep is ok, and its error is reported at that step: never ``ok`` next to ``max_abs=inf``;
- a wrong gradient at the edge still fails. Explaining a NaN away: tests/test_gradcheck_explained_away.py.
"""
import json

import numpy as np

from parity import gradcheck
from parity.gradcheck.checker import DEFAULTS
from parity.gradcheck.finite_differences import SWEEP


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
