"""keras_models.traced_gradients: the traced loss and gradients are the eager ones, bit for bit."""
import numpy as np
import pytest

from keras_models.runtime import loss_and_gradients, weight_keys
from keras_models.traced_gradients import _ATTRIBUTE, _fused_in_graphs, loss_gradients_function
from parity.specs import SPECS, make_inputs, make_targets
from parity.training.experiments import _deep_mlp
from parity.twins import initial_values, keras_loss, restore, shared_twins

# The optimizer checks' Dense net and CNN, and an MLP with BatchNormalization, Dropout and L2 (state updates).
MODELS = [SPECS["net_2_3_1_sigmoid_mse"], SPECS["lenet_digits_8"], _deep_mlp(64, "bn_dropout_l2")]
STEPS = 3


def _batch(spec, np_model, dtype, step):
    x = make_inputs(spec, dtype, step)
    return x, make_targets(spec, np_model.forward(x).shape, dtype, step)


def _state(k_model):
    return [v.numpy().copy() for v in k_model.variables]


@pytest.mark.parametrize("training", [True, False], ids=["training", "inference"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("spec", MODELS, ids=lambda s: s.id)
def test_traced_loss_and_gradients_are_the_eager_ones_bit_for_bit(spec, dtype, training):
    """Value, every gradient and every variable after the call (moving statistics, dropout seeds), step after
    step from the same state; the weights move between steps so each step is taken at a new point."""
    np_model, k_model = shared_twins(spec, dtype)
    loss_fn = keras_loss(spec, dtype)
    traced = loss_gradients_function(k_model, loss_fn, training=training)
    assert not _fused_in_graphs(k_model)  # the suite's one intra-op thread: every case is traced, none eager
    for step in range(STEPS):
        x, y_true = _batch(spec, np_model, dtype, step)
        before = initial_values(k_model.variables)
        eager = loss_and_gradients(k_model, loss_fn, x, y_true, training=training)
        eager_state = _state(k_model)
        restore(before)
        ours = traced(x, y_true)
        assert ours["value"] == eager["value"], f"step {step}: loss"
        assert list(ours["grads"]) == list(eager["grads"])
        for key, grad in eager["grads"].items():
            np.testing.assert_array_equal(ours["grads"][key], grad, err_msg=f"step {step}: {key}")
        for variable, after, value in zip(k_model.variables, _state(k_model), eager_state, strict=True):
            np.testing.assert_array_equal(after, value, err_msg=f"step {step}: {variable.path}")
        for key, variable in weight_keys(k_model):
            variable.assign(variable - 0.05 * ours["grads"][key])
    assert getattr(k_model, _ATTRIBUTE)  # the values compared above came from a kept trace


def test_a_second_function_for_the_same_model_and_loss_reuses_the_trace():
    spec, dtype = MODELS[0], "float64"
    np_model, k_model = shared_twins(spec, dtype)
    x, y_true = _batch(spec, np_model, dtype, 0)
    first = loss_gradients_function(k_model, keras_loss(spec, dtype), training=True)(x, y_true)
    traces = dict(getattr(k_model, _ATTRIBUTE))
    second = loss_gradients_function(k_model, keras_loss(spec, dtype), training=True)(x, y_true)
    assert getattr(k_model, _ATTRIBUTE) == traces and len(traces) >= 1
    assert first["value"] == second["value"]


@pytest.mark.parametrize("threads, fused", [("1", False), ("2", True)])
def test_float32_convolutions_stay_eager_where_onednn_sums_their_bias_gradient_over_threads(monkeypatch, threads,
                                                                                            fused):
    """oneDNN's graph rewrite fuses a convolution's filter and bias gradients and, with more than one intra-op
    thread, sums the float32 bias gradient in another order than eager: such models are not traced. Float64
    models and models without convolutions are."""
    from tensorflow.python.util import _pywrap_util_port

    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", threads)  # read when a function is made (the suite runs one)
    assert _fused_in_graphs(shared_twins(SPECS["lenet_digits_8"], "float32")[1]) == (
        fused and _pywrap_util_port.IsMklEnabled())
    assert not _fused_in_graphs(shared_twins(SPECS["lenet_digits_8"], "float64")[1])
    assert not _fused_in_graphs(shared_twins(MODELS[2], "float32")[1])


def test_huber_losses_of_another_delta_each_get_their_own_trace():
    """Keras's Huber.get_config leaves its delta out: the trace is kept by the loss function's arguments too."""
    import keras

    from keras_models.build import keras_dtype

    spec, dtype = MODELS[0], "float64"
    np_model, k_model = shared_twins(spec, dtype)
    x, y_true = _batch(spec, np_model, dtype, 0)
    with keras_dtype(dtype):
        huber = [keras.losses.Huber(delta=0.01), keras.losses.Huber(delta=100.0)]
    traced = [loss_gradients_function(k_model, loss_fn)(x, y_true)["value"] for loss_fn in huber]
    assert traced == [loss_and_gradients(k_model, loss_fn, x, y_true)["value"] for loss_fn in huber]
    assert traced[0] != traced[1]
