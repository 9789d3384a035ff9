"""check_against_keras on what a user gets wrong (user walkthrough, session 24).

- NaN or Inf in x is refused (as gradcheck refuses it), and NaN on the hand-written side fails even where the
  Keras side is NaN too, with an error saying where;
- a configuration that differs from the Keras layer's (units, padding) or a non-layer argument gives a clear
  error naming the layer, what was expected and what was received, not a Keras assign or TensorFlow shape error;
- an image layout the shapes cannot tell apart (3 filters of 3x3 on 3 channels, 3x3 images) is refused with
  "pass layout=", one they can tell is found, and the result says which layout it used;
- a textbook BatchNorm whose running statistics are None until its first forward is checked.
"""
import keras
import numpy as np
import pytest

from keras_models import keras_dtype
from parity import check_against_keras
from tests import textbook_corpus as tc
from tests import textbook_layers as tb


def _keras(cls, *args, **kwargs):
    with keras_dtype("float64"):
        return cls(*args, **kwargs)


def _rng(seed=0):
    return np.random.default_rng(seed)


def _affine(units_in=4, units_out=4):
    rng = _rng()
    return tb.Affine(rng.standard_normal((units_in, units_out)), rng.standard_normal(units_out))


def test_a_nan_input_is_refused():
    x = _rng(1).standard_normal((5, 4))
    x[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"check_against_keras: x contains NaN or Inf .*first at index \(3, 1\)"):
        check_against_keras(_affine(), _keras(keras.layers.Dense, 4), x)


def test_a_nan_weight_is_refused_naming_it():
    layer = _affine()
    layer.b[2] = np.inf
    with pytest.raises(ValueError, match=r"parameter Affine\.b contains NaN or Inf"):
        check_against_keras(layer, _keras(keras.layers.Dense, 4), _rng(1).standard_normal((5, 4)))


class Log:
    """log(x), correct: NaN for negative inputs, as Keras's log gives."""

    def forward(self, x):
        self.x = x
        with np.errstate(invalid="ignore"):
            return np.log(x)

    def backward(self, dout):
        return dout / self.x


def test_nan_on_both_sides_fails():
    x = -np.abs(_rng(1).standard_normal((3, 2))) - 0.5
    result = check_against_keras(Log(), _keras(keras.layers.Activation, keras.ops.log), x)
    assert not result.comparisons[0].passed  # NaN == NaN is no agreement (parity.compare)
    assert not result.ok and any("Log's output contains NaN or Inf" in e for e in result.errors), str(result)


def test_a_layer_with_other_units_is_refused_naming_both_shapes():
    with pytest.raises(ValueError, match=r"Dense\(units=3.*expects its weight 'kernel' of shape \(4, 3\), but "
                                         r"Affine\.W has shape \(4, 4\).*Received: Affine\.W\.shape=\(4, 4\)"):
        check_against_keras(_affine(), _keras(keras.layers.Dense, 3), _rng(1).standard_normal((5, 4)))


def test_a_layer_with_other_padding_is_refused_naming_both_output_shapes():
    rng = _rng(2)
    layer = tc.Convolution(rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4), pad=0)
    with pytest.raises(ValueError, match=r"Conv2D\(.*padding='same'.*\) gives an output of shape \(2, 4, 5, 5\) "
                                         r"for x.shape=\(2, 3, 5, 5\) \(images NCHW\), but Convolution.forward gives "
                                         r"\(2, 4, 3, 3\).*Received: output.shape=\(2, 4, 3, 3\)"):
        check_against_keras(layer, _keras(keras.layers.Conv2D, 4, 3, padding="same"), rng.standard_normal((2, 3, 5, 5)))


def test_a_pooling_layer_with_another_pool_size_is_refused_as_a_configuration_mismatch():
    with pytest.raises(ValueError, match=r"output shape of Pooling is not what MaxPooling2D\(pool_size=\(3, 3\).*in "
                                         r"either layout.*configurations differ. Received: output shape \(2, 3, 3, 3\)"):
        check_against_keras(tc.Pooling(2, 2), _keras(keras.layers.MaxPooling2D, 3), _rng(6).standard_normal((2, 3, 6, 6)))


@pytest.mark.parametrize("not_a_layer, shown", [("Dense", "'Dense' of type str"), (keras.layers.Dense, "a class")],
                         ids=["string", "class"])
def test_a_keras_argument_that_is_not_a_layer_instance_is_refused(not_a_layer, shown):
    with pytest.raises(TypeError, match=rf"keras_layer must be a keras.layers.Layer instance.*{shown}"):
        check_against_keras(_affine(), not_a_layer, _rng(1).standard_normal((5, 4)))


def _square_conv():
    rng = _rng(3)
    return tc.Convolution(0.3 * rng.standard_normal((3, 3, 3, 3)), rng.standard_normal(3), pad=1)


def test_a_layout_the_shapes_cannot_tell_is_refused():
    with pytest.raises(ValueError, match=r"cannot tell whether Convolution takes NCHW or NHWC.*W.shape=\(3, 3, 3, 3\)"
                                         r".*Pass layout='NCHW' or layout='NHWC'"):
        check_against_keras(_square_conv(), _keras(keras.layers.Conv2D, 3, 3, padding="same"),
                            _rng(4).standard_normal((2, 3, 3, 3)))


def test_the_named_layout_is_used_and_stated():
    result = check_against_keras(_square_conv(), _keras(keras.layers.Conv2D, 3, 3, padding="same"),
                                 _rng(4).standard_normal((2, 3, 3, 3)), layout="NCHW")
    assert result.ok and str(result).splitlines()[0].endswith("images NCHW (as given)"), str(result)


def test_a_square_kernel_layout_is_told_from_the_input_channels_and_stated():
    result = check_against_keras(_square_conv(), _keras(keras.layers.Conv2D, 3, 3, padding="same"),
                                 _rng(4).standard_normal((2, 3, 5, 5)))
    assert result.ok and result.layout == "NCHW", str(result)
    assert "images NCHW (detected from the kernel's shape and x's channels)" in str(result)


@pytest.mark.parametrize("training", [True, False], ids=["training", "inference"])
def test_a_textbook_batch_norm_built_on_its_first_forward_is_checked(training):
    rng = _rng(5)
    layer = tc.BatchNormalization(rng.uniform(0.5, 2.0, 4), rng.standard_normal(4))
    assert layer.running_mean is None
    result = check_against_keras(layer, _keras(keras.layers.BatchNormalization, epsilon=1e-7),
                                 2 * rng.standard_normal((8, 4)) + 1, training=training)
    assert result.ok, str(result)
    assert layer.running_mean is None  # the user's layer is untouched
