"""check_against_keras: a hand-written layer vs the stock Keras layer with copied weights."""
import keras
import numpy as np
import pytest

import numpy_models as nm
from keras_models import keras_dtype
from parity import assert_gradients_ok, check_against_keras
from tests import textbook_layers as tb


def _dense(units):
    with keras_dtype("float64"):
        return keras.layers.Dense(units)


def test_textbook_affine_matches_keras_dense():
    rng = np.random.default_rng(0)
    result = check_against_keras(tb.Affine(rng.standard_normal((3, 4)), rng.standard_normal(4)), _dense(4),
                                 rng.standard_normal((5, 3)))
    assert result.ok, str(result)
    assert {c.name for c in result.comparisons} == {"output", "dx", "kernel", "bias"}
    assert assert_gradients_ok(result) is result


def test_project_conv_layer_matches_keras_conv():
    rng = np.random.default_rng(1)
    layer = nm.Conv2D(3, 3, strides=2, padding="same", activation="relu")
    layer.build((None, 7, 7, 2), rng)
    with keras_dtype("float64"):
        theirs = keras.layers.Conv2D(3, 3, strides=2, padding="same", activation="relu")
    assert check_against_keras(layer, theirs, rng.standard_normal((2, 7, 7, 2))).ok


def test_broken_layer_is_caught_and_named():
    rng = np.random.default_rng(2)
    result = check_against_keras(tb.TransposedGradient(rng.standard_normal((4, 4)), rng.standard_normal(4)),
                                 _dense(4), rng.standard_normal((5, 4)))
    assert result.failed == ["kernel"]
    with pytest.raises(AssertionError, match="kernel: FAILED"):
        assert_gradients_ok(result)


def test_unmatched_weight_names_are_explained():
    class NoWeights(tb.Relu):
        pass

    with pytest.raises(ValueError, match=r"Keras weight 'kernel' has no counterpart on NoWeights"):
        check_against_keras(NoWeights(), _dense(2), np.ones((3, 2)))


def test_bilinear_upsampling_is_compared_with_keras_through_its_float32_resize():
    # TF resizes in float32 in a float64 layer: the compared copy keeps that step (gradient checks switch it off)
    layer = nm.UpSampling2D(2, interpolation="bilinear", dtype="float64")
    with keras_dtype("float64"):
        result = check_against_keras(layer, keras.layers.UpSampling2D(2, interpolation="bilinear"),
                                     np.random.default_rng(0).standard_normal((2, 3, 3, 2)))
    assert result.ok, str(result)
