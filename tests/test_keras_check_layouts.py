"""check_against_keras on NCHW textbook conv/pool layers: layout detected or named, weights transposed across."""
import keras
import numpy as np
import pytest

from keras_models import keras_dtype
from parity import check_against_keras
from tests import textbook_corpus as tc
from tests import textbook_twins as tw


def _keras(cls, *args, **kwargs):
    with keras_dtype("float64"):
        return cls(*args, **kwargs)


def test_textbook_nchw_convolution_matches_keras_conv2d_with_the_layout_detected():
    rng = np.random.default_rng(0)
    layer = tc.Convolution(rng.standard_normal((3, 2, 5, 5)), rng.standard_normal(3))
    result = check_against_keras(layer, _keras(keras.layers.Conv2D, 3, 5), rng.standard_normal((2, 2, 9, 8)))
    assert result.ok and result.layout == "NCHW", str(result)
    assert {c.name for c in result.comparisons} == {"output", "dx", "kernel", "bias"}


def test_textbook_nchw_pooling_matches_keras_max_pooling_with_the_layout_named_or_detected():
    rng = np.random.default_rng(1)
    x = np.maximum(rng.standard_normal((2, 3, 6, 8)), 0) + rng.uniform(0, 1e-3, (2, 3, 6, 8))  # no ties
    for layout in ("NCHW", None):
        result = check_against_keras(tc.Pooling(2, 2), _keras(keras.layers.MaxPooling2D, 2), x, layout=layout)
        assert result.ok and result.layout == "NCHW", str(result)


def test_a_swapped_kernel_gradient_is_reported_in_the_users_layout():
    rng = np.random.default_rng(2)
    layer = tw.ConvKernelAxesSwapped(rng.standard_normal((2, 1, 5, 5)), rng.standard_normal(2))
    result = check_against_keras(layer, _keras(keras.layers.Conv2D, 2, 5), rng.standard_normal((2, 1, 7, 7)))
    assert result.failed == ["kernel"], str(result)


def test_an_unknown_layout_name_is_refused():
    with pytest.raises(ValueError, match=r"layout must be one of .*Received: layout='CHWN'"):
        check_against_keras(tc.Pooling(2, 2), _keras(keras.layers.MaxPooling2D, 2), np.ones((1, 1, 4, 4)),
                            layout="CHWN")
