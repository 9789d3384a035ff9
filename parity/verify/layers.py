"""Per-layer (per-node) comparison of a NumPy twin with its Keras model: outputs and input gradients.

Two modes. *Chained* (the default): both models run on the same inputs and each
node's output, and the gradient of ``L = sum(output * dout)`` at each node's
input tensors, are compared; an early small error propagates to every later
node. *Substitute*: each twin layer is fed the Keras input of that node (and, in
backward, the Keras upstream gradient at its output), so every node is judged on
its own and an early small error cannot hide a later real one.
A node whose input tensor also feeds other nodes is judged, in either mode, on
its own contribution to that tensor's gradient (its vector-Jacobian product on
both sides), not on the sum over every consumer: a wrong branch must not fail
the correct branch beside it (the chained trace of a training step, whose rerun
would draw new dropout masks, keeps the sum).
Rows are dicts in the Keras run order (topological): node, layer class, the
worst relative error of the outputs and of the input gradients, and passed.
"""
import copy

import numpy as np

import numpy_models as nm

from parity.tolerances import tolerance
from parity.verify.flushed import floored_compare
from parity.verify.keras_trace import node_vjp


def _worst(comparisons):
    return max(comparisons, key=lambda c: (not c.passed, c.max_rel), default=None)


def row(name, layer, mode, outputs, d_inputs):
    out, dx = _worst(outputs), _worst(d_inputs)
    return {"node": name, "layer": type(layer).__name__, "mode": mode,
            "output_rel": out.max_rel, "output_passed": out.passed,
            "d_input_rel": dx.max_rel if dx else 0.0, "d_input_passed": dx.passed if dx else True,
            "output_abs": out.max_abs, "d_input_abs": dx.max_abs if dx else 0.0,
            "passed": out.passed and (dx is None or dx.passed),
            "note": next((c.note for c in (out, dx) if c is not None and not c.passed and getattr(c, "note", "")), "")}


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


def node_values(graph, xs, douts, training=False):
    """({node name: (outputs, d_inputs)}, model outputs, model dxs) of a twin graph (``as_graph``) run forward and
    backward on ``xs`` and ``douts``: each node's output arrays and the gradient at each of its input tensors; the
    weight gradients are left in ``graph.grads``."""
    ys, acts = graph.forward(xs if len(xs) > 1 else xs[0], training=training, return_activations=True)
    dxs = graph.backward(douts if len(douts) > 1 else douts[0])
    dxs = list(dxs) if len(xs) > 1 else [dxs]
    grad_of = {id(t): d for t, d in zip(graph.inputs, dxs, strict=True)}
    for node in graph._nodes:
        if node in graph.output_grads and len(node.outputs) == 1:
            grad_of[id(node.outputs[0])] = graph.output_grads[node]
    values = {}
    for node in graph._nodes:
        outputs = acts[node.name] if len(node.outputs) > 1 else [acts[node.name]]
        values[node.name] = (list(outputs), [grad_of.get(id(t)) for t in node.inputs])
    return values, list(ys) if len(douts) > 1 else [ys], dxs


def layer_forward_backward(layer, inputs, d_outputs, training=False, list_input=False):
    """(outputs, d_inputs) of one NumPy layer, as ``numpy_models.Model`` calls it inside a graph."""
    out = layer.call(list(inputs) if list_input else inputs[0], training=training)
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    dx = layer.backward_call(list(d_outputs) if len(d_outputs) > 1 else d_outputs[0])
    return outs, list(dx) if list_input else [dx]


def shared_tensors(graph):
    """ids of the tensors that feed more than one node of ``graph`` (their gradient sums over the consumers)."""
    seen, shared = set(), set()
    for node in graph._nodes:
        for t in {id(t) for t in node.inputs}:
            (shared if t in seen else seen).add(t)
    return shared


def own_d_inputs(graph, node, k, training=False):
    """(the twin's, Keras's) gradients at ``node``'s inputs from this node alone: each side's layer on its own
    inputs and upstream gradient (``k``: the Keras trace of the node); None for a node with several outputs."""
    if len(node.outputs) > 1 or node not in graph.output_grads:
        return None
    values = graph._cache[0]
    inputs = [values[id(t)] for t in node.inputs]
    _, mine = layer_forward_backward(copy.deepcopy(node.layer), inputs, [graph.output_grads[node]], training,
                                     node.list_input)
    _, theirs, _ = node_vjp(k["layer"], k["inputs"], k["d_outputs"], training, node.list_input)
    return mine, theirs


def chained_rows(twin, ref, xs, douts, training=False, run=None):
    """Rows of the chained mode; ``ref`` is ``keras_trace.trace`` on the same ``xs``/``douts``. ``run``: a
    ``parity.verify.floors.Floors`` of this twin on them (its graph and node values are used rather than computed
    again, and its flush-to-zero floor applies), else the twin is run here."""
    if run is None:
        twin = as_graph(twin)
        values, underflow = node_values(twin, xs, douts, training)[0], 0.0
    else:
        twin, values, underflow = run.graph, run.values, run.underflow
    nodes, tol, shared = twin_nodes(twin), tolerance(twin.dtype), shared_tensors(twin)
    _require_keras_names(nodes, ref)
    rows = []
    for name, k in ref.items():
        mine, dxs = values[name]
        theirs = k["d_inputs"]
        if not training and any(id(t) in shared for t in nodes[name].inputs):  # training: a rerun draws new masks
            dxs, theirs = own_d_inputs(twin, nodes[name], k, training) or (dxs, theirs)
        outputs = [floored_compare(a, b, f"{name} output", tol, underflow=underflow)
                   for a, b in zip(mine, k["outputs"], strict=True)]
        d_inputs = [floored_compare(np.zeros_like(b) if d is None else d, b, f"{name} d input", tol,
                                    underflow=underflow) for d, b in zip(dxs, theirs, strict=True)]
        rows.append(row(name, nodes[name].layer, "chained", outputs, d_inputs))
    return rows
