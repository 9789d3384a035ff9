"""Embedding, SpatialDropout2D and GaussianNoise: random configurations, NumPy vs Keras (random streams replayed)."""
from hypothesis import given, strategies as st

from tests.layer_parity import DTYPES, SETTINGS, assert_layers_agree

NORMAL = {"class_name": "RandomNormal", "config": {"mean": 0.0, "stddev": 1.0, "seed": None}}


@SETTINGS
@given(input_dim=st.integers(1, 9), output_dim=st.integers(1, 4),
       shape=st.lists(st.integers(1, 4), min_size=1, max_size=2).map(tuple), dtype=st.sampled_from(DTYPES),
       seed=st.integers(0, 999))
def test_embedding(input_dim, output_dim, shape, dtype, seed):
    kwargs = {"input_dim": input_dim, "output_dim": output_dim, "embeddings_initializer": NORMAL}
    assert_layers_agree([("Embedding", kwargs, "embedding")], shape, dtype, seed, inputs="integers", batch_size=5)


@SETTINGS
@given(shape=st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4)), rate=st.floats(0.0, 0.9),
       fmt=st.sampled_from(["channels_last", "channels_first"]), training=st.booleans(),
       dtype=st.sampled_from(DTYPES), seed=st.integers(0, 999))
def test_spatial_dropout2d(shape, rate, fmt, training, dtype, seed):
    kwargs = {"rate": rate, "data_format": fmt, "seed": seed}
    assert_layers_agree([("SpatialDropout2D", kwargs, "sdrop")], shape, dtype, seed, training=training, batch_size=4)


@SETTINGS
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple), stddev=st.floats(0.0, 1.0),
       training=st.booleans(), dtype=st.sampled_from(DTYPES), seed=st.integers(0, 999))
def test_gaussian_noise(shape, stddev, training, dtype, seed):
    assert_layers_agree([("GaussianNoise", {"stddev": stddev, "seed": seed}, "noise")], shape, dtype, seed,
                        training=training)
