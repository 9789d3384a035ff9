"""Keras run node by node: every node's inputs, outputs and gradients, for the per-layer comparisons.

The Keras model's graph (``model._nodes_by_depth``, deepest first, as Keras's own
``Function._run_through_graph``: ``keras_models.functional.run_graph``) is executed
eagerly and differentiated with the running backend's autodiff
(``keras_models.autodiff``), so the gradient of ``L = sum(output * dout)`` at every
intermediate tensor is available on TensorFlow, JAX and PyTorch. ``node_vjp`` differentiates a single node on given inputs (the
``--substitute`` mode). Node names follow ``numpy_models``: the layer name, with
``@k`` for the k-th call of a shared layer. Keras is imported on first use.
"""
import numpy as np


def _source(graph, names, tensor):
    """("input", index) for a model input, else (node name, output index) of the node that made ``tensor``;
    ``names``: {id(node): name} of the graph's nodes."""
    layer, node_index, tensor_index = tensor._keras_history
    for i, x in enumerate(graph.inputs):
        if x is tensor:
            return "input", i
    return names[id(layer._inbound_nodes[node_index])], tensor_index


def _objective(douts, dtype):
    import keras  # imports TensorFlow

    d_t = [keras.ops.convert_to_tensor(np.asarray(d, dtype=dtype)) for d in douts]
    return lambda outs: sum(keras.ops.sum(o * d) for o, d in zip(outs, d_t, strict=True))


def trace(model, xs, douts, training=False):
    """{name: {"inputs", "outputs", "d_outputs", "d_inputs", "layer"}} in run order (arrays, lists per tensor)."""
    from keras_models.autodiff import differentiate  # imports TensorFlow
    from keras_models.build import keras_dtype, model_dtype  # imports TensorFlow
    from keras_models.functional import graph_nodes, keyed_variables, run_graph  # imports TensorFlow
    from keras_models.functional import node_name, node_names  # imports TensorFlow

    dtype = model_dtype(model)
    graph = getattr(model, "_functional", None) or model
    named = node_names(graph)  # as run_graph names them: the k-th call of a layer within this graph
    names = {id(n): node_name(named, n) for n in graph_nodes(model)}
    nodes = {names[id(n)]: n for n in graph_nodes(model)}
    keys = [(name, i) for name, n in nodes.items() for i in range(len(n.outputs))]

    def forward(xts, taps):
        grouped = None if taps is None else {name: [t for (m, _), t in zip(keys, taps) if m == name] for name in nodes}
        found, outs = run_graph(model, xts, training, grouped)
        return [found[name][1][i] for name, i in keys] + outs

    with keras_dtype(dtype):
        objective = _objective(douts, dtype)
        ref = differentiate([v for _, v in keyed_variables(model, trainable_only=True)],
                            [np.asarray(x, dtype=dtype) for x in xs], forward,
                            lambda outs: objective(outs[len(keys):]), state=model.non_trainable_variables)
    values = dict(zip(keys, ref["outputs"], strict=False)) | {("input", i): np.asarray(x, dtype=dtype)
                                                               for i, x in enumerate(xs)}
    grads = dict(zip(keys, ref["output_grads"], strict=False)) | {("input", i): d for i, d in enumerate(ref["dxs"])}
    grads = {k: np.zeros_like(values[k]) if g is None else g for k, g in grads.items()}
    out = {}
    for name, node in nodes.items():
        sources = [_source(graph, names, t) for t in node.input_tensors]
        mine = [(name, i) for i in range(len(node.outputs))]
        out[name] = {"layer": node.operation, "inputs": [values[s] for s in sources],
                     "outputs": [values[k] for k in mine], "d_inputs": [grads[s] for s in sources],
                     "d_outputs": [grads[k] for k in mine]}
    return out


def node_vjp(layer, inputs, d_outputs, training=False, list_input=False):
    """(outputs, d_inputs, {weight name: gradient}) of one Keras layer on ``inputs`` for upstream ``d_outputs``."""
    from keras_models.autodiff import differentiate  # imports TensorFlow
    from keras_models.build import keras_dtype  # imports TensorFlow

    dtype = inputs[0].dtype.name
    weights = list(layer.trainable_weights)

    def forward(ins, taps):
        kwargs = {"training": training} if getattr(layer, "_call_has_training_arg", False) else {}
        outs = layer(list(ins) if list_input else ins[0], **kwargs)
        outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
        return outs if taps is None else [o + t for o, t in zip(outs, taps, strict=True)]

    with keras_dtype(dtype):
        ref = differentiate(weights, list(inputs), forward, _objective(d_outputs, dtype),
                            state=layer.non_trainable_variables)
    zeros = lambda g, like: np.zeros(like.shape, dtype) if g is None else g  # noqa: E731
    d_ins = [zeros(g, x) for g, x in zip(ref["dxs"], inputs, strict=True)]
    d_w = {v.name: zeros(g, v) for g, v in zip(ref["grads"], weights, strict=True)}
    return ref["outputs"], d_ins, d_w
