"""Model: a graph of NumPy layers built with Keras's functional API.

``Model(inputs, outputs)`` walks the recorded nodes back from ``outputs``
(``numpy_models.symbolic``), orders them as Keras does (by depth, deepest
first) and runs them forward in that order; backward runs the nodes in
reverse, summing the gradients of a tensor that feeds several nodes (fan-out)
and the weight gradients of a layer called several times (shared layer).
A layer keeps one ``_cache``, so each node's cache is stashed after its
forward call and restored before its backward call.

``params``, ``grads`` and ``state`` are flat dicts keyed "layer/weight"
(nested models: "model/layer/weight") whose values are the layers' own
arrays, so ``optimizer.update(model.params, model.grads)`` works in place.
Parity: keras.Model (Functional); weights in Keras order.
"""
import numpy as np

from numpy_models._validation import as_float_array, check_shape
from numpy_models.model_base import ModelBase
from numpy_models.symbolic import KerasTensor


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def map_graph(inputs, outputs):
    """Keras's ``map_graph``: (nodes deepest first, layers in Keras order); raises on a disconnected graph."""
    order, indices, done = [], {}, set()

    def visit(tensor):
        layer, node_index, _ = tensor._keras_history
        node = layer._inbound_nodes[node_index]
        if node in done:
            return
        done.add(node)
        if not node.is_input and any(tensor is t for t in inputs):
            return  # an intermediate tensor given as a model input: its producer is not part of this model
        indices.setdefault(layer, len(indices))
        if not node.is_input:
            for parent in node.inputs:
                visit(parent)
        order.append(node)

    for t in outputs:
        visit(t)
    node_depth, layer_depth, members = {}, {}, set(order)
    for node in reversed(order):
        depth = max(node_depth.setdefault(node, 0), layer_depth.get(node.layer, 0))
        layer_depth[node.layer] = node_depth[node] = depth
        for parent in node.parents:
            if parent in members:
                node_depth[parent] = max(depth + 1, node_depth.get(parent, 0))
    input_nodes = {id(t.node) for t in inputs}
    for node in order:
        if node.is_input and id(node) not in input_nodes:
            raise ValueError(f"Graph disconnected: input '{node.layer.name}' is needed to compute the outputs "
                             f"but is not among the model inputs. Received: inputs={[t.name for t in inputs]}")
    depths = sorted(set(layer_depth.values()), reverse=True)
    layers = [l for d in depths for l in sorted((l for l in layer_depth if layer_depth[l] == d), key=indices.get)]
    nodes = [n for d in sorted(set(node_depth.values()), reverse=True) for n in node_depth if node_depth[n] == d]
    return [n for n in nodes if not n.is_input], layers


