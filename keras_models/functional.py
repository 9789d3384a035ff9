"""Stock Keras functional models: build from a graph description, load ``.keras`` files, differentiate.

Stock Keras only. A graph description is
``{"name", "layers": [{"class_name", "kwargs", "name", "calls"}], "inputs", "outputs"}``
where each call is a history ``[layer name, node index, tensor index]`` (a list
of them for merge layers), ``InputLayer`` kwargs hold ``shape``, and a nested
model is ``class_name="Functional"`` (kwargs: a graph) or ``"Sequential"``
(kwargs: ``{"layers": [(class_name, kwargs, name)]}``).
"""
import os

import keras
import numpy as np

from keras_models.autodiff import differentiate
from keras_models.build import build_layer, keras_dtype, model_dtype


def build_functional(graph, dtype):
    """A stock ``keras.Model`` (or ``keras.Sequential`` for a Sequential graph) computing in ``dtype``."""
    with keras_dtype(dtype):
        if graph.get("sequential"):
            return _sequential(graph)
        return _functional(graph)


def _sequential(graph):
    layers = [keras.Input(shape=tuple(graph["input_shape"]))] if "input_shape" in graph else []
    return keras.Sequential(layers + [_make(*entry) for entry in graph["layers"]], name=graph["name"])


def _make(class_name, kwargs, name):
    if class_name == "Functional":
        return _functional(kwargs)
    if class_name == "Sequential":
        return _sequential({**kwargs, "name": name})
    return build_layer(class_name, kwargs, name)


def _functional(graph):
    tensors, pending = {}, []
    for entry in graph["layers"]:
        if entry["class_name"] == "InputLayer":
            tensors[(entry["name"], 0, 0)] = keras.Input(shape=tuple(entry["kwargs"]["shape"]), name=entry["name"])
        else:
            layer = _make(entry["class_name"], entry["kwargs"], entry["name"])
            pending += [(layer, i, args) for i, args in enumerate(entry["calls"])]
    while pending:
        layer, index, args = next(p for p in pending if all(tuple(h) in tensors for h in _histories(p[2])))
        pending.remove((layer, index, args))
        inputs = [tensors[tuple(h)] for h in args] if isinstance(args[0], list) else tensors[tuple(args)]
        outs = layer(inputs)
        for i, t in enumerate(outs if isinstance(outs, (list, tuple)) else [outs]):
            tensors[(layer.name, index, i)] = t
    ins, outs = [tensors[tuple(h)] for h in graph["inputs"]], [tensors[tuple(h)] for h in graph["outputs"]]
    return keras.Model(ins if len(ins) > 1 else ins[0], outs if len(outs) > 1 else outs[0], name=graph["name"])


def _histories(args):
    return args if isinstance(args[0], list) else [args]


def load_model(path):
    """``keras.saving.load_model`` with one clear error for a missing or unreadable file."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No Keras model file. Received: path={str(path)!r}")
    try:
        return keras.saving.load_model(path)
    except Exception as exc:  # zip, h5, JSON and deserialization errors all mean "cannot read this file"
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"Could not load a Keras model ({type(exc).__name__}: {first_line}). "
                         f"Received: path={str(path)!r}") from None


def keyed_variables(model, trainable_only=False):
    """[("layer/weight" or "model/layer/weight", variable)] in Keras order, nested models by path."""
    out = []
    for layer in model.layers:
        if hasattr(layer, "layers"):
            out += [(f"{layer.name}/{k}", v) for k, v in keyed_variables(layer, trainable_only)]
        else:
            variables = layer.trainable_weights if trainable_only else layer.weights
            out += [(f"{layer.name}/{v.name}", v) for v in variables]
    return out


def node_names(model):
    """{id(node): name} for every call of the model's own layers.

    A node is one call of a layer: named by the layer, ``@k`` added for the k-th call of a shared layer
    (``numpy_models`` names its nodes the same way). Only calls inside this graph count: a Sequential loaded
    from a ``.keras`` file has called its layers once more per rebuild, on graphs it has since dropped.
    """
    graph = getattr(model, "_functional", None) or model
    mine = {id(n) for nodes in graph._nodes_by_depth.values() for n in nodes}
    names = {}
    for layer in model.layers:
        if not isinstance(layer, keras.layers.InputLayer):
            own = [node for node in layer._inbound_nodes if id(node) in mine]
            names.update({id(node): layer.name if k == 0 else f"{layer.name}@{k}" for k, node in enumerate(own)})
    return names


def node_name(names, node):
    """The name of ``node`` in ``names`` (``node_names``); an operation that is no layer: its name and call index."""
    return names.get(id(node)) or f"{node.operation.name}@{node.operation._inbound_nodes.index(node)}"


def graph_nodes(model):
    """The model's nodes in run order (deepest first, as Keras's ``Function._run_through_graph``)."""
    graph = getattr(model, "_functional", None) or model  # a keras.Sequential runs through its own Functional
    return [n for d in sorted(graph._nodes_by_depth, reverse=True) for n in graph._nodes_by_depth[d]
            if n.operation is not None and not n.is_input]


def run_graph(model, xs, training=False, taps=None):
    """Call ``model`` node by node, as ``Functional.call`` does: ({node name: (input tensors, output tensors)},
    model outputs). ``taps`` ({name: [zero tensor per output]} or None) is added to the node's outputs, so JAX
    can differentiate with respect to it: the gradient at that node's output.
    """
    graph = getattr(model, "_functional", None) or model
    names = node_names(graph)
    tensors = {id(k): t for k, t in zip(graph.inputs, xs, strict=True)}
    records = {}
    for node in graph_nodes(model):
        args, kwargs = node.arguments.fill_in(tensors)
        if getattr(node.operation, "_call_has_training_arg", False):
            kwargs = {**kwargs, "training": training}
        outs = node.operation(*args, **kwargs)
        outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
        name = node_name(names, node)
        for i, tap in enumerate(taps.get(name, ()) if taps else ()):
            outs[i] = outs[i] + tap
        for k, t in zip(node.outputs, outs, strict=True):
            tensors[id(k)] = t
        records[name] = ([tensors[id(k)] for k in node.input_tensors], outs)
    return records, [tensors[id(o)] for o in graph.outputs]


def _tensor(x, dtype):
    return keras.ops.convert_to_tensor(np.asarray(x, dtype=dtype))


def graph_node_outputs(model, xs, training=False):
    """{node name: output} for every node of ``model`` (see ``node_names``), in the model's dtype."""
    dtype = model_dtype(model)
    with keras_dtype(dtype):
        records, _ = run_graph(model, [_tensor(x, dtype) for x in xs], training)
        return {n: keras.ops.convert_to_numpy(outs[0]) for n, (_, outs) in records.items()}


