"""compare(): errors relative to the largest magnitude, worst elements with indices, no broadcasting."""
import numpy as np
import pytest

from parity import ParityError, assert_all_passed, compare
from parity.compare import relative_difference


def test_reports_worst_element_with_its_multi_index():
    a = np.zeros((3, 4))
    b = a.copy()
    b[2, 1] = 0.5
    c = compare(a, b, "dense_1/kernel", 1e-6)
    assert not c.passed
    assert c.worst[0]["index"] == (2, 1) and c.worst[0]["abs"] == 0.5
    assert c.frac_failed == pytest.approx(1 / 12)
    assert "dense_1/kernel" in c.message() and "(2, 1)" in c.message()


def test_relative_error_is_relative_to_the_largest_magnitude():
    c = compare(np.array([100.0, 1.0]), np.array([100.0, 1.001]), "t", 1e-4)
    assert c.max_rel == pytest.approx(1e-5) and c.passed


def test_refuses_to_broadcast():
    with pytest.raises(ValueError, match="refusing to broadcast"):
        compare(np.zeros((3, 1)), np.zeros((3,)), "t", 1e-6)


def test_nan_on_one_side_fails():
    assert not compare(np.array([np.nan, 1.0]), np.array([0.0, 1.0]), "t", 1e-6).passed


def test_nan_on_both_sides_fails():
    """Two twins that both diverge to NaN agree on nothing a parity check can vouch for (a verify run, a forward)."""
    c = compare(np.array([np.nan, 1.0]), np.array([np.nan, 1.0]), "t", 1e-6)
    assert not c.passed and c.max_abs == np.inf and c.worst[0]["index"] == (0,)


def test_assert_all_passed_names_the_first_failure():
    good = compare(np.ones(2), np.ones(2), "a", 0)
    bad = compare(np.ones(2), np.zeros(2), "b", 0)
    with pytest.raises(ParityError, match="first: b"):
        assert_all_passed([good, bad])
    assert_all_passed([good])


def test_structured_fields_travel_with_the_comparison():
    c = compare(np.ones(3), np.ones(3), "step 2: d/kernel [momentum]", 0.0, tensor="d/kernel", kind="slot", step=2,
                slot="momentum")
    assert (c.tensor, c.kind, c.step, c.slot, c.backend) == ("d/kernel", "slot", 2, "momentum", "numpy")
    assert compare(np.ones(3), np.ones(3), "loss", 0.0).tensor == "loss"  # the name when no tensor is given


def test_relative_difference_is_relative_to_the_reference():
    assert relative_difference([np.array([1.0, 3.0])], [np.array([1.0, 2.0])]) == (1.0, 0.5)
    assert relative_difference(np.zeros(2), np.zeros(2)) == (0.0, 0.0)
    assert relative_difference(np.ones(2), np.zeros(2))[1] == np.inf


@pytest.mark.parametrize("values", ["distinct", "ties", "zeros", "tied_top"])
def test_worst_elements_are_those_a_full_sort_gives(values):
    """The partition shortcut picks the same elements, in the same order, as sorting every difference."""
    from parity.compare import _largest

    rng = np.random.default_rng(0)
    diff = {"distinct": rng.random(500), "ties": rng.integers(0, 3, 500) * 0.5, "zeros": np.zeros(500),
            "tied_top": np.concatenate([rng.random(495), np.full(5, 2.0)])}[values]
    for k in (0, 1, 5):
        np.testing.assert_array_equal(_largest(diff.reshape(20, 25), k), np.argsort(diff, axis=None)[::-1][:k])