class Model(ModelBase):
    """A directed acyclic graph of layers from symbolic ``inputs`` to ``outputs``.

    Args:
        inputs: a KerasTensor from ``Input`` or a list of them.
        outputs: a KerasTensor or a list of them.
        name: model name.
    Shapes: forward takes an array per input and returns an array per output
        (a bare array when there is one).
    Parity: keras.Model(inputs, outputs); usable as a layer inside another Model.
    """

    def __init__(self, inputs, outputs, name="functional"):
        self._init_model(name, None)
        self.inputs, self.outputs = _as_list(inputs), _as_list(outputs)
        for t in self.inputs + self.outputs:
            if not isinstance(t, KerasTensor):
                raise TypeError(f"Model '{name}': inputs and outputs must be KerasTensors. Received: {t!r}")
        self._nodes, self.layers = map_graph(self.inputs, self.outputs)
        self._single_input = not isinstance(inputs, (list, tuple))
        self.multiple_outputs = isinstance(outputs, (list, tuple))
        self.dtype = self.outputs[0].dtype
        self.input_shape = [t.shape for t in self.inputs] if not self._single_input else self.inputs[0].shape
        self.output_shape = self.compute_output_shape(self.input_shape)
        self.built = True

    def compute_output_shape(self, input_shape):
        shapes = [t.shape for t in self.outputs]
        return shapes if self.multiple_outputs else shapes[0]

    def build(self, input_shape, rng=None):
        """A Model is built by construction; called again (as a layer) it only checks the shape."""

    def get_config(self):
        from numpy_models.functional_config import get_config
        return get_config(self)

    def summary(self, print_fn=print):
        """Print Keras's table: layer (type), output shape, parameter count, connected to."""
        from numpy_models.functional_config import summary_lines
        print_fn("\n".join(summary_lines(self)))

    # -- computing --------------------------------------------------------------
    def _inputs_list(self, x):
        xs = _as_list(x) if not self._single_input else [x]
        if len(xs) != len(self.inputs):
            raise ValueError(f"Model '{self.name}': expects {len(self.inputs)} inputs "
                             f"{[t.name for t in self.inputs]}. Received: {len(xs)} arrays")
        return xs

    def _check_batch_sizes(self, xs):
        """Every input holds the same samples: one row count (a merge layer would broadcast a batch of 1)."""
        rows = {t.name: a.shape[0] for a, t in zip(xs, self.inputs, strict=True) if np.ndim(a)}
        if len(set(rows.values())) > 1:
            raise ValueError(f"Model '{self.name}': every input must have the same batch size (one row per sample). "
                             f"Received: batch sizes {rows}")

    def forward(self, x, training=False, return_activations=False):
        """Run the graph. ``return_activations`` also returns {node name: output} in run order."""
        xs = self._inputs_list(x)
        xs = [as_float_array(a, self.dtype, f"Model '{self.name}' input '{t.name}'")
              for a, t in zip(xs, self.inputs, strict=True)]
        for a, t in zip(xs, self.inputs, strict=True):
            check_shape(a, t.shape, f"Model '{self.name}' input '{t.name}'")
        self._check_batch_sizes(xs)
        y = self.call(xs if not self._single_input else xs[0], training=training)
        if return_activations:
            values, caches = self._cache
            acts = {n.name: (values[id(n.outputs[0])] if len(n.outputs) == 1 else [values[id(t)] for t in n.outputs])
                    for n in self._nodes}
            return y, acts
        return y

    def call(self, x, training=False):
        values = {id(t): a for t, a in zip(self.inputs, self._inputs_list(x), strict=True)}
        caches = {}
        for node in self._nodes:
            args = [values[id(t)] for t in node.inputs]
            out = node.layer.call(args if node.list_input else args[0], training=training)
            caches[node] = node.layer._cache
            for t, o in zip(node.outputs, _as_list(out) if len(node.outputs) > 1 else [out], strict=True):
                values[id(t)] = o
        self._cache = (values, caches)
        outs = [values[id(t)] for t in self.outputs]
        return outs if self.multiple_outputs else outs[0]

    def backward(self, dout):
        """Backpropagate dL/d(outputs) (an array per output); fills grads, returns dL/d(inputs)."""
        if self._cache is None:
            raise RuntimeError(f"Model '{self.name}': backward() called before forward().")
        douts = _as_list(dout) if self.multiple_outputs else [dout]
        values = self._cache[0]
        checked = []
        for g, t in zip(douts, self.outputs, strict=True):
            g = as_float_array(g, self.dtype, f"Model '{self.name}'", "dout")
            check_shape(g, values[id(t)].shape, f"Model '{self.name}' output '{t.node.name}'", "dout")
            checked.append(g)
        return self.backward_call(checked if self.multiple_outputs else checked[0])

    def backward_call(self, dout, logits_outputs=()):
        """Reverse pass; outputs whose index is in ``logits_outputs`` receive dL/d(logits) instead."""
        values, caches = self._cache
        grads = {}
        for i, (t, g) in enumerate(zip(self.outputs, _as_list(dout) if self.multiple_outputs else [dout], strict=True)):
            if i in logits_outputs:
                t = self._read_node(i).outputs[0]  # dL/d(logits) enters at the layer whose logits the loss read
            grads[id(t)] = (g, i in logits_outputs)
        seen = set()
        self.output_grads = {}  # node -> dL/d(node's first output), for reports and condition scales
        self.logits_grads = set()  # nodes whose output_grads entry is dL/d(logits): a loss read at the logits
        for node in reversed(self._nodes):
            self._backward_node(node, caches[node], values, grads, seen)
        for layer in self.layers:
            if layer not in seen:
                _zero_grads(layer)
        dxs = [grads[id(t)][0] if id(t) in grads else np.zeros_like(values[id(t)]) for t in self.inputs]
        return dxs if not self._single_input else dxs[0]

    def _backward_node(self, node, cache, values, grads, seen):
        entries = [grads.get(id(t)) for t in node.outputs]
        if all(e is None for e in entries):
            return
        layer = node.layer
        layer._cache = cache
        self.output_grads[node] = entries[0][0] if entries[0] is not None else None
        previous = {k: v.copy() for k, v in layer.grads.items()} if layer in seen else None
        if entries[0] is not None and entries[0][1]:
            self.logits_grads.add(node)
            dx = layer.backward_preactivation(entries[0][0])
        else:
            gs = [e[0] if e is not None else np.zeros_like(values[id(t)])
                  for e, t in zip(entries, node.outputs, strict=True)]
            dx = layer.backward_call(gs if len(gs) > 1 else gs[0])
        if previous is not None:
            for k, v in previous.items():
                set_grad(layer, k, layer.grads[k] + v)
        seen.add(layer)
        for t, d in zip(node.inputs, dx if node.list_input else [dx], strict=True):
            grads[id(t)] = (grads[id(t)][0] + d, False) if id(t) in grads else (d, False)

    # -- losses -----------------------------------------------------------------
    def _read_node(self, index):
        """The node whose output the loss of output ``index`` sees: back through layers that returned their input
        (the same tensor in Keras, cached logits and all), with this call's caches restored on the way."""
        node = self.outputs[index].node
        node.layer._cache = self._cache[1].get(node)
        while len(node.inputs) == 1 and not node.inputs[0].node.is_input and node.layer.passes_input_through():
            node = node.inputs[0].node
            node.layer._cache = self._cache[1][node]
        return node

    def _logits_of(self, loss, index):
        node = self._read_node(index)
        if hasattr(loss, "uses_logits_of") and loss.uses_logits_of(getattr(node.layer, "activation", None)):
            self._check_unshared(node, index)
            return self._output_logits(index)
        return None

    def _check_unshared(self, read, index):
        """Refuse a logits read whose tensors between ``read`` and output ``index`` also feed elsewhere: dL/d(logits)
        and a gradient of the probabilities would meet at one tensor, which ``backward_call`` cannot split."""
        chain, t = [], self.outputs[index]
        while True:
            chain.append(t)
            if t.node is read:
                break
            t = t.node.inputs[0]
        chain_ids, allowed = {id(c) for c in chain}, {c.node for c in chain[:-1]}
        shared = [n.name for n in self._nodes if n not in allowed and any(id(u) in chain_ids for u in n.inputs)]
        shared += [o.node.name for j, o in enumerate(self.outputs) if j != index and id(o) in chain_ids]
        if shared:
            raise ValueError(f"Model '{self.name}': output '{self.outputs[index].node.name}' is a cross-entropy read at "
                             f"the cached logits of '{read.name}' (as Keras on TensorFlow), but that tensor also feeds "
                             f"{sorted(shared)}: the twin cannot split the two gradients there. Received: "
                             f"shared_with={sorted(shared)}")

    def _output_logits(self, index):
        return self._read_node(index).layer.logits  # each layer class knows where its logits are in its cache

    # As the output layer of an enclosing model: a cross-entropy reads through to its single output's logits.
    @property
    def activation(self):
        if self.multiple_outputs:
            return None
        return getattr(self._read_node(0).layer if self._cache else self.outputs[0].node.layer, "activation", None)

    @property
    def logits(self):
        return self._output_logits(0)

    def backward_preactivation(self, dz):
        return self.backward_call(dz, logits_outputs={0})

    def loss_weight_list(self, loss_weights, n):
        """One number per output: a list in output order, or a dict naming every output (as Keras's compile)."""
        if loss_weights is None:
            return [1.0] * n
        if isinstance(loss_weights, dict):
            names = [t._keras_history[0].name for t in self.outputs]
            if set(loss_weights) != set(names):
                raise ValueError(f"Model '{self.name}': loss_weights as a dict names every output {names}. "
                                 f"Received: loss_weights={loss_weights!r}")
            loss_weights = [loss_weights[name] for name in names]
        weights = list(loss_weights)
        if not all(np.ndim(w) == 0 and np.issubdtype(np.asarray(w).dtype, np.number) for w in weights):
            raise ValueError(f"Model '{self.name}': loss_weights must be numbers, one per output. "
                             f"Received: loss_weights={loss_weights!r}")
        return weights

    def _per_output(self, loss, y_true, y_pred, loss_weights):
        n = len(self.outputs)
        losses = _as_list(loss) if isinstance(loss, (list, tuple)) else [loss] * n
        weights = self.loss_weight_list(loss_weights, n)
        ys_true = _as_list(y_true) if self.multiple_outputs else [y_true]
        ys_pred = _as_list(y_pred) if self.multiple_outputs else [y_pred]
        if not len(losses) == len(weights) == len(ys_true) == len(ys_pred) == n:
            raise ValueError(f"Model '{self.name}': expects one loss, loss weight, target and prediction per output "
                             f"({n}). Received: {len(losses)} losses, {len(weights)} loss_weights, "
                             f"{len(ys_true)} targets, {len(ys_pred)} predictions")
        return list(zip(losses, weights, ys_true, ys_pred, strict=True))

    def compute_loss(self, loss, y_true, y_pred, sample_weight=None, loss_weights=None):
        """Sum of ``loss_weight * loss`` over outputs (Keras's logits path where it applies) plus penalties."""
        total = 0.0
        for i, (fn, w, yt, yp) in enumerate(self._per_output(loss, y_true, y_pred, loss_weights)):
            logits = self._logits_of(fn, i)
            value = (fn.logits_value_and_gradient(yt, logits, sample_weight)[0] if logits is not None
                     else fn(yt, yp, sample_weight))
            total = total + (value if w == 1.0 else w * value)
        return total + self.regularization_loss()

    def backward_loss(self, loss, y_true, y_pred, sample_weight=None, loss_weights=None, need_input_grad=True):
        """Backward from ``compute_loss``: fills grads (incl. regularizers), returns dL/d(inputs)."""
        douts, logits_outputs = [], set()
        for i, (fn, w, yt, yp) in enumerate(self._per_output(loss, y_true, y_pred, loss_weights)):
            logits = self._logits_of(fn, i)
            if logits is not None:
                g = fn.logits_value_and_gradient(yt, logits, sample_weight)[1]
                logits_outputs.add(i)
            else:
                g = fn.gradient(yt, yp, sample_weight)
            douts.append(g if w == 1.0 else g * np.asarray(w, dtype=g.dtype))
        dx = self.backward_call(douts if self.multiple_outputs else douts[0], logits_outputs)
        self.add_regularization_gradients()
        return dx if need_input_grad else None


def set_grad(layer, key, value):
    """Set the gradient ``key`` ("layer/weight", nested models' keys too) of a layer or model to ``value``."""
    if isinstance(layer, ModelBase):
        first, rest = key.split("/", 1)
        set_grad(layer.get_layer(first), rest, value)
    else:
        layer.grads[key] = value


def _zero_grads(layer):
    for k, v in layer.grads.items():
        set_grad(layer, k, np.zeros_like(v))

