"""The flush-to-zero floor of verify's comparisons, and what cannot be compared under it.

TensorFlow's CPU kernels flush subnormal results to zero, NumPy keeps them
(``UNDERFLOW_SCALE`` in ``parity.tolerances``): differences below the smallest
normal number, multiplied through one product-sum stage, are not differences.
A tensor that lies wholly within that range on both sides and differs carries no
information: ``floored_compare`` fails it as "not comparable" (verify it in
float64, where nothing is flushed) rather than passing it. A floor measured from
the twin's own round-off (its distance from a float64 copy of itself) was tried
and removed: a twin whose float32 arithmetic is wrong (an unstable formula, a
low-precision cast) raises that floor itself and passes (review, session 25).
"""
import numpy as np

from parity.tolerances import tolerance
from parity.verify.layers import node_values


def _largest_sum(arrays):
    """S of ``UNDERFLOW_SCALE``: the largest sum of |elements| (or element count) over ``arrays``."""
    sizes = [max(float(np.abs(np.asarray(a, np.float64)).sum()), float(np.size(a))) for a in arrays if a is not None]
    return max(sizes, default=0.0)


class Floors:
    """The twin graph (``layers.as_graph``) run once at ``xs``/``douts`` in its dtype: the graph, its values
    (``values`` per node, ``outputs``, ``dxs``, ``grads``) and the flush-to-zero floor ``underflow`` of every
    comparison of this run."""

    def __init__(self, graph, xs, douts, training=False):
        rtol = tolerance(graph.dtype).rtol
        self.graph = graph
        self.values, self.outputs, self.dxs = node_values(graph, xs, douts, training)
        self.grads = dict(graph.grads)
        arrays = list(xs) + [o for outs, _ in self.values.values() for o in outs] + list(graph.params.values())
        self.underflow = float(np.finfo(graph.dtype).tiny) * _largest_sum(arrays) / rtol
