"""Every layer type in numpy_models round-trips through to_keras / from_keras: configs equal, weights bit-exact."""
import numpy as np
import pytest

pytest.importorskip("keras")

import numpy_models as nm  # noqa: E402
from parity import assert_all_passed, compare, from_keras, to_keras, tolerance  # noqa: E402
from parity.convert import UnsupportedModelError  # noqa: E402

MERGES = ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate")
NO_KERAS_CLASS = {"Maxout"}  # a NumPy textbook layer: to_keras must refuse it by name

# class name -> (non-default kwargs, per-sample input shape); options away from their defaults where possible.
CASES = {
    "Dense": ({"units": 3, "activation": "tanh", "kernel_regularizer": {"class_name": "L2", "config": {"l2": 0.01}}},
              (5,)),
    "Activation": ({"activation": "elu"}, (5,)),
    "Flatten": ({}, (3, 4, 2)),
    "Conv2D": ({"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same", "groups": 2}, (6, 6, 4)),
    "MaxPooling2D": ({"pool_size": 3, "strides": 1, "padding": "same"}, (5, 5, 2)),
    "AveragePooling2D": ({"pool_size": 2}, (6, 6, 2)),
    "GlobalAveragePooling2D": ({"keepdims": True}, (4, 4, 2)),
    "BatchNormalization": ({"axis": 1, "momentum": 0.9, "epsilon": 1e-5, "center": False}, (3, 4, 2)),
    "Dropout": ({"rate": 0.3, "seed": 1}, (5,)),
    "ReLU": ({"max_value": 6.0, "negative_slope": 0.1, "threshold": 0.5}, (5,)),
    "LeakyReLU": ({"negative_slope": 0.2}, (5,)),
    "PReLU": ({"shared_axes": [1, 2]}, (4, 4, 3)),
    "ELU": ({"alpha": 0.5}, (5,)),
    "Softmax": ({"axis": 1}, (4, 3)),
    "LayerNormalization": ({"epsilon": 1e-5, "scale": False}, (4, 6)),
    "ZeroPadding2D": ({"padding": ((1, 2), (0, 1))}, (4, 4, 2)),
    "Cropping2D": ({"cropping": ((1, 0), (1, 2))}, (6, 6, 2)),
    "Reshape": ({"target_shape": (4, 6)}, (3, 8)),
    "Permute": ({"dims": (2, 1)}, (3, 4)),
    "RepeatVector": ({"n": 3}, (4,)),
    "UpSampling2D": ({"size": (2, 3)}, (3, 3, 2)),
    "MaxPooling1D": ({"pool_size": 3, "strides": 1, "padding": "same"}, (6, 3)),
    "AveragePooling1D": ({"pool_size": 2}, (6, 3)),
    "GlobalMaxPooling1D": ({"keepdims": True}, (6, 3)),
    "GlobalMaxPooling2D": ({}, (4, 4, 2)),
    "GlobalAveragePooling1D": ({}, (6, 3)),
    "Embedding": ({"input_dim": 7, "output_dim": 3}, (5,)),
    "SpatialDropout2D": ({"rate": 0.2, "seed": 2}, (4, 4, 3)),
    "GaussianNoise": ({"stddev": 0.1, "seed": 3}, (5,)),
    "DepthwiseConv2D": ({"kernel_size": 3, "depth_multiplier": 2, "padding": "same"}, (5, 5, 2)),
    "SeparableConv2D": ({"filters": 3, "kernel_size": 3, "depth_multiplier": 2, "activation": "relu"}, (5, 5, 2)),
    "Conv2DTranspose": ({"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"}, (3, 3, 2)),
    "Conv1D": ({"filters": 3, "kernel_size": 3, "padding": "causal", "dilation_rate": 2}, (7, 2)),
    **{m: ({"axis": 1} if m == "Concatenate" else {}, (4, 3)) for m in MERGES},
}


def one_layer_model(class_name, dtype):
    """Input -> the layer (a merge layer takes the input and its tanh) -> output, with random weights."""
    kwargs, shape = CASES[class_name]
    x = nm.Input(shape, name="x")
    layer = nm.LAYERS[class_name](**kwargs, name="layer")
    y = layer([x, nm.Activation("tanh", name="tanh")(x)]) if class_name in MERGES else layer(x)
    model = nm.Model(x, y, name=f"one_{class_name.lower()}")
    model.cast(dtype)
    rng = np.random.default_rng(0)
    model.set_weights([np.abs(rng.standard_normal(w.shape)).astype(dtype) for w in model.get_weights()])
    return model


def test_every_layer_class_has_a_case():
    assert set(nm.LAYERS) - NO_KERAS_CLASS == set(CASES)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("class_name", sorted(CASES))
def test_layer_round_trips(class_name, dtype):
    model = one_layer_model(class_name, dtype)
    k_model = to_keras(model)
    back = from_keras(k_model)
    assert back.get_config() == model.get_config()
    assert to_keras(back).get_config()["layers"][1:] == k_model.get_config()["layers"][1:]
    assert_all_passed([compare(back.weights[k], v, k, tolerance(dtype, "roundtrip")) for k, v in model.weights.items()])
    rng = np.random.default_rng(1)
    shape = (2,) + CASES[class_name][1]
    x = rng.integers(0, 7, shape).astype(dtype) if class_name == "Embedding" else rng.standard_normal(shape).astype(dtype)
    assert_all_passed([compare(model.predict(x), k_model(x, training=False).numpy(), "output", tolerance(dtype))],
                      class_name)


def test_maxout_is_refused_by_name():
    x = nm.Input((6,), name="x")
    model = nm.Model(x, nm.Maxout(3, 2, name="mx")(x))
    with pytest.raises(UnsupportedModelError, match="Maxout 'mx'"):
        to_keras(model)


def test_unsupported_options_of_new_layers_are_refused_together():
    import keras

    x = keras.Input((6, 4), name="x")
    h = keras.layers.Conv1D(2, 3, kernel_constraint=keras.constraints.NonNeg(), name="conv")(x)
    h = keras.layers.LayerNormalization(rms_scaling=True, name="norm")(h)
    h = keras.layers.PReLU(alpha_constraint=keras.constraints.NonNeg(), name="prelu")(h)
    with pytest.raises(UnsupportedModelError) as info:
        from_keras(keras.Model(x, h))
    assert len(info.value.problems) == 3, str(info.value)
    for piece in ("Conv1D 'conv': kernel_constraint", "LayerNormalization 'norm': rms_scaling", "PReLU 'prelu': alpha_constraint"):
        assert piece in str(info.value)


def test_numpy_only_option_is_refused_by_to_keras():
    x = nm.Input((3, 3, 2), name="x")
    model = nm.Model(x, nm.UpSampling2D(interpolation="bilinear", compute_in_float32=False, name="up")(x))
    with pytest.raises(UnsupportedModelError, match="UpSampling2D 'up': compute_in_float32=False"):
        to_keras(model)
