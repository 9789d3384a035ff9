"""Both twins seen node by node, for Sequential and graph specs alike.

A node is one layer call: in a Sequential twin each layer is one node named
after it; in a graph twin a shared layer has one node per call (``name@k``).
``numpy_outputs`` / ``keras_outputs`` give every node's output on either side,
``numpy_backward`` / ``keras_backward`` run one backward pass on either kind,
and ``backward_plan`` lists a NumPy backward's gradients from the output down
as plain data, which ``compare_plan`` compares with Keras's (the two halves
of a check may run in different processes, ``parity.checks.backends``).
"""
import numpy_models
from parity.checks.graph_checks import condition_scales as graph_condition_scales, sum_scales
from parity.checks.sum_terms import input_grad_scale
from parity.compare import compare


def condition_scales(np_model, output_grads):
    """{"layer/weight": sum(|terms|)} of a Sequential's sum-over-the-batch gradients, and {"layer:input_grad":
    the scale of its terms} of a softmax layer's input gradient (``tolerances.CONDITION_SCALE``)."""
    scales = {}
    for layer, grad in zip(np_model.layers, output_grads, strict=True):
        scales.update(sum_scales(layer, grad, layer._cache))
        scale = input_grad_scale(layer, grad, layer._cache)
        if scale:
            scales[f"{layer.name}:input_grad"] = scale
    return scales


def graph_input_grad_scales(np_model):
    """{plan name of the gradient reaching a softmax node's input: the scale of its terms}, summed over the
    softmax nodes a tensor feeds (``input_grad_scale``); a node given dL/d(its logits) ran no softmax backward."""
    caches, scales = np_model._cache[1], {}
    for node, grad in np_model.output_grads.items():
        if node in np_model.logits_grads or not (scale := input_grad_scale(node.layer, grad, caches.get(node))):
            continue
        tensor = node.inputs[0]
        if tensor is np_model.inputs[0]:
            key = "input:input_grad"
        elif tensor is tensor.node.outputs[0] and not tensor.node.is_input:  # output_grads holds first outputs
            key = f"{tensor.node.name}:output_grad"
        else:
            continue  # a gradient the plan does not compare
        scales[key] = scales.get(key, 0.0) + scale
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


def numpy_backward(np_model, dout=None, loss=None, y_true=None, y_pred=None):
    """(dL/dx, output gradients, condition scales) after the last forward, either kind of model.

    Backpropagates ``dout``, or with ``loss`` the loss's gradient (``backward_loss``).
    Output gradients: a list per layer for a Sequential, ``np_model.output_grads`` for a graph.
    """
    if isinstance(np_model, numpy_models.Model):
        dx = np_model.backward(dout) if loss is None else np_model.backward_loss(loss, y_true, y_pred)
        return dx, np_model.output_grads, {**graph_condition_scales(np_model), **graph_input_grad_scales(np_model)}
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


def backward_plan(np_model, dx, out_grads, floors):
    """[(name, NumPy gradient, where Keras's is, compare fields)] from the output down, after a NumPy backward.

    Plain data: the Keras half of a check (``compare_plan``) needs no NumPy model. Sequential: per layer its
    parameter gradients, then the gradient it returns (dL/d its input); graphs: ``graph_backward_plan``.
    The first failing comparison in this order names the layer whose backward is wrong.
    """
    if isinstance(np_model, numpy_models.Model):
        return graph_backward_plan(np_model, dx, floors)
    grads, inputs, plan = np_model.grads, [dx] + list(out_grads[:-1]), []
    for i in range(len(np_model.layers) - 1, -1, -1):
        layer = np_model.layers[i]
        keys = [f"{layer.name}/{w}" for w in layer.params]
        plan += [(k, grads[k], ("grads", k), {"floor": floors.get(k, 0.0), "kind": "param"}) for k in keys]
        where = ("output_grads", i - 1) if i else ("dx",)  # dL/d(input of layer i) = dL/d(output of layer i-1)
        name = f"{layer.name}:input_grad"
        plan.append((name, inputs[i], where, {"floor": floors.get(name, 0.0), "tensor": layer.name, "kind": "input_grad"}))
    return plan


def graph_backward_plan(np_model, dx, floors):
    """Per node from the output down: the gradient reaching its output, then (at a layer's first call, where
    its gradient is complete) its parameter gradients; finally dL/d(input). The model's own outputs are
    skipped: their gradient is the upstream one (or the loss's, which may be taken at the logits).
    """
    outputs = {id(t.node) for t in np_model.outputs}
    first_call = {}
    for node in np_model._nodes:
        first_call.setdefault(node.layer, node)
    grads, plan = np_model.grads, []
    for node in reversed(np_model._nodes):
        if id(node) not in outputs:
            name = f"{node.name}:output_grad"
            plan.append((name, np_model.output_grads.get(node), ("node_grads", node.name),
                         {"floor": floors.get(name, 0.0), "tensor": node.name, "kind": "output_grad"}))
        if first_call[node.layer] is node:
            keys = [f"{node.layer.name}/{w}" for w in node.layer.params]
            plan += [(k, grads[k], ("grads", k), {"floor": floors.get(k, 0.0), "kind": "param"}) for k in keys]
    floor = floors.get("input:input_grad", 0.0)
    return plan + [("input:input_grad", dx, ("dx",), {"floor": floor, "tensor": "input", "kind": "input_grad"})]


def compare_plan(plan, ref, tol):
    """The comparisons of a ``backward_plan`` against Keras's backward products ``ref``, in the plan's order."""
    def keras_value(where):
        return ref[where[0]] if len(where) == 1 else ref[where[0]][where[1]]

    return [compare(a, keras_value(where), name, tol, **fields) for name, a, where, fields in plan]
