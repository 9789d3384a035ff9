"""N training steps of a twin and its Keras model, with snapshots to bisect and a per-phase replay.

``run_steps`` runs both sides ``steps`` times with the compiled loss and
optimizer (each side its own gradients, as ``parity.checks.graph_checks``),
keeping after every step a snapshot of both states (weights, optimizer slots and
iteration counters) and the loss comparison; a ``state_floors.Shadow`` beside it
gives the floors of tensors whose gradient is zero, its own state of those
tensors, compared with Keras's too, and its own gradients of them at every
step, which the step's checks and replay judge in place of the twin's. ``state_comparisons`` compares one
snapshot; ``replay_step`` restores the snapshot before a step and reruns it on
both sides phase by phase: "forward" (the loss), "gradient" (each weight
gradient), "slot" (each optimizer slot after the update) and "update" (each
weight after it). Keras imports happen on first use.
"""
import copy
from dataclasses import dataclass, field

import numpy as np

from parity.checks.graph_checks import _loss_comparison as graph_loss_comparison
from parity.checks.optimizer_checks import ADAPTIVE
from parity.compare import compare
from parity.tolerances import tolerance
from parity.verify import masks
from parity.verify.layers import as_graph
from parity.verify.loss_condition import gradient_scales, loss_condition, near_fit_shares
from parity.verify.state_floors import Shadow, backward

PHASES = ("forward", "gradient", "slot", "update")
SHADOW_NOTE = " (the twin's optimizer on Keras's gradients)"  # a state_floors.Shadow's array against Keras's
# a state judged on the shadow's floor: its max_rel is near rtol by construction (the floor is how far the shadow is
# from the twin, over rtol), and the shadow's own comparison with Keras is the informative one
FLOORED_NOTE = "judged on the shadow's floor (parity.verify.state_floors)"


def state_tolerance(optimizer, dtype):
    """See TOLERANCES[("float32", "adaptive_own_gradients")]; a user's subclass of Adam counts as Adam."""
    if dtype == "float32" and any(cls.__name__ in ADAPTIVE for cls in type(optimizer).__mro__):
        return tolerance("float32", "adaptive_own_gradients")
    return tolerance(dtype)


@dataclass
class Run:
    """Both sides of a training run: models, optimizers, data and the snapshot after every step."""

    k_model: object
    twin: object
    xs: list
    ys: list
    k_opt: object = None
    snapshots: list = field(default_factory=list)  # index s: the state after step s (0: the start)
    losses: list = field(default_factory=list)  # Comparison of the loss at step s (index s - 1)
    batches: object = None  # step -> (xs, ys) of that step (a training run's batches); None: xs, ys every step
    shadow: object = None  # state_floors.Shadow beside the run (verify's own runs)
    floors: dict = field(default_factory=dict)  # step -> {(slot or None, key): floor} (state_floors)
    shadowed: dict = field(default_factory=dict)  # step -> {(slot or None, key): the shadow's array} (state_floors)
    gradients: dict = field(default_factory=dict)  # step -> [Comparison] of the shadowed tensors' gradients

    def batch(self, step):
        """(xs, ys) that step ``step`` (1-based) trains on."""
        return self.batches(step) if self.batches is not None else (self.xs, self.ys)


def _keras_state(run):
    """Every variable of the model and the optimizer, read in one operation (``read_values``), and the state of
    torch's global generator on PyTorch (None elsewhere)."""
    from keras_models.dropout import global_stream_state  # imports TensorFlow
    from keras_models.runtime import read_values  # imports TensorFlow

    # variables, not weights: the seed-generator states of Dropout layers too, so a restored step draws its masks;
    # on PyTorch an unseeded Dropout draws from torch's global generator instead (keras_models.dropout), kept too
    model, opt = list(run.k_model.variables), list(run.k_opt.variables)
    values = read_values(model + opt)
    return values[:len(model)], values[len(model):], global_stream_state()


def snapshot(run):
    """Append both sides' current state (twin with its optimizer; Keras variables and optimizer variables)."""
    run.snapshots.append((copy.deepcopy(run.twin), _keras_state(run)))


