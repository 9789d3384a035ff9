"""The convolution family refuses what it does not implement, by name, and what Keras itself cannot run."""
import numpy as np
import pytest

import keras_models
import numpy_models as nm

BASE = {
    "Conv2D": {"filters": 2, "kernel_size": 3},
    "Conv1D": {"filters": 2, "kernel_size": 3},
    "DepthwiseConv2D": {"kernel_size": 3},
    "SeparableConv2D": {"filters": 2, "kernel_size": 3},
    "Conv2DTranspose": {"filters": 2, "kernel_size": 3},
}
REFUSED = {
    "Conv2D": ("activity_regularizer", "kernel_constraint", "bias_constraint"),
    "Conv1D": ("activity_regularizer", "kernel_constraint", "bias_constraint"),
    "DepthwiseConv2D": ("activity_regularizer", "depthwise_constraint", "bias_constraint"),
    "SeparableConv2D": ("activity_regularizer", "depthwise_constraint", "pointwise_constraint", "bias_constraint"),
    "Conv2DTranspose": ("activity_regularizer", "kernel_constraint", "bias_constraint"),
}
CASES = [(cls, arg) for cls, args in REFUSED.items() for arg in args]


@pytest.mark.parametrize("class_name, argument", CASES, ids=[f"{c}-{a}" for c, a in CASES])
def test_unsupported_argument_is_refused_by_name(class_name, argument):
    with pytest.raises(ValueError) as info:
        nm.LAYERS[class_name](**BASE[class_name], **{argument: "non_neg"}, name="layer1")
    message = str(info.value)
    assert f"'layer1' ({class_name})" in message
    assert f"argument '{argument}' is not supported" in message
    assert message.endswith(f"Received: {argument}='non_neg'")


@pytest.mark.parametrize("class_name, kwargs, match", [
    ("Conv2D", {"filters": 4, "kernel_size": 3, "groups": 3}, r"filters must be divisible by groups"),
    ("Conv2D", {"filters": 2, "kernel_size": 3, "groups": 0}, r"groups must be a positive integer. Received: groups=0"),
    ("Conv2D", {"filters": 2, "kernel_size": 3, "padding": "causal"}, r"padding must be one of"),
    ("Conv1D", {"filters": 2, "kernel_size": (3, 3)}, r"kernel_size must be an int or a 1-tuple"),
    ("Conv1D", {"filters": 2, "kernel_size": 3, "strides": 2, "dilation_rate": 2}, r"cannot be combined"),
    ("DepthwiseConv2D", {"kernel_size": 3, "depth_multiplier": 0}, r"Received: depth_multiplier=0"),
    ("DepthwiseConv2D", {"kernel_size": 3, "strides": (1, 2)}, r"strides must be equal .* Received: strides=\(1, 2\)"),
    ("Conv2DTranspose", {"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": 2},
     r"output_padding must be smaller than strides"),
    ("Conv2DTranspose", {"filters": 2, "kernel_size": 3, "padding": "causal"}, r"padding must be one of"),
])
def test_bad_arguments_name_layer_and_value(class_name, kwargs, match):
    with pytest.raises(ValueError, match=match) as info:
        nm.LAYERS[class_name](**kwargs, name="layer1")
    assert f"'layer1' ({class_name})" in str(info.value)


def test_grouped_conv_needs_divisible_input_channels():
    with pytest.raises(ValueError, match=r"'conv' \(Conv2D\): input channels must be divisible by groups=2"):
        nm.build_sequential([("Conv2D", {"filters": 2, "kernel_size": 1, "groups": 2}, "conv")], (4, 4, 3))


@pytest.mark.parametrize("kwargs", [
    {"filters": 2, "kernel_size": 2, "padding": "same", "output_padding": 0},
    {"filters": 2, "kernel_size": (3, 2), "strides": (2, 1), "padding": "same", "output_padding": (1, 0)},
], ids=["even_kernel_op0", "stride1_axis_even_kernel"])
def test_conv_transpose_shapes_keras_cannot_run_are_refused_at_build(kwargs):
    """(n-1)s + k%2 + op must conv back to n; when it does not, TF fails at call time and NumPy at build."""
    layers = [("Conv2DTranspose", kwargs, "deconv")]
    with pytest.raises(ValueError, match=r"'deconv' \(Conv2DTranspose\): .* is not the transpose of an input"):
        nm.build_sequential(layers, (5, 6, 2), "float64")
    k_model = keras_models.build_sequential(layers, (5, 6, 2), "float64")
    with pytest.raises(Exception, match="(?i)backprop|doesn't match"):
        keras_models.forward(k_model, np.zeros((1, 5, 6, 2)))


@pytest.mark.parametrize("class_name", sorted(BASE))
def test_config_rebuilds_the_same_layer(class_name):
    layer = nm.LAYERS[class_name](**BASE[class_name], name="layer1")
    config = layer.get_config()
    rebuilt = nm.LAYERS[class_name](**{k: v for k, v in config.items() if k not in ("dtype",)})
    assert rebuilt.get_config() == config


def test_separable_cast_and_set_weights_keep_the_depthwise_stage_linked():
    model = nm.build_sequential([("SeparableConv2D", {"filters": 2, "kernel_size": 3}, "sep")], (6, 6, 2), seed=0)
    layer = model.get_layer("sep")
    layer.cast("float64")
    layer.set_weight("depthwise_kernel", np.ones((3, 3, 2, 1)))
    layer.set_weight("pointwise_kernel", np.ones((1, 1, 2, 2)))
    y = layer.forward(np.ones((1, 6, 6, 2)))
    np.testing.assert_array_equal(y, np.full((1, 4, 4, 2), 18.0))  # 2 channels x 9 taps of ones


NCHW_CASES = [("Conv2D", {"filters": 4, "kernel_size": 3, "groups": 2}, (5, 6, 4)),
              ("DepthwiseConv2D", {"kernel_size": 2, "depth_multiplier": 2, "strides": 2}, (5, 6, 3)),
              ("SeparableConv2D", {"filters": 2, "kernel_size": 3, "padding": "same"}, (5, 6, 3)),
              ("Conv2DTranspose", {"filters": 2, "kernel_size": 3, "strides": 2}, (5, 6, 3)),
              ("Conv1D", {"filters": 2, "kernel_size": 3, "padding": "causal"}, (7, 3))]


@pytest.mark.parametrize("class_name, kwargs, shape", NCHW_CASES, ids=[c[0] for c in NCHW_CASES])
def test_channels_first_is_channels_last_transposed(class_name, kwargs, shape):
    """Textbook NCHW data through data_format='channels_first' (no Keras twin on CPU): same numbers, moved axes."""
    last = nm.build_sequential([(class_name, kwargs, "a")], shape, "float64", seed=0)
    first = nm.build_sequential([(class_name, {**kwargs, "data_format": "channels_first"}, "a")],
                                (shape[-1],) + shape[:-1], "float64", seed=0)
    to_first = lambda a: np.moveaxis(a, -1, 1)
    x = np.random.default_rng(0).standard_normal((2,) + shape)
    y = last.forward(x)
    np.testing.assert_array_equal(first.forward(to_first(x)), to_first(y))
    dout = np.random.default_rng(1).standard_normal(y.shape)
    np.testing.assert_array_equal(first.backward(to_first(dout)), to_first(last.backward(dout)))
