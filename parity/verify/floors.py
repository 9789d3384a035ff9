"""Floors of verify's comparisons where a tensor's own size is no scale: round-off and flush-to-zero.

Two measured floors (``parity.compare``'s ``floor``: a lower bound of the scale),
with their reasons in ``parity.tolerances``: ``ROUND_OFF_SCALE`` (the twin's own
round-off, measured against a float64 copy of it, when it is far above eps times
the tensor's size: a gradient proportional to a saturated softmax probability)
and ``UNDERFLOW_SCALE`` (TensorFlow flushes subnormal numbers to zero, NumPy
keeps them: differences below the smallest normal number are not differences).
"""
import copy

import numpy as np

from parity.tolerances import ROUND_OFF_MARGIN, tolerance
from parity.verify.layers import node_values


def _largest_sum(arrays):
    """S of ``UNDERFLOW_SCALE``: the largest sum of |elements| (or element count) over ``arrays``."""
    sizes = [max(float(np.abs(np.asarray(a, np.float64)).sum()), float(np.size(a))) for a in arrays if a is not None]
    return max(sizes, default=0.0)


def _round_off(a, a64, rtol):
    if a is None or a64 is None:
        return 0.0
    return ROUND_OFF_MARGIN * float(np.abs(np.asarray(a, np.float64) - a64).max(initial=0.0)) / rtol


class Floors:
    """The twin graph run at ``xs``/``douts`` in its dtype and as a float64 copy, and the floors that gives.

    ``node(name, quantity, i)``: floor of a node's ``i``-th output ("output") or input gradient ("d input");
    ``model(quantity, i)`` of the model's outputs and input gradients; ``weight(key)`` of a weight gradient.
    The values of the run in the twin's dtype are kept: ``outputs``, ``dxs``, ``grads``.
    """

    def __init__(self, graph, xs, douts, training=False):
        rtol = tolerance(graph.dtype).rtol
        self.values, self.outputs, self.dxs = node_values(graph, xs, douts, training)
        self.grads = dict(graph.grads)
        arrays = list(xs) + [o for outs, _ in self.values.values() for o in outs] + list(graph.params.values())
        self.underflow = float(np.finfo(graph.dtype).tiny) * _largest_sum(arrays) / rtol
        self._exact = graph.dtype == "float64"
        if not self._exact:
            g64 = copy.deepcopy(graph)
            g64.cast("float64")
            as64 = lambda arrays: [np.asarray(a, np.float64) for a in arrays]  # noqa: E731
            self.values64, self.outputs64, self.dxs64 = node_values(g64, as64(xs), as64(douts), training)
            self.grads64 = g64.grads
        self.rtol = rtol

    def _floor(self, a, a64):
        return max(self.underflow, 0.0 if self._exact else _round_off(a, a64, self.rtol))

    def node(self, name, quantity, i):
        index = 0 if quantity == "output" else 1
        pick = lambda values: values[name][index][i]  # noqa: E731
        return self._floor(pick(self.values), None if self._exact else pick(self.values64))

    def model(self, quantity, i):
        mine = self.outputs if quantity == "output" else self.dxs
        theirs = None if self._exact else (self.outputs64 if quantity == "output" else self.dxs64)
        return self._floor(mine[i], None if theirs is None else theirs[i])

    def weight(self, key):
        return self._floor(self.grads[key], None if self._exact else self.grads64[key])

    def of_nodes(self):
        """{(node, "output" | "d input", i): floor} for ``layers.chained_rows``."""
        return {(name, q, i): self.node(name, q, i) for name, (outs, dxs) in self.values.items()
                for q, arrays in (("output", outs), ("d input", dxs)) for i in range(len(arrays))}
