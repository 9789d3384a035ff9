"""Per-layer (per-node) comparison of a NumPy twin with its Keras model: outputs and input gradients.

Two modes. *Chained* (the default): both models run on the same inputs and each
node's output, and the gradient of ``L = sum(output * dout)`` at each node's
input tensors, are compared; an early small error propagates to every later
node. *Substitute*: each twin layer is fed the Keras input of that node (and, in
backward, the Keras upstream gradient at its output), so every node is judged on
its own and an early small error cannot hide a later real one.
Rows are dicts in the Keras run order (topological): node, layer class, the
worst relative error of the outputs and of the input gradients, and passed.
"""
import copy

import numpy as np

import numpy_models as nm

from parity.compare import compare
from parity.tolerances import tolerance


def _worst(comparisons):
    return max(comparisons, key=lambda c: (not c.passed, c.max_rel), default=None)


def row(name, layer, mode, outputs, d_inputs):
    out, dx = _worst(outputs), _worst(d_inputs)
    return {"node": name, "layer": type(layer).__name__, "mode": mode,
            "output_rel": out.max_rel, "output_passed": out.passed,
            "d_input_rel": dx.max_rel if dx else 0.0, "d_input_passed": dx.passed if dx else True,
            "passed": out.passed and (dx is None or dx.passed)}


def as_graph(twin):
    """A copy of the twin as a functional ``numpy_models.Model`` (a Sequential's layers rewired into one)."""
    twin = copy.deepcopy(twin)  # the checks move BatchNormalization statistics and rewire layers: never the user's
    if isinstance(twin, nm.Model):
        return twin
    for layer in twin.layers:
        layer._inbound_nodes = []  # the Sequential's own record; the graph below starts its nodes at index 0
    x = nm.Input(tuple(twin.input_shape[1:]), name=f"{twin.name}_input")
    h = x
    for layer in twin.layers:
        h = layer(h)
    return nm.Model(x, h, name=twin.name)


def twin_nodes(twin):
    return {n.name: n for n in twin._nodes}


def _require_keras_names(nodes, ref):
    """Every layer call of the Keras model has the twin's node of the same name: the twin's layers take Keras's
    names (weights are copied by name), so a renamed or missing layer is refused by name, not a KeyError."""
    missing = [name for name in ref if name not in nodes]
    if missing:
        raise ValueError(f"the twin has no layer call named {', '.join(map(repr, missing))}: a twin's layers take the "
                         f"Keras model's layer names. Received: twin layer calls {sorted(nodes)}, Keras layer calls "
                         f"{list(ref)}")


def chained_rows(twin, ref, xs, douts, training=False):
    """Rows of the chained mode; ``ref`` is ``keras_trace.trace`` on the same ``xs``/``douts``."""
    twin = as_graph(twin)
    _, acts = twin.forward(xs if len(xs) > 1 else xs[0], training=training, return_activations=True)
    dxs = twin.backward(douts if len(douts) > 1 else douts[0])
    dxs = list(dxs) if len(xs) > 1 else [dxs]
    nodes, tol = twin_nodes(twin), tolerance(twin.dtype)
    _require_keras_names(nodes, ref)
    grad_of = {id(t): d for t, d in zip(twin.inputs, dxs, strict=True)}
    for node in twin._nodes:
        if node in twin.output_grads and len(node.outputs) == 1:
            grad_of[id(node.outputs[0])] = twin.output_grads[node]
    rows = []
    for name, k in ref.items():
        node = nodes[name]
        mine = acts[name] if len(node.outputs) > 1 else [acts[name]]
        outputs = [compare(a, b, f"{name} output", tol) for a, b in zip(mine, k["outputs"], strict=True)]
        d_inputs = [compare(grad_of.get(id(t), np.zeros_like(b)), b, f"{name} d input", tol)
                    for t, b in zip(node.inputs, k["d_inputs"], strict=True)]
        rows.append(row(name, node.layer, "chained", outputs, d_inputs))
    return rows
