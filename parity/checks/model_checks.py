"""Model checks: plain functions ``check_<property>(spec, dtype, ...) -> [Comparison]``.

Each check builds both twins from the spec (``parity.twins``), runs the same
data through both and compares every named tensor. The package
(``parity.checks``) picks the checks that apply to a spec; pytest and the
report both consume them (scikit-learn's estimator-checks design).
Keras runs through ``keras_models``, imported on first use (TensorFlow).
"""
from collections import OrderedDict

import numpy as np

import numpy_models
from parity import random_streams
from parity.checks.nodes import graph_backward_order, keras_backward, keras_outputs, node_outputs, numpy_backward
from parity.compare import compare
from parity.specs import make_inputs, make_targets
from parity.tolerances import tolerance
from parity.twins import clear_shared, keras_loss, numpy_loss, numpy_twin, shared_twins
from parity.weights import keras_to_numpy, keras_weights


def upstream_gradient(spec, np_model, dtype, seed):
    """The random ``dout`` (never ones: ones hide transposition errors)."""
    shape = (spec.batch_size,) + tuple(np_model.output_shape[1:])
    return random_streams.generator("upstream_gradient", seed).standard_normal(shape).astype(dtype)


_VJPS = OrderedDict()  # (spec key, dtype, seed, training) -> Keras's vector-Jacobian product, see ``keras_vjp``
VJP_CAPACITY = 4


def clear_keras_products():
    """Forget cached Keras backward products (``keras_vjp``): a variant switched on changes what Keras computes."""
    _VJPS.clear()
    clear_shared()


def keras_vjp(spec, dtype, seed, training, k_model, x, dout):
    """``keras_backward(k_model, x, dout, training)`` on freshly reset shared twins, computed once per process.

    ``check_backward`` and ``check_gradients_three_way`` take the same product: the same twins just reset by
    ``shared_twins``, the same inputs and upstream gradient of ``seed``; Keras on the CPU is deterministic, so
    the second one is the first one's result. Callers only read it.
    """
    key = (spec.id, repr(spec.layers), tuple(spec.input_shape), dtype, seed, training)
    if key not in _VJPS:
        _VJPS[key] = keras_backward(k_model, x, dout, training=training)
        if len(_VJPS) > VJP_CAPACITY:
            _VJPS.popitem(last=False)
    return _VJPS[key]


def check_weight_roundtrip(spec, dtype, seed=0):
    """NumPy -> Keras -> fresh NumPy model reproduces every weight bit for bit."""
    np_model, k_model = shared_twins(spec, dtype, seed)
    fresh = numpy_twin(spec, dtype, seed, stream="roundtrip_weights")
    keras_to_numpy(k_model, fresh)
    tol = tolerance(dtype, "roundtrip")
    return [compare(fresh.weights[k], v, k, tol, labels=("roundtrip", "original"), kind="weight")
            for k, v in np_model.weights.items()]


def check_forward(spec, dtype, seed=0, training=False):
    """Every node's (layer call's) output agrees, in run order."""
    np_model, k_model = shared_twins(spec, dtype, seed)
    x = make_inputs(spec, dtype, seed)
    tol = tolerance(dtype)
    return [compare(a, b, f"{name}:output", tol, tensor=name, kind="output")
            for name, a, b in node_outputs(np_model, k_model, x, training)]


def backward_order(np_model, np_grads, ref_grads, np_input_grads, ref_input_grads, tol, floors):
    """Per layer from the output down: its parameter gradients, then the gradient it returns (dL/d its input).

    The first failing comparison in this order names the layer whose backward is wrong.
    """
    result = []
    for i in range(len(np_model.layers) - 1, -1, -1):
        layer = np_model.layers[i]
        result += [compare(np_grads[f"{layer.name}/{w}"], ref_grads[f"{layer.name}/{w}"], f"{layer.name}/{w}", tol,
                           floor=floors.get(f"{layer.name}/{w}", 0.0), kind="param") for w in layer.params]
        result.append(compare(np_input_grads[i], ref_input_grads[i], f"{layer.name}:input_grad", tol,
                              tensor=layer.name, kind="input_grad"))
    return result


def input_grads(dx, output_grads):
    """dL/d(input of layer i) = dL/d(output of layer i-1); dx for the first layer."""
    return [dx] + list(output_grads[:-1])


def gradient_order(np_model, dx, out_grads, floors, ref, tol):
    """The gradient comparisons from the output down (``backward_order``; ``graph_backward_order`` for graphs)."""
    if isinstance(np_model, numpy_models.Model):
        return graph_backward_order(np_model, ref, dx, tol, floors)
    return backward_order(np_model, np_model.grads, ref["grads"], input_grads(dx, out_grads),
                          input_grads(ref["dx"], ref["output_grads"]), tol, floors)


def check_backward(spec, dtype, seed=0, training=False):
    """Every parameter gradient and every layer's input gradient for a random upstream gradient, output first."""
    np_model, k_model = shared_twins(spec, dtype, seed)
    x = make_inputs(spec, dtype, seed)
    dout = upstream_gradient(spec, np_model, dtype, seed)
    np_model.forward(x, training=training)
    dx, out_grads, floors = numpy_backward(np_model, dout)
    ref = keras_vjp(spec, dtype, seed, training, k_model, x, dout)
    return gradient_order(np_model, dx, out_grads, floors, ref, tolerance(dtype))


def check_loss(spec, dtype, seed=0, training=False):
    """Loss value (incl. regularization), then every gradient from the output down (see ``backward_order``)."""
    np_model, k_model = shared_twins(spec, dtype, seed)
    x = make_inputs(spec, dtype, seed)
    y = np_model.forward(x, training=training)
    y_true = make_targets(spec, y.shape, dtype, seed)
    loss = numpy_loss(spec)
    value = np_model.compute_loss(loss, y_true, y)
    dx, out_grads, floors = numpy_backward(np_model, loss=loss, y_true=y_true, y_pred=y)
    ref = keras_backward(k_model, x, training=training, loss_fn=keras_loss(spec, dtype), y_true=y_true)
    tol = tolerance(dtype)
    return ([compare(np.asarray(value), np.asarray(ref["value"], dtype), "loss", tol, kind="loss")]
            + gradient_order(np_model, dx, out_grads, floors, ref, tol))


def check_moving_statistics(spec, dtype, seed=0, steps=5):
    """BatchNormalization moving mean/variance after several training-mode calls on fresh batches."""
    np_model, k_model = shared_twins(spec, dtype, seed)
    for step in range(steps):
        x = make_inputs(spec, dtype, random_streams.seed_for("moving_statistics_batch", seed, step))
        np_model.forward(x, training=True)
        keras_outputs(k_model, x, training=True)
    k_state = keras_weights(k_model)
    tol = tolerance(dtype)
    return [compare(v, k_state[k], f"after {steps} steps: {k}", tol, tensor=k, kind="state", step=steps)
            for k, v in np_model.state.items()]
