"""Twins shared across checks (parity.twins.shared_twins) give the numbers of a fresh build, whatever ran before."""
import numpy as np

from keras_models import forward
from parity.specs import SPECS, make_inputs
from parity.twins import build_twins, shared_twins

SPEC = SPECS["mlp_bn_dropout_l2_784_256_100_64_32_10"]  # weights, moving statistics and dropout seed states


def _use(np_model, k_model):
    """What a check does to its twins: training-mode passes (masks drawn, statistics moved), a weight changed."""
    x = make_inputs(SPEC, "float32", 0)
    np_model.forward(x, training=True)
    forward(k_model, x, training=True)
    next(iter(np_model.params.values()))[...] += 1.0
    k_model.trainable_variables[0].assign(k_model.trainable_variables[0] + 1.0)


def test_reused_twins_are_reset_to_the_fresh_build():
    _use(*shared_twins(SPEC, "float32"))
    np_shared, k_shared = shared_twins(SPEC, "float32")
    np_fresh, k_fresh = build_twins(SPEC, "float32")
    assert len(k_shared.variables) == len(k_fresh.variables)
    for shared, fresh in zip(k_shared.variables, k_fresh.variables, strict=True):
        np.testing.assert_array_equal(shared.numpy(), fresh.numpy(), err_msg=shared.path)
    for key, value in np_fresh.weights.items():
        np.testing.assert_array_equal(np_shared.weights[key], value, err_msg=key)
    x = make_inputs(SPEC, "float32", 1)
    np.testing.assert_array_equal(np_shared.forward(x, training=True), np_fresh.forward(x, training=True))
    np.testing.assert_array_equal(forward(k_shared, x, training=True)[-1], forward(k_fresh, x, training=True)[-1])


def test_each_call_gets_its_own_numpy_twin():
    first, k_first = shared_twins(SPEC, "float64")
    second, k_second = shared_twins(SPEC, "float64")
    assert first is not second and k_first is k_second
    assert all(first.params[k] is not second.params[k] for k in first.params)