def restore(run, s):
    from keras_models.dropout import set_global_stream_state  # imports TensorFlow

    twin_state, (weights, opt_vars, stream) = run.snapshots[s]
    run.twin = copy.deepcopy(twin_state)
    for v, a in zip(run.k_model.variables, weights, strict=True):
        v.assign(a)
    for v, a in zip(run.k_opt.variables, opt_vars, strict=True):
        v.assign(a)
    set_global_stream_state(stream)


def _forward_backward(run, step):
    """The twin's loss value and gradients, and Keras's compiled-loss result, at the current states."""
    from keras_models.functional import graph_compiled_gradients  # imports TensorFlow

    twin, (xs, ys) = run.twin, run.batch(step)
    ref = graph_compiled_gradients(run.k_model, xs, ys)
    value, y_true, y_pred = backward(twin, xs, ys)
    ref["loss_condition"] = loss_condition(twin, y_true, y_pred)
    ref["near_fit_shares"] = near_fit_shares(twin, y_true, y_pred, ref["outputs"])
    return value, ref


def _loss_comparison(step, value, ref):
    """The step's loss against Keras's (``graph_checks``: Keras reports it in float32 for a float64 model), on at
    least the scale of the loss's sensitivity to its outputs (``loss_condition``): near a fit the loss cancels, and
    its relative round-off grows without bound."""
    condition = ref["loss_condition"]
    if condition <= abs(float(ref["value"])):
        return graph_loss_comparison(step, value, ref)
    result = compare(np.asarray(value), np.asarray(ref["value"]), f"step {step}: loss", tolerance(ref["value_dtype"]),
                     floor=condition)
    result.note = (f"Keras reports the compiled loss in {ref['value_dtype']}; judged on the loss's sensitivity to "
                   f"its outputs, {condition:.3g} (parity/verify/loss_condition.py)")
    return result


def _apply(run, ref):
    from keras_models.functional import keyed_variables  # imports TensorFlow
    from keras_models.optimizers import apply_gradients  # imports TensorFlow

    run.twin.optimizer.update(run.twin.params, run.twin.grads)
    keyed = keyed_variables(run.k_model, trainable_only=True)
    apply_gradients(run.k_opt, run.k_model, ref["grads"], keyed)


def start(k_model, twin, xs, ys):
    """A Run at step 0 with a fresh Keras optimizer (built, so that its variables can be snapshot) and the Keras
    model's Dropout masks replayed in the twin (``masks``)."""
    from keras_models.functional import fresh_optimizer, keyed_variables  # imports TensorFlow

    run = Run(k_model, _as_training_graph(twin), list(xs), list(ys))
    masks.install(run.twin, k_model)  # the twin draws the masks Keras draws, step by step
    run.k_opt = fresh_optimizer(k_model.optimizer, twin.dtype)
    run.k_opt.build([v for _, v in keyed_variables(k_model, trainable_only=True)])
    run.shadow = Shadow(run.twin, tolerance(twin.dtype).rtol, state_tolerance(twin.optimizer, twin.dtype).rtol)
    snapshot(run)
    return run


def _as_training_graph(twin):
    """A copy of the twin as a functional graph (``layers.as_graph``) with its loss, optimizer and loss weights: a
    graph records the gradient with respect to each layer's output, which the zero-gradient floors are measured
    with (``condition_scales``); a Sequential records none, so its biases feeding BatchNormalization had no floor."""
    graph = as_graph(twin)
    for attribute in ("loss", "optimizer", "loss_weights"):
        setattr(graph, attribute, copy.deepcopy(getattr(twin, attribute, None)))
    return graph


def run_steps(run, steps):
    """Advance both sides ``steps`` steps, recording the loss comparison and a snapshot after each."""
    for step in range(len(run.snapshots), len(run.snapshots) + steps):
        value, ref = _forward_backward(run, step)
        run.losses.append(_loss_comparison(step, value, ref))
        run.gradients[step] = run.shadow.step(run.twin, run.batch(step), ref, ref["near_fit_shares"])
        _apply(run, ref)
        run.floors[step], run.shadowed[step] = run.shadow.floors(run.twin), run.shadow.states()
        snapshot(run)
    return run


