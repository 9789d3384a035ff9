"""LayerNormalization and BatchNormalization (any axis, frozen): random configurations, NumPy vs Keras."""
import math

from hypothesis import assume, given, strategies as st

from tests.layer_parity import DTYPES, SETTINGS, assert_layers_agree

SHAPES = st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple)
AFFINE = {"gamma_initializer": {"class_name": "RandomNormal", "config": {"mean": 1.0, "stddev": 0.5, "seed": None}},
          "beta_initializer": {"class_name": "RandomNormal", "config": {"mean": 0.0, "stddev": 0.5, "seed": None}}}
MOVING = {"moving_mean_initializer": {"class_name": "RandomNormal", "config": {"mean": 0.0, "stddev": 0.5, "seed": None}},
          "moving_variance_initializer": {"class_name": "RandomUniform", "config": {"minval": 0.5, "maxval": 2.0, "seed": None}}}


@SETTINGS
@given(shape=SHAPES, data=st.data(), center=st.booleans(), scale=st.booleans(), epsilon=st.sampled_from([1e-3, 1e-5, 0.1]),
       dtype=st.sampled_from(DTYPES), seed=st.integers(0, 999))
def test_layer_normalization(shape, data, center, scale, epsilon, dtype, seed):
    # Not exactly 2 normalised values: then x_hat = +-sqrt(var / (var + eps)) and the exact input gradient,
    # r * (dout - mean(dout) - x_hat * mean(dout * x_hat)), cancels to ~eps / var of its terms' size. Measured
    # (200 draws, float32, eps=1e-5): it is ~1e-4 of r*|dout|, and float32 NumPy and Keras are each ~7e-4
    # (median) from the float64 truth -- pure conditioning, 193/200 over 1e-5 relative; 1 value gives exactly 0,
    # 3 or more values agree within 7.5e-6 of float64 (0/200 failing).
    ndim = len(shape) + 1
    axes = data.draw(st.lists(st.sampled_from([a for i in range(1, ndim) for a in (i, i - ndim)]), min_size=1,
                              max_size=len(shape)).filter(lambda a: len({x % ndim for x in a}) == len(a)))
    assume(math.prod(shape[a % ndim - 1] for a in axes) != 2)
    axis = axes[0] if len(axes) == 1 else axes
    kwargs = {"axis": axis, "center": center, "scale": scale, "epsilon": epsilon, **AFFINE}
    assert_layers_agree([("LayerNormalization", kwargs, "ln")], shape, dtype, seed, batch_size=4)


@SETTINGS
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple), data=st.data(),
       trainable=st.booleans(), training=st.booleans(), dtype=st.sampled_from(DTYPES), seed=st.integers(0, 999))
def test_batch_normalization_axis_and_frozen(shape, data, trainable, training, dtype, seed):
    ndim = len(shape) + 1
    axis = data.draw(st.sampled_from([a for i in range(1, ndim) for a in (i, i - ndim)]))
    kwargs = {"axis": axis, "trainable": trainable, "momentum": 0.8, **AFFINE, **MOVING}
    # A batch of 5 whose statistics, per channel, cover >= 5 values: no zero-variance channels.
    assert_layers_agree([("BatchNormalization", kwargs, "bn")], shape, dtype, seed, training=training, batch_size=5)
