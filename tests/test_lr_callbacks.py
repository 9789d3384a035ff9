"""Learning-rate callbacks: the NumPy twins follow Keras's own callbacks epoch for epoch.

Both callbacks get the same Python-float logs; Keras's acts on a compiled Keras
model's optimizer, ours on a NumPy optimizer. The rate sequences must be equal
bit for bit, including the cases decided by Keras's float32 arithmetic.
"""
import functools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from numpy_models import callbacks, optimizers
from parity.training.callbacks import CallbackSetting, keras_callback, numpy_callback


@functools.cache
def _keras_model(dtype):
    """One compiled Keras model per dtype; each run resets its rate."""
    import keras

    from keras_models import build_sequential, keras_dtype
    from keras_models.optimizers import build_optimizer
    model = build_sequential([("Dense", {"units": 1}, "out")], (2,), dtype)
    with keras_dtype(dtype):
        model.compile(optimizer=build_optimizer("SGD", {"learning_rate": 0.1}, dtype), loss="mse", metrics=["accuracy"])
        model.test_on_batch(np.zeros((1, 2), dtype), np.zeros((1, 1), dtype))  # builds the metrics 'auto' looks up
    return model, keras


def rates(setting, monitored, lr=0.1, dtype="float64"):
    """The rate each twin holds after every epoch, driving both with the same monitored values."""
    model, keras = _keras_model(dtype)
    model.optimizer.learning_rate = lr
    ours = numpy_callback(setting, optimizers.SGD(learning_rate=lr), dtype)
    theirs = keras_callback(setting, model)
    out = {"numpy": [], "keras": []}
    for twin, cb, read in (("numpy", ours, ours.get_learning_rate),
                           ("keras", theirs, lambda: float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)))):
        cb.on_train_begin()
        for epoch, value in enumerate(monitored):
            cb.on_epoch_begin(epoch)
            cb.on_epoch_end(epoch, {"val_loss": value, "val_accuracy": value})
            out[twin].append(read())
    return out


PLATEAU = CallbackSetting("ReduceLROnPlateau", {"factor": 0.5, "patience": 2, "cooldown": 1, "min_lr": 0.01})
FLAT = [1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("setting, monitored", [
    (PLATEAU, FLAT),  # reductions every 3rd epoch (patience 2 + cooldown 1), then clipped at min_lr
    (CallbackSetting("ReduceLROnPlateau", {"patience": 0, "factor": 0.3}), FLAT),
    (CallbackSetting("ReduceLROnPlateau", {"patience": 1, "min_delta": 0.05}), [1.0, 0.96, 0.93, 0.9, 0.86, 0.85]),
    (CallbackSetting("ReduceLROnPlateau", {"patience": 1, "min_delta": 0.0}), [1.0, 1.0 - 1e-12, 1.0 - 2e-12, 0.5]),
    (CallbackSetting("ReduceLROnPlateau", {"patience": 1, "monitor": "val_accuracy"}), [0.5, 0.6, 0.6, 0.59, 0.7]),
    (CallbackSetting("ReduceLROnPlateau", {"patience": 1, "mode": "max", "min_delta": 0.01}), [0.5, 0.505, 0.52]),
    (CallbackSetting("ReduceLROnPlateau", {"patience": 1, "factor": 0.1, "min_lr": 0.001}), FLAT),
    (CallbackSetting("LearningRateScheduler", {"schedule": callbacks.PiecewiseConstantPlan([2, 5], [0.1, 0.03, 0.01])}),
     FLAT),
], ids=["patience_cooldown_min_lr", "patience_0", "min_delta", "float32_ties", "accuracy_auto_max", "mode_max",
        "min_lr_float32_edge", "stepped_plan"])
def test_numpy_callback_sets_the_same_rate_as_keras_every_epoch(setting, monitored, dtype):
    out = rates(setting, monitored, dtype=dtype)
    assert out["numpy"] == out["keras"]
    assert len(set(out["numpy"])) >= 2  # the rate did change


def test_improvements_below_float32_resolution_do_not_count_even_in_float64():
    out = rates(CallbackSetting("ReduceLROnPlateau", {"patience": 1, "min_delta": 0.0}), [1.0, 1.0 - 1e-12])
    assert out["numpy"] == out["keras"] == [0.1, 0.1 * 0.1]


@settings(max_examples=15, deadline=None)
@given(monitored=st.lists(st.sampled_from([1.0, 0.99995, 0.9999, 0.999, 0.99, 0.9, 1.1]), min_size=3, max_size=14),
       patience=st.integers(0, 3), cooldown=st.integers(0, 2), min_lr=st.sampled_from([0.0, 0.001, 0.01]))
def test_random_plateau_sequences_match_keras(monitored, patience, cooldown, min_lr):
    setting = CallbackSetting("ReduceLROnPlateau", {"factor": 0.2, "patience": patience, "cooldown": cooldown,
                                                    "min_lr": min_lr})
    out = rates(setting, monitored, dtype="float32")
    assert out["numpy"] == out["keras"]


def test_piecewise_constant_plan_is_the_value_of_the_epochs_piece():
    plan = callbacks.PiecewiseConstantPlan([2, 5], [0.5, 0.2, 0.1])
    assert [plan(e, 1.0) for e in range(7)] == [0.5, 0.5, 0.2, 0.2, 0.2, 0.1, 0.1]


@pytest.mark.parametrize("make, message", [
    (lambda: callbacks.ReduceLROnPlateau(factor=1.0), "factor >= 1.0"),
    (lambda: callbacks.ReduceLROnPlateau(mode="up"), "Received: mode='up'"),
    (lambda: callbacks.ReduceLROnPlateau(monitor="val_f1"), "monitor=val_f1"),
    (lambda: callbacks.ReduceLROnPlateau(verbose=1), "Received: verbose=1"),
    (lambda: callbacks.LearningRateScheduler(0.1), "schedule must be callable"),
    (lambda: callbacks.PiecewiseConstantPlan([2, 5], [0.1, 0.01]), "one more value"),
    (lambda: callbacks.PiecewiseConstantPlan([5, 2], [0.1, 0.05, 0.01]), "strictly increasing"),
    (lambda: callbacks.PiecewiseConstantPlan([2], [0.1, -1.0]), "values must be finite"),
], ids=["factor", "mode", "auto_unknown_metric", "verbose", "schedule", "plan_lengths", "plan_order", "plan_values"])
def test_bad_arguments_are_refused_by_name(make, message):
    with pytest.raises((ValueError, TypeError), match=message.replace("(", r"\(").replace("[", r"\[")):
        make()


def test_missing_monitored_value_and_schedule_optimizers_raise():
    cb = callbacks.ReduceLROnPlateau()
    cb.set_optimizer(optimizers.SGD(learning_rate=0.1), "float32")
    with pytest.raises(KeyError, match="'val_loss' is not in the logs"):
        cb.on_epoch_end(0, {"loss": 1.0})
    cb.set_optimizer(optimizers.SGD(learning_rate=optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)), "float32")
    with pytest.raises(TypeError, match="not settable"):
        cb.on_epoch_end(0, {"val_loss": 1.0})


def test_float32_rate_is_stored_float32_rounded_like_a_keras_variable():
    cb = callbacks.LearningRateScheduler(lambda epoch, lr: 0.03)
    opt = optimizers.SGD(learning_rate=0.1)
    cb.set_optimizer(opt, "float32")
    cb.on_epoch_begin(0)
    assert opt.learning_rate == float(np.float32(0.03)) != 0.03
