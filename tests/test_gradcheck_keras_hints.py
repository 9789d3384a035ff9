"""check_against_keras: a failing comparison says where the configurations may differ (walkthrough 27): TensorFlow's
'same' padding puts the extra row after (a textbook pad=1 pads both sides), and a normalisation's epsilon."""
import keras
import numpy as np

from parity import check_against_keras
from tests.textbook_corpus import BatchNormalization, Convolution


def _conv():
    rng = np.random.default_rng(0)
    return Convolution(rng.standard_normal((4, 3, 3, 3)) * 0.3, rng.standard_normal(4) * 0.1, stride=2, pad=1)


def _images(size):
    return np.random.default_rng(1).standard_normal((2, 3, size, size))


def test_asymmetric_same_padding_is_named_with_the_layers_pad():
    result = check_against_keras(_conv(), keras.layers.Conv2D(4, 3, strides=2, padding="same", dtype="float64"),
                                 _images(8))
    assert not result.ok and len(result.hints) == 1
    assert "(before, after)=[(0, 1), (0, 1)]" in result.hints[0] and "Convolution.pad=1" in result.hints[0]
    assert "check the configuration: Keras padding='same'" in str(result)


def test_where_same_padding_is_symmetric_the_same_layers_agree_without_hints():
    result = check_against_keras(_conv(), keras.layers.Conv2D(4, 3, strides=2, padding="same", dtype="float64"),
                                 _images(9))  # 9x9, stride 2: one row before and one after, as pad=1
    assert result.ok and result.hints == [], str(result)


def test_a_textbook_batchnorms_epsilon_is_named():
    layer = BatchNormalization(np.ones(5), np.zeros(5))  # epsilon 1e-7, hard-coded
    x = np.random.default_rng(2).standard_normal((8, 5)) * 0.01  # a variance near Keras's epsilon: it shows
    result = check_against_keras(layer, keras.layers.BatchNormalization(dtype="float64"), x)
    assert not result.ok and any("epsilon=0.001" in h and "inside the square root" in h for h in result.hints)
    matched = check_against_keras(BatchNormalization(np.ones(5), np.zeros(5)),
                                  keras.layers.BatchNormalization(epsilon=1e-7, dtype="float64"), x)
    assert matched.ok and matched.hints == [], str(matched)


def test_the_hints_same_padding_is_numpy_models_own_with_dilation():
    from numpy_models._windows import output_and_padding
    from parity.gradcheck.keras_config import _same_padding

    for size, kernel, stride, dilation in [(8, 3, 2, 1), (8, 2, 1, 2), (9, 4, 1, 3), (7, 5, 3, 2), (1, 3, 1, 1)]:
        assert _same_padding(size, kernel, stride, dilation) == output_and_padding(size, kernel, stride, dilation,
                                                                                   "same")[1]
