"""Floors for the optimizer state of tensors whose gradient is judged on its condition scale: see
``parity.tolerances.ZERO_GRADIENT_STATE`` and ``CONDITIONED_GRADIENT_STATE``.

A gradient that sums cancelling terms (a bias or kernel gradient over a batch)
is compared at ``rtol`` times its condition scale (``sum |terms|``, as
``parity.checks.graph_checks.condition_scales``; under a MeanSquaredError, at
least its ``loss_condition.near_fit_shares`` over rtol: near a fit every gradient cancels
through the loss's, and carries the share the outputs' difference explains),
which may exceed its own size many times; for a bias feeding a training-mode BatchNormalization it is 0 in
exact arithmetic and each side steps it by its own round-off. Its slots (a
momentum is the gradient itself after one step) and its value after a step (a
zero-initialised bias is the step itself) are then as far apart, relative to
their own size, as the gradients are relative to theirs, beyond the state rtol;
the moving statistics of the BatchNormalization it feeds take that difference
in too. ``Shadow`` runs a copy of the twin beside the run: at each step, every
tensor whose gradient comparison passes on its condition scale (the difference
within ``rtol`` times it; no test of its own size is needed: a sum is never
larger than the sum of its terms' magnitudes, so the scale is at least the
twin's size and a gradient that does not cancel passes on its own size alike)
is stepped with the gradient Keras computed instead of the twin's, every other
tensor with the twin's. The shadow is then where the twin's own optimizer takes
Keras's gradients: how far its slots and values, and the moving statistics
those tensors feed, end up from the twin's is the difference the observed
(in-tolerance) gradient difference causes, and that, plus the state rtol of the
shadow's own size for the two optimizers' round-off, is what the comparison
allows: a slip in the twin's optimizer happens in the shadow too, so it is not
covered, and a gradient out of tolerance is never handed Keras's. Such a floor
absorbs a later gradient error of any size, so from the step after a tensor
enters, its gradient is judged at every step (``Shadow.step``): the shadow's
own, at its weights (Keras's, to what its state comparisons allow: the twin's
are apart by what the floors allowed, which moves the gradient further), with
Keras's at its condition scale; a failing one fails that step and leaves the
shadow for good.
"""
import copy

import numpy as np

from numpy_models.normalization import BatchNormalization
from parity.compare import compare
from parity.verify.loss_condition import gradient_scales, near_fit_shares


SHADOW_GRADIENT_NOTE = " (the twin at the shadow's weights)"


