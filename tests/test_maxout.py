"""Maxout: correct by the gradient checker, and equal to its stock-Keras composition in both dtypes."""
import numpy as np
import pytest

import numpy_models as nm
from parity import assert_all_passed
from parity.gradcheck import assert_gradients_ok
from parity.checks.maxout import check_maxout

CONFIGS = [(3, 2, 5), (1, 4, 3), (5, 3, 1)]  # (units, pieces, inputs): one unit, one input feature


@pytest.mark.parametrize("units, pieces, in_dim", CONFIGS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_maxout_matches_keras_composition(units, pieces, in_dim, dtype):
    assert_all_passed(check_maxout(units, pieces, in_dim, dtype), context=f"Maxout({units}, {pieces}) {dtype}")


@pytest.mark.parametrize("units, pieces, in_dim", CONFIGS)
def test_maxout_gradients_match_finite_differences(units, pieces, in_dim):
    layer = nm.Maxout(units, pieces, dtype="float64")
    layer.build((None, in_dim), np.random.default_rng(0))
    layer.params["bias"][...] = np.random.default_rng(1).standard_normal(layer.params["bias"].shape)
    assert_gradients_ok(layer, np.random.default_rng(2).standard_normal((6, in_dim)))


def test_maxout_refuses_bad_pieces():
    with pytest.raises(ValueError, match=r"\(Maxout\): pieces must be a positive integer. Received: pieces=0"):
        nm.Maxout(3, 0)
