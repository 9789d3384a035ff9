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
import tensorflow as tf

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


def tapped(model):
    """(node names, a keras.Model giving every node's output and then the model's outputs).

    A node is one call of a layer: named by the layer, ``@k`` added for the k-th call of a shared layer
    (``numpy_models`` names its nodes the same way). Only the model's own calls are counted, so the model's
    layers must not have been called outside it (true of a model built by ``build_functional``).
    """
    names, tensors = [], []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        for k, node in enumerate(layer._inbound_nodes):
            names.append(layer.name if k == 0 else f"{layer.name}@{k}")
            tensors.append(node.output_tensors[0])
    return names, keras.Model(model.inputs, tensors + list(model.outputs), name=f"{model.name}_tapped")


def graph_node_outputs(model, xs, training=False):
    """{node name: output} for every node of ``model`` (see ``tapped``), in the model's dtype."""
    dtype = model_dtype(model)
    with keras_dtype(dtype):
        names, runner = tapped(model)
        outs = runner([tf.convert_to_tensor(np.asarray(x, dtype=dtype)) for x in xs] if len(xs) > 1
                      else tf.convert_to_tensor(np.asarray(xs[0], dtype=dtype)), training=training)
    return {n: o.numpy() for n, o in zip(names, outs, strict=False)}


def _run(model, xs, objective, training, tap=False):
    """Run under a tape; ``tap`` adds every node's output and dL/d(it), keyed by node name."""
    dtype = model_dtype(model)
    with keras_dtype(dtype):
        xts = [tf.convert_to_tensor(np.asarray(x, dtype=dtype)) for x in xs]
        keyed = keyed_variables(model, trainable_only=True)
        names, runner = tapped(model) if tap else ([], model)
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(xts)
            outs = runner(xts if len(xts) > 1 else xts[0], training=training)
            outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
            nodes, outs = outs[:len(names)], outs[len(names):]
            target = objective(outs)
        grads = tape.gradient(target, [v for _, v in keyed])
        dxs = tape.gradient(target, xts)
        node_grads = tape.gradient(target, nodes)
        del tape
    return {"outputs": [o.numpy() for o in outs], "value": float(target.numpy()), "value_dtype": target.dtype.name,
            "dxs": [np.zeros_like(x) if d is None else d.numpy() for x, d in zip(xs, dxs, strict=True)],
            "grads": {k: np.zeros(v.shape, v.dtype) if g is None else tf.convert_to_tensor(g).numpy()
                      for (k, v), g in zip(keyed, grads, strict=True)},
            "node_outputs": {n: o.numpy() for n, o in zip(names, nodes, strict=True)},
            "node_grads": {n: None if g is None else g.numpy() for n, g in zip(names, node_grads, strict=True)}}


def graph_forward_backward(model, xs, douts, training=False, tap=False):
    """Outputs, dL/d(inputs) and every weight gradient for ``L = sum_i sum(output_i * dout_i)``."""
    dtype = model_dtype(model)
    douts_t = [tf.constant(np.asarray(d, dtype=dtype)) for d in douts]
    return _run(model, xs, lambda outs: tf.add_n([tf.reduce_sum(o * d) for o, d in zip(outs, douts_t, strict=True)]),
                training, tap)


def graph_loss_and_gradients(model, loss_fn, xs, ys, training=False, tap=False):
    """Gradients of ``sum_i loss_fn(y_i, output_i) + sum(model.losses)``, as fit() computes them."""
    dtype = model_dtype(model)
    ys_t = [tf.constant(np.asarray(y, dtype=dtype)) for y in ys]

    def objective(outs):
        total = tf.add_n([loss_fn(y, o) for y, o in zip(ys_t, outs, strict=True)])
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
    ys_t = [tf.constant(np.asarray(y, dtype=dtype)) for y in ys]

    def objective(outs):
        return model.compute_loss(y=ys_t if len(ys_t) > 1 else ys_t[0], y_pred=outs if len(outs) > 1 else outs[0],
                                  training=training)

    return _run(model, xs, objective, training)
