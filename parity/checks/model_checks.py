"""Model checks: plain functions ``check_<property>(spec, dtype, ...) -> [Comparison]``.

Each check builds both twins from the spec (``parity.twins``), runs the same
data through both and compares every named tensor. The package
(``parity.checks``) picks the checks that apply to a spec; pytest and the
report both consume them (scikit-learn's estimator-checks design).
Keras runs through ``keras_models``, imported on first use (TensorFlow).
"""
import numpy as np

import numpy_models
from parity import random_streams
from parity.compare import compare
from parity.specs import make_inputs, make_targets
from parity.tolerances import tolerance
from parity.twins import keras_loss, numpy_loss, shared_twins
from parity.weights import keras_to_numpy, keras_weights


def condition_scales(np_model, output_grads):
    """sum(|terms|) of each bias-like gradient (see ``tolerances.CONDITION_SCALE``).

    The bias of a layer with a linear output and BatchNormalization's beta are
    sums over every axis but the last of the layer's output gradient.
    """
    scales = {}
    for layer, grad in zip(np_model.layers, output_grads, strict=True):
        key = "bias" if "bias" in layer.params and getattr(layer, "activation", None) == "linear" else "beta"
        if key in layer.params and grad is not None and not getattr(layer, "per_activation", False):
            scales[f"{layer.name}/{key}"] = float(np.abs(grad).reshape(-1, grad.shape[-1]).sum(axis=0).max())
    return scales


def upstream_gradient(spec, np_model, dtype, seed):
    """The random ``dout`` (never ones: ones hide transposition errors)."""
    shape = (spec.batch_size,) + tuple(np_model.output_shape[1:])
    return random_streams.generator("upstream_gradient", seed).standard_normal(shape).astype(dtype)


def check_weight_roundtrip(spec, dtype, seed=0):
    """NumPy -> Keras -> fresh NumPy model reproduces every weight bit for bit."""
    np_model, k_model = shared_twins(spec, dtype, seed)
    fresh = numpy_models.build_sequential(spec.layer_tuples(), spec.input_shape, dtype,
                                          random_streams.seed_for("roundtrip_weights", seed))
    keras_to_numpy(k_model, fresh)
    tol = tolerance(dtype, "roundtrip")
    return [compare(fresh.weights[k], v, k, tol, labels=("roundtrip", "original"), kind="weight")
            for k, v in np_model.weights.items()]


def check_forward(spec, dtype, seed=0, training=False):
    """Every layer's output agrees, in layer order."""
    from keras_models import forward  # imports TensorFlow

    np_model, k_model = shared_twins(spec, dtype, seed)
    x = make_inputs(spec, dtype, seed)
    _, np_outs = np_model.forward(x, training=training, return_activations=True)
    k_outs = forward(k_model, x, training=training)
    tol = tolerance(dtype)
    return [compare(a, b, f"{layer.name}:output", tol, tensor=layer.name, kind="output")
            for layer, a, b in zip(np_model.layers, np_outs, k_outs, strict=True)]


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


def check_backward(spec, dtype, seed=0, training=False):
    """Every parameter gradient and every layer's input gradient for a random upstream gradient, output first."""
    from keras_models import forward_backward  # imports TensorFlow

    np_model, k_model = shared_twins(spec, dtype, seed)
    x = make_inputs(spec, dtype, seed)
    dout = upstream_gradient(spec, np_model, dtype, seed)
    np_model.forward(x, training=training)
    dx, out_grads = np_model.backward(dout, return_output_grads=True)
    ref = forward_backward(k_model, x, dout, training=training)
    return backward_order(np_model, np_model.grads, ref["grads"], input_grads(dx, out_grads),
                          input_grads(ref["dx"], ref["output_grads"]), tolerance(dtype),
                          condition_scales(np_model, out_grads))


def check_loss(spec, dtype, seed=0, training=False):
    """Loss value (incl. regularization), then every gradient from the output down (see ``backward_order``)."""
    from keras_models import loss_and_gradients  # imports TensorFlow

    np_model, k_model = shared_twins(spec, dtype, seed)
    x = make_inputs(spec, dtype, seed)
    y = np_model.forward(x, training=training)
    y_true = make_targets(spec, y.shape, dtype, seed)
    loss = numpy_loss(spec)
    value = np_model.compute_loss(loss, y_true, y)
    dx, out_grads = np_model.backward_loss(loss, y_true, y, return_output_grads=True)
    ref = loss_and_gradients(k_model, keras_loss(spec, dtype), x, y_true, training=training)
    tol = tolerance(dtype)
    return [compare(np.asarray(value), np.asarray(ref["value"], dtype), "loss", tol, kind="loss")] + backward_order(
        np_model, np_model.grads, ref["grads"], input_grads(dx, out_grads),
        input_grads(ref["dx"], ref["output_grads"]), tol, condition_scales(np_model, out_grads))


def check_moving_statistics(spec, dtype, seed=0, steps=5):
    """BatchNormalization moving mean/variance after several training-mode calls on fresh batches."""
    from keras_models import forward  # imports TensorFlow

    np_model, k_model = shared_twins(spec, dtype, seed)
    for step in range(steps):
        x = make_inputs(spec, dtype, random_streams.seed_for("moving_statistics_batch", seed, step))
        np_model.forward(x, training=True)
        forward(k_model, x, training=True)
    k_state = keras_weights(k_model)
    tol = tolerance(dtype)
    return [compare(v, k_state[k], f"after {steps} steps: {k}", tol, tensor=k, kind="state", step=steps)
            for k, v in np_model.state.items()]
