"""Hypothesis: random Dense stacks agree with Keras in output shape and values."""
import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st

import keras_models
import numpy_models
from numpy_models.activations import ACTIVATIONS
from parity import compare, tolerance
from parity.weights import numpy_to_keras


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.integers(1, 5), extra_axes=st.lists(st.integers(1, 3), max_size=2),
       sizes=st.lists(st.integers(1, 6), min_size=2, max_size=4),
       acts=st.lists(st.sampled_from(sorted(ACTIVATIONS)), min_size=3, max_size=3), seed=st.integers(0, 999))
def test_dense_stacks_agree_in_shape_and_value(batch, extra_axes, sizes, acts, seed):
    layers = [("Dense", {"units": n, "activation": acts[i % 3]}, f"d{i}") for i, n in enumerate(sizes[1:])]
    input_shape = tuple(extra_axes) + (sizes[0],)
    np_model = numpy_models.build_sequential(layers, input_shape, "float64", seed)
    k_model = keras_models.build_sequential(layers, input_shape, "float64")
    numpy_to_keras(np_model, k_model)
    x = np.random.default_rng(seed).standard_normal((batch,) + input_shape)
    y = np_model.forward(x)
    ref = keras_models.forward(k_model, x)[-1]
    assert y.shape == ref.shape == (batch,) + np_model.output_shape[1:]
    assert tuple(k_model.output_shape[1:]) == np_model.output_shape[1:]
    assert compare(y, ref, "output", tolerance("float64")).passed
