"""Keras run node by node: every node's inputs, outputs and gradients, for the per-layer comparisons.

The Keras model's graph (``model._nodes_by_depth``, deepest first, as Keras's own
``Function._run_through_graph``) is executed eagerly under one ``GradientTape``,
so the gradient of ``L = sum(output * dout)`` at every intermediate tensor is
available. ``node_vjp`` differentiates a single node on given inputs (the
``--substitute`` mode). Node names follow ``numpy_models``: the layer name, with
``@k`` for the k-th call of a shared layer. TensorFlow is imported on first use.
"""
import numpy as np


def node_name(node):
    layer = node.operation
    index = layer._inbound_nodes.index(node)
    return layer.name if index == 0 else f"{layer.name}@{index}"


def _nodes(model):
    model = getattr(model, "_functional", None) or model  # a keras.Sequential runs through its own Functional
    return [n for d in sorted(model._nodes_by_depth, reverse=True) for n in model._nodes_by_depth[d]
            if n.operation is not None and not n.is_input]


def _call(node, tensor_dict, training):
    args, kwargs = node.arguments.fill_in(tensor_dict)
    if getattr(node.operation, "_call_has_training_arg", False):
        kwargs = {**kwargs, "training": training}
    return node.operation(*args, **kwargs)


def trace(model, xs, douts, training=False):
    """{name: {"inputs", "outputs", "d_outputs", "d_inputs", "layer"}} in run order (arrays, lists per tensor)."""
    import tensorflow as tf  # imports TensorFlow

    from keras_models.build import keras_dtype, model_dtype  # imports TensorFlow

    dtype = model_dtype(model)
    graph = getattr(model, "_functional", None) or model
    with keras_dtype(dtype):
        xts = [tf.convert_to_tensor(np.asarray(x, dtype=dtype)) for x in xs]
        tensors = {id(k): t for k, t in zip(graph.inputs, xts, strict=True)}
        records = {}
        with tf.GradientTape() as tape:
            tape.watch(xts)
            for node in _nodes(model):
                outs = _call(node, tensors, training)
                outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
                for k, t in zip(node.outputs, outs, strict=True):
                    tensors[id(k)] = t
                records[node_name(node)] = (node, [tensors[id(k)] for k in node.input_tensors], outs)
            target = tf.add_n([tf.reduce_sum(tensors[id(o)] * tf.constant(np.asarray(d, dtype=dtype)))
                               for o, d in zip(graph.outputs, douts, strict=True)])
        flat = [t for _, ins, outs in records.values() for t in ins + outs]
        grads = iter(tape.gradient(target, flat))  # one backward pass for every node's tensors
        del tape
        out = {}
        for name, (node, ins, outs) in records.items():
            d_ins, d_outs = [next(grads) for _ in ins], [next(grads) for _ in outs]
            out[name] = {"layer": node.operation, "inputs": [t.numpy() for t in ins],
                         "outputs": [t.numpy() for t in outs],
                         "d_inputs": [_np(g, t) for g, t in zip(d_ins, ins, strict=True)],
                         "d_outputs": [_np(g, t) for g, t in zip(d_outs, outs, strict=True)]}
    return out


def _np(grad, like):
    import tensorflow as tf  # imports TensorFlow
    return np.zeros(like.shape, like.dtype.name) if grad is None else tf.convert_to_tensor(grad).numpy()


def node_vjp(layer, inputs, d_outputs, training=False, list_input=False):
    """(outputs, d_inputs, {weight name: gradient}) of one Keras layer on ``inputs`` for upstream ``d_outputs``."""
    import tensorflow as tf  # imports TensorFlow

    from keras_models.build import keras_dtype  # imports TensorFlow

    dtype = inputs[0].dtype.name
    with keras_dtype(dtype):
        ins = [tf.constant(x) for x in inputs]
        weights = list(layer.trainable_weights)
        with tf.GradientTape() as tape:
            tape.watch(ins)
            kwargs = {"training": training} if getattr(layer, "_call_has_training_arg", False) else {}
            outs = layer(ins if list_input else ins[0], **kwargs)
            outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
            target = tf.add_n([tf.reduce_sum(o * tf.constant(d)) for o, d in zip(outs, d_outputs, strict=True)])
        grads = tape.gradient(target, ins + weights)
    d_ins = [_np(g, t) for g, t in zip(grads[:len(ins)], ins, strict=True)]
    d_w = {v.name: _np(g, v) for g, v in zip(grads[len(ins):], weights, strict=True)}
    return [o.numpy() for o in outs], d_ins, d_w
