"""Padding, cropping, reshaping, permuting, repeating and upsampling: random configurations, NumPy vs Keras."""
import numpy as np
from hypothesis import assume, given, strategies as st

import numpy_models as nm
from parity.gradcheck import assert_gradients_ok
from tests.layer_parity import DTYPES, SETTINGS, assert_layers_agree

SMALL = st.integers(0, 2)
FORMATS = st.sampled_from(["channels_last", "channels_first"])
IMAGES = st.tuples(st.integers(1, 5), st.integers(1, 5), st.integers(1, 3))


@SETTINGS
@given(shape=IMAGES, pads=st.tuples(SMALL, SMALL, SMALL, SMALL), fmt=FORMATS, dtype=st.sampled_from(DTYPES),
       seed=st.integers(0, 999))
def test_zero_padding_then_cropping(shape, pads, fmt, dtype, seed):
    top, bottom, left, right = pads
    crop = ((bottom, top), (right, left))  # crop a different border than the one padded
    layers = [("ZeroPadding2D", {"padding": ((top, bottom), (left, right)), "data_format": fmt}, "pad"),
              ("Cropping2D", {"cropping": crop, "data_format": fmt}, "crop")]
    assert_layers_agree(layers, shape, dtype, seed)


@SETTINGS
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple), data=st.data(),
       dtype=st.sampled_from(DTYPES), seed=st.integers(0, 999))
def test_permute_then_reshape(shape, data, dtype, seed):
    dims = tuple(data.draw(st.permutations(range(1, len(shape) + 1))))
    size = int(np.prod(shape))
    first = data.draw(st.sampled_from([d for d in range(1, size + 1) if size % d == 0]))
    target = data.draw(st.sampled_from([(first, -1), (-1, first), (size,), (first, size // first, 1)]))
    layers = [("Permute", {"dims": dims}, "permute"), ("Reshape", {"target_shape": target}, "reshape")]
    assert_layers_agree(layers, shape, dtype, seed)


@SETTINGS
@given(features=st.integers(1, 5), n=st.integers(1, 4), dtype=st.sampled_from(DTYPES), seed=st.integers(0, 999))
def test_repeat_vector(features, n, dtype, seed):
    layers = [("RepeatVector", {"n": n}, "repeat"), ("Dense", {"units": 2}, "per_step")]
    assert_layers_agree(layers, (features,), dtype, seed)


@SETTINGS
@given(shape=IMAGES, size=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       interpolation=st.sampled_from(["nearest", "bilinear"]), fmt=FORMATS, dtype=st.sampled_from(DTYPES),
       seed=st.integers(0, 999))
def test_upsampling2d(shape, size, interpolation, fmt, dtype, seed):
    kwargs = {"size": size, "interpolation": interpolation, "data_format": fmt}
    assert_layers_agree([("UpSampling2D", kwargs, "up")], shape, dtype, seed)


@SETTINGS
@given(shape=IMAGES, size=st.tuples(st.integers(1, 3), st.integers(1, 3)), seed=st.integers(0, 999))
def test_bilinear_upsampling_float64_variant_passes_the_gradient_checker(shape, size, seed):
    # Keras's bilinear resize is float32 inside; the same formula in float64 must be exactly differentiable.
    assume(size != (1, 1))
    layer = nm.UpSampling2D(size, interpolation="bilinear", compute_in_float32=False, dtype="float64")
    assert_gradients_ok(layer, np.random.default_rng(seed).standard_normal((2,) + shape), seed=seed)