def _slot_and_weight_comparisons(run, step, twin):
    from keras_models.functional import keyed_variables  # imports TensorFlow
    from keras_models.optimizers import slots  # imports TensorFlow
    from keras_models.runtime import read_values  # imports TensorFlow

    tol, floors = state_tolerance(twin.optimizer, twin.dtype), run.floors.get(step, {})
    keyed = keyed_variables(run.k_model, trainable_only=True)
    keras = {(name, k): a for name, per_key in slots(run.k_opt, keyed).items() for k, a in per_key.items()}
    weights = keyed_variables(run.k_model)
    keras.update({(None, k): a for (k, _), a in zip(weights, read_values(v for _, v in weights), strict=True)})
    mine = {**{(name, k): a for name, per_key in twin.optimizer.slots.items() for k, a in per_key.items()},
            **{(None, k): a for k, a in twin.weights.items()}}
    found = {"slot": [], "update": []}
    for (name, k), a in keras.items():
        found["slot" if name else "update"].append(_state_comparison(step, name, k, mine[(name, k)], a, tol,
                                                                     floors.get((name, k), 0.0)))
    for (name, k), a in run.shadowed.get(step, {}).items():  # see state_floors.Shadow.states
        if (name, k) in keras:
            found["slot" if name else "update"].append(
                _state_comparison(step, name, k, a, keras[(name, k)], tol, 0.0, SHADOW_NOTE))
    return found


def _state_comparison(step, slot, key, a, b, tol, floor, note=""):
    name = f"step {step}: {key}{f' [{slot}]' if slot else ''}{note}"
    found = compare(a, b, name, tol, kind="slot" if slot else "weight", step=step, slot=slot, tensor=key, floor=floor)
    if floor > 0 and found.scale == float(floor):
        found.note = FLOORED_NOTE
    return found


def state_comparisons(run, step):
    """Slots and weights of snapshot ``step`` (both sides restored there), plus the loss of that step and the
    gradients of that step of the tensors the shadow stepped with Keras's (``state_floors.Shadow.step``): their
    state, judged on the shadow's floor, would absorb a gradient error of any size."""
    restore(run, step)
    found = _slot_and_weight_comparisons(run, step, run.twin)
    return [run.losses[step - 1]] + run.gradients.get(step, []) + found["slot"] + found["update"]


def failed_steps(run):
    """The steps whose loss, or the gradient of a tensor the shadow stepped with Keras's, failed (run_steps records
    both at every step)."""
    return sorted({i + 1 for i, c in enumerate(run.losses) if not c.passed}
                  | {s for s, found in run.gradients.items() if not all(c.passed for c in found)})


def replay_step(run, step):
    """{phase: [Comparison]} for ``step`` rerun from the snapshot before it."""
    restore(run, step - 1)
    value, ref = _forward_backward(run, step)
    tol = tolerance(run.twin.dtype) if step == 1 else state_tolerance(run.twin.optimizer, run.twin.dtype)
    scales, grads = gradient_scales(run.twin, ref["near_fit_shares"], tol.rtol), run.twin.grads
    # a shadowed tensor's gradient as run_steps judged it, taken at the shadow's weights (Keras's, to what the
    # shadow's own state comparisons allow): the twin's weights are apart from Keras's by what the floors allowed
    shadowed = {c.tensor: c for c in run.gradients.get(step, [])}
    out = {"forward": [_loss_comparison(step, value, ref)],
           "gradient": [shadowed.get(k) or compare(grads[k], g, f"step {step}: d {k}", tol, floor=scales.get(k, 0.0),
                                                   kind="param", step=step, tensor=k) for k, g in ref["grads"].items()]}
    _apply(run, ref)
    return {**out, **_slot_and_weight_comparisons(run, step, run.twin)}


def finish(run):
    """Put the Keras model's weights back to where the run started (the caller's model is left as it was)."""
    restore(run, 0)
