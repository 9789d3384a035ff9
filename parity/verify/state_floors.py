"""Floors for the optimizer state of tensors whose gradient is zero: see ``parity.tolerances.ZERO_GRADIENT_STATE``.

A bias feeding a training-mode BatchNormalization has a gradient that is 0 in
exact arithmetic; each side steps it by its own round-off, so its slots and
values after a step are round-off too, and relative to their own size they
differ by O(1); the moving statistics of the BatchNormalization they feed take
that difference in too. ``Shadow`` runs a copy of the twin beside the run, fed
the twin's gradients with every such tensor's gradient moved by the most the
gradient comparison allows (``rtol`` times its condition scale, as
``parity.checks.graph_checks.condition_scales``); how far the shadow's slots and
values of those tensors, and its moving statistics, end up from the twin's,
over the state comparisons' rtol, is their floor: the comparison then allows
what a gradient within tolerance can cause, and nothing more.
"""
import copy

import numpy as np

from parity.checks.graph_checks import condition_scales


class Shadow:
    """A copy of the twin stepped with its zero gradients moved to the tolerance's limit."""

    def __init__(self, twin, rtol, state_rtol):
        self.twin = copy.deepcopy(twin)
        self.rtol, self.state_rtol = rtol, state_rtol  # the gradient comparison's; the state comparisons'
        self.keys = set()  # every tensor whose gradient was zero at some step so far

    def step(self, twin, xs):
        """Step alongside ``twin`` on its batch ``xs`` (after its backward, before its update)."""
        scales, grads = condition_scales(twin), twin.grads
        zero = {k for k, s in scales.items()
                if k in grads and np.abs(grads[k]).max(initial=0.0) <= self.rtol * s}
        self.keys |= zero
        # every step, so that its moving statistics see its own (moved) biases, as Keras's see Keras's, and its
        # Dropout masks stay in step with the twin's
        self.twin.forward(xs if len(xs) > 1 else xs[0], training=True)
        moved = {k: g + self.rtol * scales[k] if k in zero else g for k, g in grads.items()}
        self.twin.optimizer.update(self.twin.params, moved)

    def floors(self, twin):
        """{(slot name or None for the value, key): floor} after ``twin``'s update: the zero-gradient tensors and
        the moving statistics they feed (0 where the shadow did not move away)."""
        if not self.keys:
            return {}
        mine, theirs = self.twin.weights, twin.weights
        out = {(None, k): self._floor(mine[k], theirs[k]) for k in self.keys | set(self.twin.state)}
        for slot, per_key in self.twin.optimizer.slots.items():
            out.update({(slot, k): self._floor(per_key[k], twin.optimizer.slots[slot][k])
                        for k in self.keys if k in per_key})
        return out

    def _floor(self, a, b):
        return float(np.abs(np.asarray(a, np.float64) - b).max(initial=0.0)) / self.state_rtol
