"""Floors for the optimizer state of tensors whose gradient is judged on its condition scale: see
``parity.tolerances.ZERO_GRADIENT_STATE`` and ``CONDITIONED_GRADIENT_STATE``.

A gradient that sums cancelling terms (a bias or kernel gradient over a batch)
is compared at ``rtol`` times its condition scale (``sum |terms|``, as
``parity.checks.graph_checks.condition_scales``), which may exceed its own size
many times; for a bias feeding a training-mode BatchNormalization it is 0 in
exact arithmetic and each side steps it by its own round-off. Its slots (a
momentum is the gradient itself after one step) and its value after a step (a
zero-initialised bias is the step itself) are then as far apart, relative to
their own size, as the gradients are relative to theirs, beyond the state rtol;
the moving statistics of the BatchNormalization it feeds take that difference
in too. ``Shadow`` runs a copy of the twin beside the run: at each step, every
tensor whose gradient comparison passes only on its condition scale (the
difference within ``rtol`` times that scale, the scale above both sides' own
magnitudes) is stepped with the gradient Keras computed instead of the twin's,
every other tensor with the twin's. The shadow is then where the twin's own
optimizer takes Keras's gradients: how far its slots and values, and the moving
statistics those tensors feed, end up from the twin's is the difference the
observed (in-tolerance) gradient difference causes, and that, plus the state
rtol of the shadow's own size for the two optimizers' round-off, is what the
comparison allows: a slip in the twin's optimizer happens in the shadow too, so
it is not covered, and a gradient out of tolerance is never handed Keras's.
"""
import copy

import numpy as np

from numpy_models.normalization import BatchNormalization
from parity.checks.graph_checks import condition_scales


class Shadow:
    """A copy of the twin whose tensors with a gradient judged on its condition scale are stepped with Keras's
    gradients."""

    def __init__(self, twin, rtol, state_rtol):
        self.twin = copy.deepcopy(twin)
        self.rtol, self.state_rtol = rtol, state_rtol  # the gradient comparison's at step 1; the state comparisons'
        self.steps = 0
        self.keys = set()  # every tensor stepped with Keras's gradients, from the first step its gradient qualified
        self.fed = {}  # key -> fed_statistics(twin, key) (the graph does not change)

    def step(self, twin, xs, keras_grads):
        """Step alongside ``twin`` on its batch ``xs`` (after its backward, before its update); ``keras_grads``:
        {key: Keras's gradient} of the same step."""
        self.steps += 1
        rtol = self.rtol if self.steps == 1 else self.state_rtol  # as training.replay_step judges the gradients
        scales, grads = condition_scales(twin), twin.grads
        conditioned = {k for k, s in scales.items()
                       if k in grads and k in keras_grads and _conditioned(grads[k], keras_grads[k], s, rtol)}
        # once in, always: its later gradients are taken at weights that differ by what the floors allowed (a
        # zero-initialised bias by rtol of its condition scale, many times its own size), so they differ by more;
        # stepped with the twin's, the shadow would no longer be the twin's optimizer on Keras's gradients
        self.keys |= conditioned
        # every step, so that its moving statistics see its own biases, as Keras's see Keras's, and its Dropout masks
        # stay in step with the twin's
        self.twin.forward(xs if len(xs) > 1 else xs[0], training=True)
        fed = {k: np.asarray(keras_grads[k], g.dtype) if k in self.keys else g
               for k, g in grads.items()}
        self.twin.optimizer.update(self.twin.params, fed)

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


def _conditioned(grad, keras_grad, scale, rtol):
    """Does the gradient comparison pass only on the condition ``scale``: both sides' magnitudes below it, their
    difference within ``rtol`` times it? (A gradient that is 0 in exact arithmetic is such a case.) Keras's
    magnitude too: a twin that loses a gradient Keras has must not be handed Keras's."""
    own = max(np.abs(grad).max(initial=0.0), np.abs(keras_grad).max(initial=0.0))
    return own < scale and np.abs(np.asarray(grad, np.float64) - keras_grad).max(initial=0.0) <= rtol * scale


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
