"""Textbook layer conventions: each one's difference from Keras is measured, and reproduced where Keras can."""
import numpy as np
import pytest

import keras_models
import numpy_models as nm
from parity import compare, tolerance
from parity.gradcheck import layouts
from parity.twins import twins_from_layers
from parity.variants import prelu
from parity.variants.layers import _bn_outputs, _conv_pair, _transpose_pair
from parity.variants import VARIANTS


def test_nchw_model_through_the_bridge_equals_keras():
    r = VARIANTS["NCHWThroughTheBridge"]("float64")
    assert r.max_rel <= tolerance("float64").rtol


def test_forgetting_the_flatten_row_permutation_is_caught():
    assert VARIANTS["NCHWWithoutRowPermutation"]("float64").max_rel > 0.1


def test_layout_converters_round_trip(rng):
    w = rng.standard_normal((6, 3, 5, 4))
    np.testing.assert_array_equal(layouts.conv_kernel_to_textbook(layouts.conv_kernel_from_textbook(w)), w)
    with pytest.raises(ValueError, match=r"must have 3\*2\*2=12 rows"):
        layouts.dense_rows_chw_to_hwc(np.zeros((10, 4)), (3, 2, 2))


def test_symmetric_padding_equals_keras_same_for_odd_kernels_at_stride_one():
    a, b = _conv_pair("float64", "symmetric", 3, 1)
    assert compare(a, b, "conv", tolerance("float64")).passed


def test_symmetric_padding_differs_at_stride_two_and_changes_even_kernel_sizes():
    assert VARIANTS["SymmetricSamePadding"]("float64").max_rel > 0.1
    layer = nm.Conv2D(1, 4, padding="symmetric")
    layer.build((None, 28, 28, 1))
    assert layer.output_shape == (None, 27, 27, 1)  # Keras 'same' gives 28x28


def test_non_inverted_dropout_is_keras_dropout_rescaled():
    """Same masks: textbook train output / (1 - rate) and inference output / (1 - rate) equal Keras."""
    from parity.twins import install_keras_masks

    cfg = [("Dropout", {"rate": 0.5, "seed": 7}, "dropout")]
    ours = nm.build_sequential(cfg, (50,), "float64")
    ours.get_layer("dropout").inverted = False
    install_keras_masks(ours)
    theirs = keras_models.build_sequential(cfg, (50,), "float64")
    x = np.random.default_rng(0).standard_normal((20, 50))
    tol = tolerance("float64")
    assert compare(ours.forward(x, training=True) / 0.5, keras_models.forward(theirs, x, training=True)[-1], "train", tol).passed
    assert compare(ours.forward(x) / 0.5, x, "inference", tol).passed
    assert VARIANTS["NonInvertedDropout"]("float64").max_rel == pytest.approx(0.5)


def test_per_activation_batch_norm_is_reproduced_by_keras_reshape_then_batch_norm():
    a, _ = _bn_outputs("float64", textbook=True)
    k_model = keras_models.build_sequential(
        [("Reshape", {"target_shape": (48,)}, "flat"),
         ("BatchNormalization", {"momentum": 0.9, "epsilon": 1e-6}, "bn"),
         ("Reshape", {"target_shape": (4, 4, 3)}, "unflat")], (4, 4, 3), "float64")
    rng = np.random.default_rng(0)  # the same batches _bn_outputs draws
    ref = []
    for _ in range(3):
        x = rng.standard_normal((8, 4, 4, 3)) * rng.uniform(0.5, 2.0, (4, 4, 3))
        ref.append(keras_models.forward(k_model, x, training=True)[-1])
    ref.append(keras_models.forward(k_model, rng.standard_normal((8, 4, 4, 3)))[-1])
    for ours, theirs in zip(a, ref, strict=True):
        assert compare(ours, theirs, "bn", tolerance("float64")).passed
    assert VARIANTS["PerActivationBatchNorm"]("float64").max_rel > 0.1  # vs Keras's per-channel default


def test_textbook_transposed_padding_is_shifted_from_keras_same():
    assert VARIANTS["SymmetricTransposedPadding"]("float64").max_rel > 0.1


def test_textbook_transposed_padding_is_keras_valid_cropped_top_left():
    ours, keras_valid = _transpose_pair("float64", {"padding": "symmetric", "output_padding": 1}, {"padding": "valid"})
    assert compare(ours, keras_valid[:, 1:, 1:], "deconv", tolerance("float64")).passed


def test_textbook_transposed_padding_equals_keras_same_at_stride_one():
    ours, keras_same = _transpose_pair("float64", {"padding": "symmetric", "strides": 1}, {"padding": "same", "strides": 1})
    assert compare(ours, keras_same, "deconv", tolerance("float64")).passed


def test_shared_prelu_is_keras_prelu_shared_over_every_axis():
    ours, theirs, a, b = prelu.train_alpha("float64", prelu.SHARED, prelu.SHARED)
    assert compare(a, b, "trained prelu", tolerance("float64")).passed
    assert ours.params["prelu/alpha"].size == theirs.count_params() == 1


def test_shared_alpha_gradient_is_the_sum_of_the_per_channel_gradients():
    ours, theirs = twins_from_layers(prelu.prelu_configs(prelu.SHARED), prelu.SHAPE, "float64",
                                     keras_configs=prelu.prelu_configs(prelu.PER_CHANNEL), copy_weights=False)
    rng = np.random.default_rng(1)
    x, dout = rng.standard_normal((4, *prelu.SHAPE)), rng.standard_normal((4, *prelu.SHAPE))
    ours.forward(x)
    ours.backward(dout)
    per_channel = keras_models.forward_backward(theirs, x, dout)["grads"]["prelu/alpha"]
    assert per_channel.shape == (1, 1, 3) and theirs.count_params() == 3
    assert compare(ours.grads["prelu/alpha"], per_channel.sum(keepdims=True), "d alpha", tolerance("float64")).passed


def test_shared_prelu_learns_one_compromise_slope_where_per_channel_learns_each():
    ours, theirs, _, _ = prelu.train_alpha("float64", prelu.SHARED, prelu.PER_CHANNEL)
    shared, per_channel = ours.params["prelu/alpha"].ravel(), theirs.layers[0].weights[0].numpy().ravel()
    assert prelu.TRUE_ALPHA.min() < shared[0] < prelu.TRUE_ALPHA.max()
    assert np.abs(per_channel - prelu.TRUE_ALPHA).max() < np.abs(shared - prelu.TRUE_ALPHA).min()
    assert VARIANTS["SharedPReLU"]("float64").max_rel > 0.1
