"""1-D pooling and global pools: random sizes, windows, strides and padding, NumPy vs Keras."""
from hypothesis import assume, given, strategies as st

from tests.layer_parity import DTYPES, SETTINGS, assert_layers_agree


@SETTINGS
@given(length=st.integers(1, 9), channels=st.integers(1, 3), pool=st.integers(1, 4), stride=st.integers(1, 3),
       padding=st.sampled_from(["valid", "same"]), kind=st.sampled_from(["MaxPooling1D", "AveragePooling1D"]),
       fmt=st.sampled_from(["channels_last", "channels_first"]), dtype=st.sampled_from(DTYPES),
       seed=st.integers(0, 999))
def test_pooling1d(length, channels, pool, stride, padding, kind, fmt, dtype, seed):
    assume(padding == "same" or length >= pool)
    kwargs = {"pool_size": pool, "strides": stride, "padding": padding, "data_format": fmt}
    shape = (channels, length) if fmt == "channels_first" else (length, channels)
    # ReLU in front: exact ties (zeros) inside max-pool windows.
    layers = [("Activation", {"activation": "relu"}, "relu"), (kind, kwargs, "pool")]
    assert_layers_agree(layers, shape, dtype, seed)


@SETTINGS
@given(data=st.data(), cls=st.sampled_from(["GlobalMaxPooling1D", "GlobalAveragePooling1D", "GlobalMaxPooling2D"]),
       keepdims=st.booleans(),
       fmt=st.sampled_from(["channels_last", "channels_first"]), dtype=st.sampled_from(DTYPES),
       seed=st.integers(0, 999))
def test_global_pooling(data, cls, keepdims, fmt, dtype, seed):
    shape = tuple(data.draw(st.lists(st.integers(1, 4), min_size=int(cls[-2]) + 1, max_size=int(cls[-2]) + 1)))
    layers = [("Activation", {"activation": "relu"}, "relu"), (cls, {"keepdims": keepdims, "data_format": fmt}, "pool")]
    assert_layers_agree(layers, shape, dtype, seed)
