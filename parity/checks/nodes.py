"""Both twins seen node by node, for Sequential and graph specs alike.

A node is one layer call: in a Sequential twin each layer is one node named
after it; in a graph twin a shared layer has one node per call (``name@k``).
``node_outputs`` gives every node's output on both sides; for graph specs,
``graph_backward_order`` lists the gradient comparisons from the output down
(the Sequential order is ``model_checks.backward_order``), and
``keras_backward`` / ``numpy_backward`` run one backward pass on either kind.
"""
import numpy_models
from parity.checks.graph_checks import condition_scales as graph_condition_scales, sum_scales
from parity.compare import compare


def condition_scales(np_model, output_grads):
    """{"layer/weight": sum(|terms|)} of a Sequential's sum-over-the-batch gradients (``tolerances.CONDITION_SCALE``)."""
    scales = {}
    for layer, grad in zip(np_model.layers, output_grads, strict=True):
        scales.update(sum_scales(layer, grad, layer._cache))
    return scales


def numpy_outputs(np_model, x, training=False):
    """{node name: output} of one NumPy forward, in run order."""
    _, acts = np_model.forward(x, training=training, return_activations=True)
    return acts if isinstance(acts, dict) else {l.name: a for l, a in zip(np_model.layers, acts, strict=True)}


def keras_outputs(k_model, x, training=False):
    """{node name: output} of one Keras forward (layer by layer for a Sequential, every node for a graph)."""
    from keras_models import forward  # imports TensorFlow
    from keras_models.functional import graph_node_outputs

    if type(k_model).__name__ == "Sequential":
        return {l.name: a for l, a in zip(k_model.layers, forward(k_model, x, training=training), strict=True)}
    return graph_node_outputs(k_model, [x], training=training)


def node_outputs(np_model, k_model, x, training=False):
    """[(node name, NumPy output, Keras output)] in the NumPy run order."""
    ours, theirs = numpy_outputs(np_model, x, training), keras_outputs(k_model, x, training)
    return [(name, a, theirs[name]) for name, a in ours.items()]


def numpy_backward(np_model, dout=None, loss=None, y_true=None, y_pred=None):
    """(dL/dx, output gradients, condition scales) after the last forward, either kind of model.

    Backpropagates ``dout``, or with ``loss`` the loss's gradient (``backward_loss``).
    Output gradients: a list per layer for a Sequential, ``np_model.output_grads`` for a graph.
    """
    if isinstance(np_model, numpy_models.Model):
        dx = np_model.backward(dout) if loss is None else np_model.backward_loss(loss, y_true, y_pred)
        return dx, np_model.output_grads, graph_condition_scales(np_model)
    if loss is None:
        dx, out_grads = np_model.backward(dout, return_output_grads=True)
    else:
        dx, out_grads = np_model.backward_loss(loss, y_true, y_pred, return_output_grads=True)
    return dx, out_grads, condition_scales(np_model, out_grads)


def keras_backward(k_model, x, dout=None, training=False, loss_fn=None, y_true=None):
    """{"dx", "grads", ...} of ``sum(output * dout)`` (or of ``loss_fn`` plus penalties) on the Keras twin."""
    from keras_models import forward_backward, loss_and_gradients  # imports TensorFlow
    from keras_models.functional import graph_forward_backward, graph_loss_and_gradients

    if type(k_model).__name__ == "Sequential":
        if loss_fn is None:
            return forward_backward(k_model, x, dout, training=training)
        return loss_and_gradients(k_model, loss_fn, x, y_true, training=training)
    if loss_fn is None:
        ref = graph_forward_backward(k_model, [x], [dout], training=training, tap=True)
    else:
        ref = graph_loss_and_gradients(k_model, loss_fn, [x], [y_true], training=training, tap=True)
    return {**ref, "dx": ref["dxs"][0]}


def graph_backward_order(np_model, ref, dx, tol, floors):
    """Per node from the output down: the gradient reaching its output, then (at a layer's first call, where
    its gradient is complete) its parameter gradients; finally dL/d(input). The model's own outputs are
    skipped: their gradient is the upstream one (or the loss's, which may be taken at the logits).
    """
    outputs = {id(t.node) for t in np_model.outputs}
    first_call = {}
    for node in np_model._nodes:
        first_call.setdefault(node.layer, node)
    grads, result = np_model.grads, []
    for node in reversed(np_model._nodes):
        if id(node) not in outputs:
            result.append(compare(np_model.output_grads.get(node), ref["node_grads"][node.name],
                                  f"{node.name}:output_grad", tol, tensor=node.name, kind="output_grad"))
        if first_call[node.layer] is node:
            keys = [f"{node.layer.name}/{w}" for w in node.layer.params]
            result += [compare(grads[k], ref["grads"][k], k, tol, floor=floors.get(k, 0.0), kind="param")
                       for k in keys]
    return result + [compare(dx, ref["dx"], "input:input_grad", tol, tensor="input", kind="input_grad")]