def _run(model, xs, objective, training, tap=False):
    """Differentiate ``objective(model outputs)`` with the backend's autodiff; ``tap`` adds every node's output
    and dL/d(it), keyed by node name."""
    dtype = model_dtype(model)
    with keras_dtype(dtype):
        keyed = keyed_variables(model, trainable_only=True)
        names = []

        def forward(xts, taps):
            records, outs = run_graph(model, xts, training, None if taps is None else {n: [t] for n, t in zip(names, taps)})
            names[:] = list(records) if tap else []
            return [records[n][1][0] for n in names] + outs

        ref = differentiate([v for _, v in keyed], [np.asarray(x, dtype=dtype) for x in xs], forward,
                            lambda outs: objective(outs[len(names):]), state=model.non_trainable_variables)
    n = len(names)
    return {"outputs": ref["outputs"][n:], "value": ref["value"], "value_dtype": ref["value_dtype"],
            "dxs": [np.zeros_like(x) if d is None else d for x, d in zip(xs, ref["dxs"], strict=True)],
            "grads": {k: np.zeros(v.shape, v.dtype) if g is None else g
                      for (k, v), g in zip(keyed, ref["grads"], strict=True)},
            "node_outputs": dict(zip(names, ref["outputs"][:n], strict=True)),
            "node_grads": dict(zip(names, ref["output_grads"][:n], strict=True))}


def _weighted_sum(outs, douts):
    return sum(keras.ops.sum(o * d) for o, d in zip(outs, douts, strict=True))


def graph_forward_backward(model, xs, douts, training=False, tap=False):
    """Outputs, dL/d(inputs) and every weight gradient for ``L = sum_i sum(output_i * dout_i)``."""
    dtype = model_dtype(model)
    with keras_dtype(dtype):
        douts_t = [_tensor(d, dtype) for d in douts]
    return _run(model, xs, lambda outs: _weighted_sum(outs, douts_t), training, tap)


def graph_loss_and_gradients(model, loss_fn, xs, ys, training=False, tap=False):
    """Gradients of ``sum_i loss_fn(y_i, output_i) + sum(model.losses)``, as fit() computes them."""
    dtype = model_dtype(model)
    with keras_dtype(dtype):
        ys_t = [_tensor(y, dtype) for y in ys]

    def objective(outs):
        total = sum(loss_fn(y, o) for y, o in zip(ys_t, outs, strict=True))
        for penalty in model.losses:
            total = total + penalty
        return total

    return _run(model, xs, objective, training, tap)


def fresh_optimizer(optimizer, dtype):
    """A new, unbuilt optimizer of the same class and config whose variables are ``dtype``."""
    with keras_dtype(dtype):
        return type(optimizer).from_config(optimizer.get_config())


def graph_compiled_gradients(model, xs, ys, training=True):
    """Gradients of the compiled loss (``model.compute_loss``: loss weights and penalties included), as fit()."""
    dtype = model_dtype(model)
    with keras_dtype(dtype):
        ys_t = [_tensor(y, dtype) for y in ys]

    def objective(outs):
        return model.compute_loss(y=ys_t if len(ys_t) > 1 else ys_t[0], y_pred=outs if len(outs) > 1 else outs[0],
                                  training=training)

    return _run(model, xs, objective, training)
