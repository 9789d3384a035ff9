"""keras_models.optimizers.stepper: traced Keras optimizer steps, bit for bit those of eager ``apply_gradients``."""
import numpy as np
import pytest

from keras_models.backend import BACKEND
from parity.checks.optimizer_checks import gradient_sequence, kept_stepper
from parity.checks.optimizer_settings import OPTIMIZER_SETTINGS, keras_optimizer
from parity.specs import SPECS
from parity.twins import shared_twins
from tests.optimizer_groups import optimizer_group

pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="steps are traced on TensorFlow only")

STEPS = 12  # past every schedule's first boundary (decay_steps 5, boundaries 5 and 10)


def _trajectory(setting, spec, dtype, traced):
    """Every parameter, slot and the iteration count after each step, the optimizer fed ``gradient_sequence``;
    ``traced``: False (eager ``apply_gradients``), True (``stepper``) or "kept" (``kept_stepper``)."""
    from keras_models.optimizers import apply_gradients, slots, stepper
    from keras_models.runtime import read_values, weight_keys

    np_model, k_model = shared_twins(spec, dtype, 0)
    if traced == "kept":
        k_opt, step = kept_stepper(setting, dtype, k_model)
    else:
        k_opt = keras_optimizer(setting, dtype)
        step = stepper(k_opt, k_model) if traced else (lambda grads: apply_gradients(k_opt, k_model, grads))
    keyed = weight_keys(k_model)
    states = []
    for grads in gradient_sequence(np_model, STEPS, dtype, 0):
        step(grads)
        states.append((read_values([v for _, v in keyed]), slots(k_opt, keyed), int(k_opt.iterations.numpy())))
    return states


_EAGER = {}


def _eager_trajectory(setting, spec, dtype):
    """``_trajectory(..., traced=False)``, computed once per process: two tests compare against it."""
    key = (setting.id, spec.id, dtype)
    if key not in _EAGER:
        _EAGER[key] = _trajectory(setting, spec, dtype, False)
    return _EAGER[key]


def _assert_same(eager, traced):
    for after, (a, b) in enumerate(zip(eager, traced, strict=True), start=1):
        assert a[2] == b[2] == after
        for x, y in zip(a[0], b[0], strict=True):
            np.testing.assert_array_equal(x, y, err_msg=f"parameter after step {after}")
        assert a[1].keys() == b[1].keys()
        for slot, per_key in a[1].items():
            for key, value in per_key.items():
                np.testing.assert_array_equal(value, b[1][slot][key], err_msg=f"{key} [{slot}] after step {after}")


DENSE = SPECS["net_2_3_1_sigmoid_mse"]


def _dense_cases(setting_ids):
    """(setting, dtype) on the Dense net, id "setting-dtype", in the group of test_optimizers' case."""
    return [pytest.param(OPTIMIZER_SETTINGS[s], dtype, id=f"{s}-{dtype}",
                         marks=optimizer_group(DENSE, OPTIMIZER_SETTINGS[s], dtype))
            for s in setting_ids for dtype in ("float32", "float64")]


@pytest.mark.parametrize("setting, dtype", _dense_cases(OPTIMIZER_SETTINGS))
def test_traced_steps_are_eager_steps_bit_for_bit(setting, dtype):
    spec = DENSE
    _assert_same(_eager_trajectory(setting, spec, dtype), _trajectory(setting, spec, dtype, True))


@pytest.mark.parametrize("setting_id", ["adam_amsgrad", "rmsprop_centered_momentum", "nadam_high_lr",
                                        "sgd_weight_decay_clipnorm"])
def test_traced_steps_on_a_cnn_are_eager_steps_bit_for_bit(setting_id):
    setting, spec = OPTIMIZER_SETTINGS[setting_id], SPECS["lenet_digits_8"]
    _assert_same(_trajectory(setting, spec, "float32", False), _trajectory(setting, spec, "float32", True))


# One setting of each Keras optimizer, the slots and schedules its steps read (the report's 100 optimizer rows, every
# setting of both models in both dtypes, are identical through kept steppers: benchmarks/report_identity.py).
KEPT_SETTINGS = ["sgd_piecewise_constant", "rmsprop_centered_momentum", "adagrad_high_lr", "adadelta_lr1",
                 "adam_amsgrad", "adamw_strong_decay", "nadam_high_lr", "adamax_high_lr"]


@pytest.mark.parametrize("setting, dtype", _dense_cases(KEPT_SETTINGS))
def test_a_kept_optimizer_steps_as_a_fresh_eager_one_at_every_use(setting, dtype):
    """Built before its first step and traced from it, then restored and stepped again: both trajectories are
    those of a fresh optimizer's eager steps, bit for bit."""
    spec = DENSE
    eager = _eager_trajectory(setting, spec, dtype)
    _assert_same(eager, _trajectory(setting, spec, dtype, "kept"))
    _assert_same(eager, _trajectory(setting, spec, dtype, "kept"))


def test_the_graph_optimizer_is_switched_back_even_after_an_error():
    import tensorflow as tf

    from keras_models.optimizers import graph_rewrites_off

    before = tf.config.optimizer.get_experimental_options().get("disable_meta_optimizer", False)
    with pytest.raises(RuntimeError), graph_rewrites_off():
        assert tf.config.optimizer.get_experimental_options()["disable_meta_optimizer"] is True
        raise RuntimeError("a failing step")
    assert tf.config.optimizer.get_experimental_options().get("disable_meta_optimizer", False) == before
