"""check_against_keras refuses a layer that is random in training mode, by name (walkthrough 25).

A Dropout's mask and Keras's are drawn by different generators: compared in training mode, about half the
elements differ whether the layer is right or not. In inference mode the same pair is compared (and passes).
"""
import keras
import numpy as np
import pytest

import numpy_models as nm
from parity import check_against_keras


class _InvertedDropout:
    """Inverted dropout (Keras's convention): x * mask / (1 - rate) in training, x in inference."""

    def __init__(self, rate=0.5):
        self.rate = rate

    def forward(self, x, training=True):
        self.mask = np.random.rand(*x.shape) > self.rate if training else np.ones(x.shape, bool)
        self.scale = 1 / (1 - self.rate) if training else 1.0
        return x * self.mask * self.scale

    def backward(self, dout):
        return dout * self.mask * self.scale


def _x():
    return np.random.default_rng(0).standard_normal((6, 5))


@pytest.mark.parametrize("keras_layer", [lambda: keras.layers.Dropout(0.5), lambda: keras.layers.GaussianNoise(0.3)],
                         ids=["Dropout", "GaussianNoise"])
def test_a_layer_random_in_training_mode_is_refused_by_name(keras_layer):
    layer = keras_layer()
    with pytest.raises(ValueError, match=rf"{type(layer).__name__}\(.*is random in training mode.*training=False"):
        check_against_keras(_InvertedDropout(), layer, _x())


def test_the_same_dropout_in_inference_mode_is_compared():
    assert check_against_keras(_InvertedDropout(), keras.layers.Dropout(0.5), _x(), training=False).ok


def test_batchnorm_in_training_mode_is_not_taken_for_random():
    layer = nm.BatchNormalization()
    layer.build((None, 5), np.random.default_rng(0))
    with np.errstate(all="ignore"):
        assert check_against_keras(layer, keras.layers.BatchNormalization(dtype="float64"), _x()).ok


def test_asking_whether_a_layer_is_random_leaves_its_state_as_it_was():
    """Review, session 25: the two probing calls advanced the seed generator and moved BatchNormalization's
    moving statistics on the user's own layer."""
    from parity.gradcheck.keras_check import _refuse_random

    keras_layer = keras.layers.BatchNormalization()
    x = np.random.default_rng(3).standard_normal((6, 4)).astype("float32")
    keras_layer.build(x.shape)
    before = [v.numpy().copy() for v in keras_layer.variables]
    _refuse_random(object(), keras_layer, x)
    for was, variable in zip(before, keras_layer.variables, strict=True):
        np.testing.assert_array_equal(variable.numpy(), was)
