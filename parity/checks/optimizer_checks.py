"""Optimizer parity: parameters and every slot after each step, NumPy vs Keras.

``check_optimizer_trajectory`` feeds both optimizers the same gradient
sequence; ``check_training_steps`` lets each twin compute its own gradients
(forward, loss, backward, update) for the same batches.
"""
import numpy as np

from parity import random_streams
from parity.checks.optimizer_settings import keras_optimizer, numpy_optimizer
from parity.compare import compare
from parity.specs import make_inputs, make_targets
from parity.tolerances import tolerance
from parity.twins import initial_values, keras_loss, numpy_loss, restore, shared_twins


def _compare_state(step, np_model, np_opt, k_model, k_opt, tol):
    from keras_models.optimizers import slots  # imports TensorFlow
    from keras_models.runtime import read_values, weight_keys

    keyed = weight_keys(k_model)
    *values, iterations = read_values([v for _, v in keyed] + [k_opt.iterations])
    out = [compare(np_model.params[k], value, f"step {step}: {k}", tol, tensor=k, kind="param", step=step)
           for (k, _), value in zip(keyed, values, strict=True)]
    k_slots = slots(k_opt, keyed)
    if set(k_slots) != {s for s, d in np_opt.slots.items() if d}:
        raise AssertionError(f"slot names differ: numpy {sorted(np_opt.slots)} vs keras {sorted(k_slots)}")
    for slot, per_key in k_slots.items():
        out += [compare(np_opt.slots[slot][k], arr, f"step {step}: {k} [{slot}]", tol, tensor=k, kind="slot",
                        step=step, slot=slot) for k, arr in per_key.items()]
    out.append(compare(np.asarray(np_opt.iterations), np.asarray(int(iterations)),
                       f"step {step}: iterations", 0.0, kind="iterations", step=step))
    return out


def gradient_sequence(np_model, steps, dtype, seed):
    """``steps`` random gradients for every parameter (stream ``optimizer_gradients``)."""
    rng = random_streams.generator("optimizer_gradients", seed)
    return [{k: rng.standard_normal(p.shape).astype(dtype) for k, p in np_model.params.items()} for _ in range(steps)]


# On the Keras twin itself, {setting's key: (its optimizer, stepper, [(variable, value after the build)])}: the
# steppers hold the twin's variables and die with it (``shared_twins`` keeps a bounded number of twins).
_ATTRIBUTE = "_parity_kept_steppers"


def kept_stepper(setting, dtype, k_model):
    """(Keras optimizer of ``setting``, its ``stepper``) for ``shared_twins``' Keras twin ``k_model``, kept on the
    twin and every optimizer variable (iterations, learning rate, slots) restored on reuse to its value after the
    build.

    Tracing a step costs 50-100 ms, the 20 traced steps of a check 10-15 ms: the trajectory and training-step
    checks of one setting share one trace. The optimizer is built before the first step (``build_for``), so every
    step is traced; traced steps are eager ones bit for bit (tests/test_optimizer_steps.py).
    """
    from keras_models.optimizers import build_for, stepper  # imports TensorFlow

    kept = getattr(k_model, _ATTRIBUTE, None)
    if kept is None:
        kept = {}
        object.__setattr__(k_model, _ATTRIBUTE, kept)  # past Keras's attribute tracking: not a layer or weight
    key = (setting.id, setting.class_name, repr(setting.kwargs), dtype)
    if key not in kept:
        k_opt = keras_optimizer(setting, dtype)
        build_for(k_opt, k_model)
        kept[key] = (k_opt, stepper(k_opt, k_model), initial_values(k_opt.variables))
    k_opt, step, built = kept[key]
    restore(built)
    return k_opt, step


def check_optimizer_trajectory(setting, spec, dtype, steps=20, seed=0):
    """Feed the same gradients to both optimizers; compare params, slots and iterations after every step."""
    np_model, k_model = shared_twins(spec, dtype, seed)
    np_opt, (k_opt, keras_step) = numpy_optimizer(setting), kept_stepper(setting, dtype, k_model)
    tol = tolerance(dtype)
    result = []
    for step, grads in enumerate(gradient_sequence(np_model, steps, dtype, seed), start=1):
        np_opt.update(np_model.params, grads)
        keras_step(grads)
        result += _compare_state(step, np_model, np_opt, k_model, k_opt, tol)
    return result


ADAPTIVE = ("Adam", "AdamW", "Nadam", "Adamax", "RMSprop", "Adagrad", "Adadelta")


def _state_tolerance(setting, dtype):
    """See TOLERANCES[("float32", "adaptive_own_gradients")] for why adaptive float32 steps differ."""
    if dtype == "float32" and setting.class_name in ADAPTIVE:
        return tolerance("float32", "adaptive_own_gradients")
    return tolerance(dtype)


def check_training_steps(setting, spec, dtype, steps=20, seed=0):
    """Each twin computes its own loss gradients on the same batches and takes its own step.

    The loss is compared at every step with the dtype's tolerance, parameters
    and slots after every step (see ``_state_tolerance``). Gradients at equal
    weights are ``check_loss``'s job: here each side's weights drift apart by
    round-off, so later gradients are taken at (slightly) different points.
    """
    from keras_models.traced_gradients import loss_gradients_function  # imports TensorFlow

    np_model, k_model = shared_twins(spec, dtype, seed)
    np_opt, loss = numpy_optimizer(setting), numpy_loss(spec)
    k_opt, keras_step = kept_stepper(setting, dtype, k_model)
    keras_gradients = loss_gradients_function(k_model, keras_loss(spec, dtype), training=True)
    tol, state_tol = tolerance(dtype), _state_tolerance(setting, dtype)
    result = []
    for step in range(1, steps + 1):
        batch_seed = random_streams.seed_for("training_step_batch", seed, step)
        x = make_inputs(spec, dtype, batch_seed)
        y = np_model.forward(x, training=True)
        y_true = make_targets(spec, y.shape, dtype, batch_seed)
        np_loss = np_model.compute_loss(loss, y_true, y)
        np_model.backward_loss(loss, y_true, y)
        ref = keras_gradients(x, y_true)  # traced once per process for the shared twin: loss_and_gradients' numbers
        result.append(compare(np.asarray(np_loss), np.asarray(ref["value"]), f"step {step}: loss", tol,
                              kind="loss", step=step))
        np_opt.update(np_model.params, np_model.grads)
        keras_step(ref["grads"])
        result += _compare_state(step, np_model, np_opt, k_model, k_opt, state_tol)
    return result


def max_param_error_at(comparisons, step):
    """Largest relative parameter error after ``step`` (slots, loss and iterations excluded)."""
    errs = [c.max_rel for c in comparisons if c.step == step and c.kind == "param"]
    return max(errs) if errs else None