class Shadow:
    """A copy of the twin whose tensors with a gradient judged on its condition scale are stepped with Keras's
    gradients."""

    def __init__(self, twin, rtol, state_rtol):
        self.twin = copy.deepcopy(twin)
        self.rtol, self.state_rtol = rtol, state_rtol  # the gradient comparison's at step 1; the state comparisons'
        self.steps = 0
        self.keys = set()  # every tensor stepped with Keras's gradients, from the first step its gradient qualified
        self.dropped = set()  # tensors whose gradient failed at a step after they entered: never stepped so again
        self.fed = {}  # key -> fed_statistics(twin, key) (the graph does not change)

    def step(self, twin, batch, keras, near_fit=None):
        """Step alongside ``twin`` on its ``batch`` (xs, ys) (after its backward, before its update);
        ``keras``: Keras's ``graph_compiled_gradients`` of the same step ("grads": {key: gradient},
        "outputs"); ``near_fit``: the twin's ``loss_condition.near_fit_shares`` at this step. Returns the
        comparisons of this step's gradients of the
        tensors already stepped with Keras's, taken by the shadow (``judge``): one that fails leaves the shadow for
        good."""
        self.steps += 1
        # every step, so that its moving statistics see its own biases, as Keras's see Keras's, and its Dropout masks
        # stay in step with the twin's; its gradients are judged
        _, y_true, y_pred = backward(self.twin, *batch)
        keras_grads = keras["grads"]
        own = near_fit_shares(self.twin, y_true, y_pred, keras["outputs"])
        judged = self.judge(self.twin, keras_grads, self.keys, own)
        self.dropped |= {c.tensor for c in judged if not c.passed}
        entering = self.judge(twin, keras_grads, near_fit=near_fit)
        self.keys = (self.keys | {c.tensor for c in entering if c.passed}) - self.dropped
        fed = {k: np.asarray(keras_grads[k], g.dtype) if k in self.keys else g for k, g in twin.grads.items()}
        self.twin.optimizer.update(self.twin.params, fed)
        return judged

    def judge(self, model, keras_grads, keys=None, near_fit=None):
        """[Comparison] of ``model``'s gradients (after its backward) of ``keys`` (default: every tensor with a
        condition scale) with Keras's at their condition scales (``gradient_scales``, with the model's
        ``near_fit_shares`` ``near_fit``), as ``training.replay_step`` judges this step's."""
        rtol = self.rtol if self.steps == 1 else self.state_rtol
        scales, grads = gradient_scales(model, near_fit or {}, rtol), model.grads
        keys = sorted(scales if keys is None else keys)
        return [compare(grads[k], keras_grads[k], f"step {self.steps}: d {k}{SHADOW_GRADIENT_NOTE}", rtol,
                        floor=scales.get(k, 0.0), kind="param", step=self.steps, tensor=k)
                for k in keys if k in grads and k in keras_grads]

    def floors(self, twin):
        """{(slot name or None for the value, key): floor} after ``twin``'s update: the tensors stepped with Keras's
        gradients, their slots, and the moving statistics of the BatchNormalization layers they feed."""
        if not self.keys:
            return {}
        mine, theirs = self.twin.weights, twin.weights
        stats = set().union(*(self.fed.setdefault(k, fed_statistics(twin, k)) for k in self.keys))
        out = {(None, k): self._floor(mine[k], theirs[k]) for k in self.keys | stats}
        for slot, per_key in self.twin.optimizer.slots.items():
            out.update({(slot, k): self._floor(per_key[k], twin.optimizer.slots[slot][k])
                        for k in self.keys if k in per_key})
        return out

    def states(self):
        """{(slot name or None for the value, key): a copy of the shadow's array} of the tensors stepped with Keras's
        gradients: compared with Keras's at the plain state tolerance, element by element, they find a slip in the
        twin's optimizer that the floors, the largest difference over the whole tensor, let through."""
        out = {(None, k): np.array(self.twin.params[k]) for k in self.keys}
        for slot, per_key in self.twin.optimizer.slots.items():
            out.update({(slot, k): np.array(per_key[k]) for k in self.keys if k in per_key})
        return out

    def _floor(self, shadow, twin):
        # the scale that lets the twin be as far from Keras as from the shadow, plus rtol of the shadow's own size
        # for the optimizers' round-off (the shadow and Keras step the same gradients, each its own way)
        shadow = np.asarray(shadow, np.float64)
        return float(np.abs(shadow - twin).max(initial=0.0)) / self.state_rtol + float(np.abs(shadow).max(initial=0.0))


def backward(model, xs, ys):
    """``model``'s forward (training mode) on ``xs`` and backward of its compiled loss at ``ys``: its ``grads``
    hold the step's gradients. Returns (loss value, y_true, y_pred)."""
    y_pred = model.forward(xs if len(xs) > 1 else xs[0], training=True)
    y_true = ys if len(ys) > 1 else ys[0]
    weighted = {"loss_weights": model.loss_weights} if getattr(model, "loss_weights", None) else {}
    value = model.compute_loss(model.loss, y_true, y_pred, **weighted)
    model.backward_loss(model.loss, y_true, y_pred, **weighted)
    return value, y_true, y_pred


def fed_statistics(model, key):
    """The state keys (moving statistics) of the BatchNormalization layers that the layer owning ``key`` feeds.

    The walk follows the graph from that layer's outputs and stops at each
    BatchNormalization (training mode takes a shift of its input out, so layers
    after it do not see one); a nested model on the way, or owning ``key``, is
    not looked into: all of its state is taken (all of the model's, if it has no
    graph).
    """
    state = list(model.state)
    if getattr(model, "_nodes", None) is None:
        return set(state)
    consumers = {}
    for node in model._nodes:
        for t in node.inputs:
            consumers.setdefault(t._keras_history[0].name, []).append(node.layer)
    start = key.split("/", 1)[0]
    found, todo, seen = _own_state(state, model.get_layer(start), nested_only=True), [start], {start}
    while todo:
        for layer in consumers.get(todo.pop(), []):
            if layer.name not in seen:
                seen.add(layer.name)
                found |= _own_state(state, layer)
                if not isinstance(layer, BatchNormalization):
                    todo.append(layer.name)
    return found


def _own_state(state, layer, nested_only=False):
    if nested_only and not hasattr(layer, "_nodes"):
        return set()
    return {k for k in state if k.split("/", 1)[0] == layer.name}
