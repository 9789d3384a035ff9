"""Activation strings and activation layers: random configurations and shapes, NumPy vs Keras."""
from hypothesis import given, strategies as st

from tests.layer_parity import DTYPES, SETTINGS, assert_layers_agree

NEW_STRINGS = ["relu6", "softplus", "softsign", "hard_sigmoid", "hard_silu", "hard_swish", "mish", "log_softmax",
               "exponential", "linear"]
SHAPES = st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple)


@SETTINGS
@given(act=st.sampled_from(NEW_STRINGS), shape=SHAPES, dtype=st.sampled_from(DTYPES), seed=st.integers(0, 999))
def test_activation_strings(act, shape, dtype, seed):
    assert_layers_agree([("Activation", {"activation": act}, "act")], shape, dtype, seed, inputs="wide")


@SETTINGS
@given(max_value=st.one_of(st.none(), st.sampled_from([6.0, 1.5, 4.25])), slope=st.sampled_from([0.0, 0.1, 0.45]),
       threshold=st.sampled_from([0.0, 0.5, 2.0]), shape=SHAPES, dtype=st.sampled_from(DTYPES),
       seed=st.integers(0, 999))
def test_relu_layer(max_value, slope, threshold, shape, dtype, seed):
    kwargs = {"max_value": max_value, "negative_slope": slope, "threshold": threshold}
    assert_layers_agree([("ReLU", kwargs, "relu")], shape, dtype, seed, inputs="wide")


@SETTINGS
@given(slope=st.floats(0.0, 2.0), alpha=st.floats(0.1, 3.0), shape=SHAPES, dtype=st.sampled_from(DTYPES),
       seed=st.integers(0, 999))
def test_leaky_relu_and_elu_layers(slope, alpha, shape, dtype, seed):
    layers = [("LeakyReLU", {"negative_slope": slope}, "leaky"), ("ELU", {"alpha": alpha}, "elu")]
    assert_layers_agree(layers, shape, dtype, seed)


@SETTINGS
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple), data=st.data(),
       dtype=st.sampled_from(DTYPES), seed=st.integers(0, 999))
def test_prelu_layer(shape, data, dtype, seed):
    shared = data.draw(st.lists(st.integers(1, len(shape)), unique=True, max_size=len(shape)))
    init = {"class_name": "RandomUniform", "config": {"minval": -1.0, "maxval": 1.0, "seed": None}}
    kwargs = {"alpha_initializer": init, "shared_axes": shared or None}
    assert_layers_agree([("PReLU", kwargs, "prelu")], shape, dtype, seed)


@SETTINGS
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple), data=st.data(),
       dtype=st.sampled_from(DTYPES), seed=st.integers(0, 999))
def test_softmax_layer(shape, data, dtype, seed):
    axes = data.draw(st.lists(st.integers(1, len(shape)), unique=True, min_size=1, max_size=len(shape)))
    axis = axes[0] if len(axes) == 1 and data.draw(st.booleans()) else axes
    assert_layers_agree([("Softmax", {"axis": axis}, "softmax")], shape, dtype, seed)
