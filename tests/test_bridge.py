"""The weight bridge: round trips, and clear errors for weights that do not fit."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import keras_models
import numpy_models
from parity.twins import build_twins
from parity.specs import SPECS
from parity.tolerances import tolerance
from parity.weights import WeightTransferError, keras_to_numpy, keras_weights, numpy_to_keras, verify_with_probe

SPEC = SPECS["net_2_2_2_sigmoid_mse"]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sizes=st.lists(st.integers(1, 7), min_size=2, max_size=4), dtype=st.sampled_from(["float32", "float64"]),
       use_bias=st.booleans(), seed=st.integers(0, 2**16))
def test_round_trip_is_bit_exact(sizes, dtype, use_bias, seed):
    layers = [("Dense", {"units": n, "use_bias": use_bias, "activation": "tanh"}, f"d{i}")
              for i, n in enumerate(sizes[1:])]
    np_model = numpy_models.build_sequential(layers, (sizes[0],), dtype, seed)
    k_model = keras_models.build_sequential(layers, (sizes[0],), dtype)
    numpy_to_keras(np_model, k_model)
    back = numpy_models.build_sequential(layers, (sizes[0],), dtype, seed + 1)
    keras_to_numpy(k_model, back)
    for key, value in np_model.weights.items():
        assert back.weights[key].dtype == value.dtype
        np.testing.assert_array_equal(back.weights[key], value)
        np.testing.assert_array_equal(keras_weights(k_model)[key], value)


def test_dtype_mismatch_is_refused_not_cast():
    np_model = numpy_models.build_sequential(SPEC.layer_tuples(), SPEC.input_shape, "float64")
    k_model = keras_models.build_sequential(SPEC.layer_tuples(), SPEC.input_shape, "float32")
    with pytest.raises(WeightTransferError, match=r"Layer 'hidden' weight 'kernel'.*float32.*float64"):
        numpy_to_keras(np_model, k_model)


def test_shape_mismatch_names_layer_expected_and_received():
    np_model = numpy_models.build_sequential([("Dense", {"units": 3}, "hidden")], (2,), "float64")
    k_model = keras_models.build_sequential([("Dense", {"units": 3}, "hidden")], (4,), "float64")
    with pytest.raises(WeightTransferError, match=r"'hidden' weight 'kernel'.*\(4, 3\).*\(2, 3\)"):
        numpy_to_keras(np_model, k_model)


def test_names_that_do_not_correspond_are_listed():
    np_model = numpy_models.build_sequential([("Dense", {"units": 3}, "a")], (2,), "float64")
    k_model = keras_models.build_sequential([("Dense", {"units": 3}, "b")], (2,), "float64")
    with pytest.raises(WeightTransferError, match=r"only in numpy: \['a/bias', 'a/kernel'\]"):
        numpy_to_keras(np_model, k_model)


def test_transposed_square_kernel_does_not_slip_through():
    np_model, k_model = build_twins(SPEC, "float64")
    # A layout mistake (a (out, in) kernel taken for (in, out)) keeps the 2x2 shape ...
    numpy_to_keras(np_model, k_model, transforms={"hidden/kernel": np.transpose})
    x = np.random.default_rng(0).standard_normal((4, 2))
    # ... but the probe forward names the layer whose outputs no longer agree.
    with pytest.raises(WeightTransferError, match="layer 'hidden' computes different outputs"):
        verify_with_probe(np_model, k_model, x, tolerance("float64"))


def test_read_back_catches_a_destination_that_does_not_store_what_was_sent(monkeypatch):
    np_model, k_model = build_twins(SPEC, "float64")
    variable = k_model.get_layer("output").kernel
    monkeypatch.setattr(type(variable), "numpy", lambda self: np.zeros(self.shape))
    with pytest.raises(WeightTransferError, match="Read-back of 'hidden/kernel'"):
        numpy_to_keras(np_model, k_model)


def test_numpy_set_weights_refuses_a_wrong_shape():
    model = numpy_models.build_sequential(SPEC.layer_tuples(), SPEC.input_shape, "float64")
    weights = model.get_weights()
    weights[0] = np.zeros((3, 2))
    with pytest.raises(ValueError, match=r"'hidden/kernel' expects shape \(2, 2\). Received: shape=\(3, 2\)"):
        model.set_weights(weights)
