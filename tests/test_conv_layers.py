"""Conv2D and pooling: hypothesis over sizes, kernels, strides, padding and dilation; errors; tie routing."""
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

import keras_models
import numpy_models as nm
from numpy_models import _windows
from parity import compare, tolerance
from parity.weights import numpy_to_keras

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _agree(layers, input_shape, seed, training=False):
    """Forward and backward of NumPy vs Keras in float64; returns the output shapes."""
    np_model = nm.build_sequential(layers, input_shape, "float64", seed)
    k_model = keras_models.build_sequential(layers, input_shape, "float64")
    numpy_to_keras(np_model, k_model)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2,) + input_shape)
    y = np_model.forward(x, training=training)
    dout = rng.standard_normal(y.shape)
    dx = np_model.backward(dout)
    ref = keras_models.forward_backward(k_model, x, dout, training=training)
    tol = tolerance("float64")
    checks = [compare(y, ref["outputs"][-1], "output", tol), compare(dx, ref["dx"], "dx", tol)]
    checks += [compare(np_model.grads[k], g, k, tol) for k, g in ref["grads"].items()]
    for c in checks:
        assert c.passed, c.message()
    assert y.shape == ref["outputs"][-1].shape == (2,) + np_model.output_shape[1:]
    return y.shape


@SETTINGS
@given(h=st.integers(3, 10), w=st.integers(3, 10), c=st.integers(1, 3), filters=st.integers(1, 4),
       kh=st.integers(1, 4), kw=st.integers(1, 4), stride=st.integers(1, 3), dilation=st.integers(1, 2),
       padding=st.sampled_from(["valid", "same"]), seed=st.integers(0, 999))
def test_conv2d_matches_keras(h, w, c, filters, kh, kw, stride, dilation, padding, seed):
    assume(stride == 1 or dilation == 1)  # Keras forbids both > 1
    if padding == "valid":
        assume(h >= dilation * (kh - 1) + 1 and w >= dilation * (kw - 1) + 1)
    layers = [("Conv2D", {"filters": filters, "kernel_size": (kh, kw), "strides": stride, "padding": padding,
                          "dilation_rate": dilation}, "conv")]
    _agree(layers, (h, w, c), seed)


@SETTINGS
@given(h=st.integers(2, 9), w=st.integers(2, 9), pool=st.integers(1, 3), stride=st.integers(1, 3),
       padding=st.sampled_from(["valid", "same"]), kind=st.sampled_from(["MaxPooling2D", "AveragePooling2D"]),
       seed=st.integers(0, 999))
def test_pooling_matches_keras(h, w, pool, stride, padding, kind, seed):
    if padding == "valid":
        assume(h >= pool and w >= pool)
    _agree([(kind, {"pool_size": pool, "strides": stride, "padding": padding}, "pool")], (h, w, 2), seed)


def test_keras_same_padding_puts_the_extra_pixel_after():
    assert _windows.output_and_padding(28, 3, 2, 1, "same") == (14, (0, 1))
    assert _windows.output_and_padding(8, 4, 1, 1, "same") == (8, (1, 2))
    assert _windows.output_and_padding(7, 3, 2, 1, "same") == (4, (1, 1))


def test_max_pool_sends_tied_gradients_to_the_first_maximum_like_keras():
    """ReLU outputs are full of tied zeros; a mask=(x == max) implementation would split the gradient."""
    x = np.maximum(np.random.default_rng(0).standard_normal((3, 6, 6, 2)), 0)
    x[:, :2, :2, :] = 0.0  # whole windows of ties
    layers = [("MaxPooling2D", {"pool_size": 2}, "pool")]
    np_model = nm.build_sequential(layers, (6, 6, 2), "float64")
    k_model = keras_models.build_sequential(layers, (6, 6, 2), "float64")
    np_model.forward(x)
    dout = np.random.default_rng(1).standard_normal((3, 3, 3, 2))
    dx = np_model.backward(dout)
    ref = keras_models.forward_backward(k_model, x, dout)
    np.testing.assert_array_equal(dx, ref["dx"])
    assert np.count_nonzero(dx[:, :2, :2, :]) == 3 * 2  # one element per tied window


@pytest.mark.parametrize("kwargs, shape, match", [
    ({"filters": 2, "kernel_size": 5}, (3, 3, 1), r"a window of 5x5 .* does not fit an input of 3x3 with padding='valid'"),
    ({"filters": 2, "kernel_size": 3, "strides": 0}, (8, 8, 1), r"strides must be an int or a pair of ints >= 1. Received: strides=0"),
    ({"filters": 2, "kernel_size": 3, "strides": (1, -2)}, (8, 8, 1), r"Received: strides=\(1, -2\)"),
    ({"filters": 2, "kernel_size": 3, "strides": 2, "dilation_rate": 2}, (8, 8, 1), "cannot be combined"),
    ({"filters": 0, "kernel_size": 3}, (8, 8, 1), "filters must be a positive integer"),
    ({"filters": 2, "kernel_size": 3, "padding": "full"}, (8, 8, 1), "padding must be one of"),
], ids=["window_too_large", "zero_stride", "negative_stride", "stride_with_dilation", "zero_filters", "unknown_padding"])
def test_bad_conv_arguments_name_the_layer(kwargs, shape, match):
    with pytest.raises(ValueError, match=match) as info:
        nm.build_sequential([("Conv2D", kwargs, "conv1")], shape)
    assert "'conv1'" in str(info.value)


def test_wrong_channel_count_names_layer_and_shapes():
    model = nm.build_sequential([("Conv2D", {"filters": 2, "kernel_size": 3}, "conv1")], (8, 8, 1))
    with pytest.raises(ValueError, match=r"expected shape \(None, 8, 8, 1\). Received: input.shape=\(4, 8, 8, 3\)"):
        model.forward(np.zeros((4, 8, 8, 3)))


def test_nchw_data_where_nhwc_is_expected_gets_a_hint():
    model = nm.build_sequential([("Conv2D", {"filters": 2, "kernel_size": 3}, "conv1")], (28, 28, 1))
    with pytest.raises(ValueError, match=r"Received: input.shape=\(4, 1, 28, 28\) \(this looks like channels_first"):
        model.forward(np.zeros((4, 1, 28, 28)))


def test_pool_larger_than_valid_input():
    with pytest.raises(ValueError, match=r"'pool' \(MaxPooling2D\): a window of 3x3"):
        nm.build_sequential([("MaxPooling2D", {"pool_size": 3}, "pool")], (2, 2, 1))


def test_dropout_keeps_the_right_fraction_and_the_mean():
    """Without Keras's masks (NumPy RNG): keep fraction within 4 binomial standard errors."""
    layer = nm.Dropout(0.3, seed=0, dtype="float64")
    x = np.ones((400, 500))
    y = layer.forward(x, training=True)
    kept = np.count_nonzero(y) / y.size
    se = np.sqrt(0.3 * 0.7 / y.size)
    assert abs(kept - 0.7) < 4 * se
    assert abs(y.mean() - 1.0) < 4 * se / 0.7  # inverted: E[y] = x
    np.testing.assert_array_equal(layer.forward(x, training=False), x)
    np.testing.assert_allclose(y[y != 0], 1 / 0.7)


def test_dropout_refuses_a_rate_of_one():
    with pytest.raises(ValueError, match=r"'d' \(Dropout\): rate must be in \[0, 1\). Received: rate=1.0"):
        nm.Dropout(1.0, name="d")
