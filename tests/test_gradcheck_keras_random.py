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
