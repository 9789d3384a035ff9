"""Likely causes: each hypothesis fits the pattern it names and no other (synthetic analytic/numeric arrays)."""
import numpy as np
import pytest

from parity import gradcheck
from parity.gradcheck.causes import Evidence, LikelyCause, diagnose, shape_cause
from tests import textbook_layers as tb

RNG = np.random.default_rng(0)
NUMERIC = RNG.standard_normal((6, 6))
WEIGHTS = RNG.standard_normal((6, 6))
ALL = np.arange(36)


def _cause(analytic, evidence=None, numeric=NUMERIC):
    return diagnose(analytic, WEIGHTS, ALL, numeric.reshape(-1), evidence or Evidence(batch=8, axis_sizes=(3, 5)))


@pytest.mark.parametrize("analytic, name", [
    (-NUMERIC, "sign"), (2 * NUMERIC, "factor_2"), (0.5 * NUMERIC, "factor_0.5"), (8 * NUMERIC, "missing_1/N"),
    (NUMERIC / 8, "extra_1/N"), (15 * NUMERIC, "sum_vs_mean"), (NUMERIC / 3, "sum_vs_mean"),
    (1.7 * NUMERIC, "constant_ratio"), (NUMERIC.T, "transposed"),
    (NUMERIC - 0.3 * WEIGHTS, "regularisation_missing_in_gradient"),
    (NUMERIC + 0.3 * WEIGHTS, "regularisation_missing_in_loss"), (NUMERIC ** 3, "unexplained"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_each_cause_is_recognised_from_its_pattern(analytic, name):
    cause = _cause(analytic)
    assert isinstance(cause, LikelyCause) and cause.name == name, cause
    assert cause.name == "unexplained" or cause.fit_rel_err <= 1e-3


def test_routing_needs_the_same_values_at_other_positions():
    numeric = np.zeros((2, 4))
    numeric[:, 0] = [1.5, -0.7]
    analytic = np.roll(numeric, 1, axis=1)
    ev = Evidence(batch=2, full_numeric=lambda: numeric)
    assert diagnose(analytic, np.ones((2, 4)), [0, 1, 4, 5], numeric.reshape(-1)[[0, 1, 4, 5]], ev).name == "wrong_routing"


def test_a_reversed_gradient_shape_is_a_transposition():
    assert shape_cause((5, 3), (3, 5)).name == "transposed" and shape_cause((5,), (3,)) is None


def test_wrong_mode_is_stated_when_the_other_mode_numeric_gradient_fits():
    ev = Evidence(other_mode_numeric=lambda j: 0.6 * NUMERIC.reshape(-1)[j], other_mode="inference")
    cause = _cause(0.6 * NUMERIC ** 3 / np.abs(NUMERIC ** 3).max() + 0.6 * NUMERIC, ev, numeric=NUMERIC)
    assert cause.name == "unexplained"  # the other-mode gradient does not fit this one
    assert _cause(0.6 * NUMERIC, Evidence(other_mode_numeric=ev.other_mode_numeric, other_mode="inference"),
                  numeric=NUMERIC ** 3).name == "wrong_mode"


def test_the_gradient_checker_attaches_the_cause_to_the_failing_parameter():
    rng = np.random.default_rng(1)
    result = gradcheck(tb.SignError(rng.standard_normal((4, 4)), rng.standard_normal(4)), rng.standard_normal((5, 4)))
    assert result["dx"].likely_cause.name == "sign" and "likely cause: sign" in str(result)
    assert result["W"].likely_cause is None


def test_one_wrong_element_among_agreeing_ones_is_named_not_fitted_as_a_ratio():
    analytic = NUMERIC.copy()
    analytic[1, 2] += 0.3  # an indexing slip: the other 35 elements are exact
    cause = _cause(analytic)
    assert cause.name == "one_element_wrong" and "(1, 2)" in cause.evidence and "other 35" in cause.evidence, cause


def test_a_few_wrong_elements_no_cause_fits_are_named():
    analytic = NUMERIC.copy()
    analytic[1, 2] += 0.3
    analytic[3, 0] -= 0.2
    cause = _cause(analytic)
    assert cause.name == "some_elements_wrong" and "(1, 2)" in cause.evidence and "(3, 0)" in cause.evidence, cause


def test_a_ratio_that_misses_an_element_does_not_claim_every_element():
    analytic = 1.7 * NUMERIC
    analytic[0, 0] = 5 * NUMERIC[0, 0]
    cause = _cause(analytic)
    assert cause.name == "constant_ratio" and "every probed element" not in cause.evidence, cause
    assert "35 of the 36" in cause.evidence, cause
