"""Kinks: the subgradient interval rule at coordinates, and kink-aware direction probes."""
import numpy as np

from parity import gradcheck
from parity.gradcheck.kinks import check_kink, locate_kinks, one_sided_interval
from tests import textbook_layers as tb


class ReluWrongAtZero(tb.Relu):
    """Passes 2 * dout where x == 0: outside the subgradient interval [0, dout]."""

    def backward(self, dout):
        return np.where(self.mask, 0.0, dout) + np.where(self.x_zero, 2 * dout, 0.0)

    def forward(self, x):
        self.x_zero = x == 0
        return super().forward(x)


def _abs_objective(w):
    return lambda: (float(np.sum(np.abs(w))), [])


def test_one_sided_interval_of_abs_at_zero_is_minus_one_to_one():
    w = np.array([0.0, 2.0])
    lo, hi, _ = one_sided_interval(_abs_objective(w), w, 0, 1e-3, 2.0, 1e-8)
    assert abs(lo + 1) < 1e-6 and abs(hi - 1) < 1e-6


def test_interval_rule_accepts_any_subgradient_and_refuses_values_outside():
    w = np.array([0.0, 2.0])
    results = {a: check_kink(_abs_objective(w), w, 0, a, 1e-3, 2.0, 1e-8)["ok"] for a in (-1.0, 0.0, 0.7, 1.0, 1.5)}
    assert results == {-1.0: True, 0.0: True, 0.7: True, 1.0: True, 1.5: False}


def test_relu_after_relu_passes_with_its_exact_zeros_checked_by_the_interval_rule():
    x = np.maximum(np.random.default_rng(0).standard_normal((4, 6)), 0)  # 24 elements: every one probed
    result = gradcheck(tb.Relu(), x)
    assert result.ok, str(result)
    zeros = {tuple(int(i) for i in ix) for ix in np.argwhere(x == 0)}
    assert set(result["dx"].kinks) == zeros and all(k["resolved"] and k["ok"] for k in result["dx"].kink_checks)


def test_a_wrong_value_at_the_kink_is_caught_by_the_interval_rule():
    x = np.maximum(np.random.default_rng(1).standard_normal((3, 5)), 0)
    result = gradcheck(ReluWrongAtZero(), x)
    assert result.failed == ["dx"] and any(not k["ok"] for k in result["dx"].kink_checks), str(result)


def test_direction_through_one_kink_is_reprobed_without_it():
    x = np.random.default_rng(2).standard_normal((8, 10))
    x[3, 4] = 0.0  # one exact kink among 80 elements
    result = gradcheck(tb.Relu(), x)
    d = result["dx"].direction
    assert result.ok and d["kink_handling"] == "reprobed_without_kinks" and d["removed_coordinates"] == 1, str(result)


def test_direction_through_many_kinks_falls_back_to_more_coordinates():
    x = np.maximum(np.random.default_rng(3).standard_normal((10, 12)), 0)  # ~60 exact zeros
    result = gradcheck(tb.Relu(), x)
    d = result["dx"].direction
    assert result.ok and d["kink_handling"] == "coordinate_fallback" and d["extra_coordinates"] == 30, str(result)
    assert "kinks: coordinate_fallback" in str(result)


def test_a_wrong_gradient_is_still_caught_when_the_direction_falls_back():
    x = np.maximum(np.random.default_rng(4).standard_normal((10, 12)), 0)
    result = gradcheck(tb.SignError(np.eye(12), np.zeros(12)), x)
    assert "dx" in result.failed


def test_locate_kinks_finds_the_kinked_coordinates_of_a_direction():
    w = np.array([0.0, 1.0, -2.0, 0.0, 3.0])
    v = np.ones(5) / np.sqrt(5)
    assert sorted(locate_kinks(_abs_objective(w), w, v, 1e-3, float(np.abs(w).sum()))) == [0, 3]
