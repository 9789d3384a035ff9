"""Model checks: plain functions ``check_<property>(spec, dtype, ...) -> [Comparison]``.

Each check runs the same data through both twins of the spec (``parity.twins``)
and compares every named tensor, in two halves: ``<property>_numpy(spec, dtype,
...)`` runs the NumPy twin and returns plain data (arrays in dicts), and
``<property>_keras(spec, dtype, data, ...)`` builds only the Keras twin (from the
NumPy twin's weights in ``data``) and compares. ``check_<property>`` is the one
after the other; ``parity.checks.backends`` computes a NumPy half once and sends
it to every backend's worker. The package (``parity.checks``) picks the checks
that apply to a spec; pytest and the report both consume them (scikit-learn's
estimator-checks design). Keras runs through ``keras_models``, imported on
first use (TensorFlow).
"""
import copy
from collections import OrderedDict

import numpy as np

from parity import random_streams
from parity.checks.nodes import (backward_plan, compare_plan, keras_backward, keras_outputs, numpy_backward,
                                 numpy_outputs)
from parity.compare import compare
from parity.specs import make_inputs, make_targets
from parity.tolerances import tolerance
from parity.twins import (clear_shared, keras_loss, keras_side, numpy_loss, numpy_side, numpy_twin,
                          replays_keras_stream, twin_data)
from parity.weights import keras_to_numpy, keras_weights


def upstream_gradient(spec, output_shape, dtype, seed):
    """The random ``dout`` (never ones: ones hide transposition errors); ``output_shape`` is the model's."""
    shape = (spec.batch_size,) + tuple(output_shape[1:])
    return random_streams.generator("upstream_gradient", seed).standard_normal(shape).astype(dtype)


_PRODUCTS = OrderedDict()  # (spec key, dtype, seed, training) -> {"outputs", "backward", "loss"}, see ``keras_product``
PRODUCTS_CAPACITY = 4


def clear_keras_products():
    """Forget cached Keras products (``keras_product``): a variant switched on changes what Keras computes."""
    _PRODUCTS.clear()
    clear_shared()


def keras_product(spec, dtype, seed, training, twin, which):
    """Keras's ``which`` on the freshly reset shared twin, on the inputs of ``seed``, computed once per process.

    ``which``: "outputs" ({node: output}), "backward" (``keras_backward`` of the upstream gradient) or "loss"
    (``keras_backward`` of the spec's loss). ``check_forward``, ``check_backward``, ``check_loss`` and
    ``check_gradients_three_way`` take these of the same twins just reset (``keras_side``) on the same
    inputs, upstream gradient and targets of ``seed``; Keras on the CPU is deterministic, so a later check's
    product is an earlier one's. A Sequential twin gives all three from one forward pass
    (``keras_models.runtime.backward_and_loss``; on JAX and PyTorch the outputs come from a plain forward, as
    values computed under autodiff may differ from it by round-off); a graph twin, or a Sequential one whose
    joint pass raised, takes each in a pass of its own (which raises its own error). Callers only read the result.
    """
    key = (spec.id, repr(spec.layers), tuple(spec.input_shape), repr(spec.loss), spec.batch_size, repr(spec.inputs),
           dtype, seed, training)  # everything that shapes the inputs, upstream gradient, targets or loss
    if key not in _PRODUCTS:
        _PRODUCTS[key] = _joint_products(spec, dtype, seed, training, twin)
        if len(_PRODUCTS) > PRODUCTS_CAPACITY:
            _PRODUCTS.popitem(last=False)
    products = _PRODUCTS[key]
    if which not in products:
        products[which] = _single_product(spec, dtype, seed, training, twin, which)
    return products[which]


def _keras_inputs(spec, dtype, seed, twin):
    """(x, dout, y_true) of ``seed``: what every NumPy half of these checks feeds its own twin."""
    return (make_inputs(spec, dtype, seed), upstream_gradient(spec, twin["output_shape"], dtype, seed),
            make_targets(spec, twin["output_shape"], dtype, seed))


def _joint_products(spec, dtype, seed, training, twin):
    from keras_models.backend import BACKEND
    from keras_models.runtime import backward_and_loss  # imports TensorFlow

    if spec.is_graph:
        return {}
    x, dout, y_true = _keras_inputs(spec, dtype, seed, twin)
    k_model = keras_side(spec, dtype, seed, twin)
    try:
        backward, loss = backward_and_loss(k_model, x, dout, keras_loss(spec, dtype), y_true, training=training)
    except Exception:  # noqa: BLE001  each check then takes its own product and raises its own error
        return {}
    products = {"backward": backward, "loss": loss}
    if BACKEND == "tensorflow":  # JAX's values inside jax.vjp differ from its plain forward by an ulp (x / 0.7)
        products["outputs"] = {l.name: a for l, a in zip(k_model.layers, backward["outputs"], strict=True)}
    return products


def _single_product(spec, dtype, seed, training, twin, which):
    x, dout, y_true = _keras_inputs(spec, dtype, seed, twin)
    k_model = keras_side(spec, dtype, seed, twin)
    if which == "outputs":
        return keras_outputs(k_model, x, training)
    if which == "backward":
        return keras_backward(k_model, x, dout, training=training)
    return keras_backward(k_model, x, training=training, loss_fn=keras_loss(spec, dtype), y_true=y_true)


def numpy_model(spec, dtype, seed=0, training=False):
    """A fresh NumPy twin for a NumPy half; in training mode its Dropout-like layers replay the Keras backend's
    random streams (the only case where the NumPy half imports Keras, and depends on the backend)."""
    return numpy_side(spec, dtype, seed, masks=training and replays_keras_stream(spec, dtype, seed))


def weight_roundtrip_numpy(spec, dtype, seed=0):
    """The NumPy half of ``check_weight_roundtrip``: the weights and the fresh model Keras's are copied into."""
    return {"twin": twin_data(spec, dtype, seed), "fresh": numpy_twin(spec, dtype, seed, stream="roundtrip_weights")}


def weight_roundtrip_keras(spec, dtype, data, seed=0):
    fresh = copy.deepcopy(data["fresh"])  # written into: the same half may serve several backends in one process
    keras_to_numpy(keras_side(spec, dtype, seed, data["twin"]), fresh)
    tol = tolerance(dtype, "roundtrip")
    return [compare(fresh.weights[k], v, k, tol, labels=("roundtrip", "original"), kind="weight")
            for k, v in data["twin"]["weights"].items()]


def check_weight_roundtrip(spec, dtype, seed=0):
    """NumPy -> Keras -> fresh NumPy model reproduces every weight bit for bit."""
    return weight_roundtrip_keras(spec, dtype, weight_roundtrip_numpy(spec, dtype, seed), seed)


def forward_numpy(spec, dtype, seed=0, training=False):
    """The NumPy half of ``check_forward``: every node's output, in run order."""
    x = make_inputs(spec, dtype, seed)
    return {"twin": twin_data(spec, dtype, seed), "x": x,
            "outputs": numpy_outputs(numpy_model(spec, dtype, seed, training), x, training)}


def forward_keras(spec, dtype, data, seed=0, training=False):
    theirs = keras_product(spec, dtype, seed, training, data["twin"], "outputs")
    tol = tolerance(dtype)
    return [compare(a, theirs[name], f"{name}:output", tol, tensor=name, kind="output")
            for name, a in data["outputs"].items()]


def check_forward(spec, dtype, seed=0, training=False):
    """Every node's (layer call's) output agrees, in run order."""
    return forward_keras(spec, dtype, forward_numpy(spec, dtype, seed, training), seed, training)


def backward_numpy(spec, dtype, seed=0, training=False):
    """The NumPy half of ``check_backward``: the gradients of ``sum(output * dout)`` (``backward_plan``)."""
    twin, x = twin_data(spec, dtype, seed), make_inputs(spec, dtype, seed)
    dout = upstream_gradient(spec, twin["output_shape"], dtype, seed)
    np_model = numpy_model(spec, dtype, seed, training)
    np_model.forward(x, training=training)
    return {"twin": twin, "x": x, "dout": dout, "plan": backward_plan(np_model, *numpy_backward(np_model, dout))}


def backward_keras(spec, dtype, data, seed=0, training=False):
    ref = keras_product(spec, dtype, seed, training, data["twin"], "backward")
    return compare_plan(data["plan"], ref, tolerance(dtype))


def check_backward(spec, dtype, seed=0, training=False):
    """Every parameter gradient and every layer's input gradient for a random upstream gradient, output first."""
    return backward_keras(spec, dtype, backward_numpy(spec, dtype, seed, training), seed, training)


def loss_numpy(spec, dtype, seed=0, training=False):
    """The NumPy half of ``check_loss``: the loss value and the gradients of the loss (``backward_plan``)."""
    np_model, x = numpy_model(spec, dtype, seed, training), make_inputs(spec, dtype, seed)
    y = np_model.forward(x, training=training)
    y_true = make_targets(spec, y.shape, dtype, seed)
    loss = numpy_loss(spec)
    value = np.asarray(np_model.compute_loss(loss, y_true, y))
    plan = backward_plan(np_model, *numpy_backward(np_model, loss=loss, y_true=y_true, y_pred=y))
    return {"twin": twin_data(spec, dtype, seed), "x": x, "y_true": y_true, "value": value, "plan": plan}


def loss_keras(spec, dtype, data, seed=0, training=False):
    ref = keras_product(spec, dtype, seed, training, data["twin"], "loss")
    tol = tolerance(dtype)
    return ([compare(data["value"], np.asarray(ref["value"], dtype), "loss", tol, kind="loss")]
            + compare_plan(data["plan"], ref, tol))


def check_loss(spec, dtype, seed=0, training=False):
    """Loss value (incl. regularization), then every gradient from the output down (see ``backward_plan``)."""
    return loss_keras(spec, dtype, loss_numpy(spec, dtype, seed, training), seed, training)


def moving_statistics_numpy(spec, dtype, seed=0, steps=5):
    """The NumPy half of ``check_moving_statistics``: the batches and the state after training-mode calls."""
    np_model = numpy_model(spec, dtype, seed, training=True)
    xs = [make_inputs(spec, dtype, random_streams.seed_for("moving_statistics_batch", seed, step))
          for step in range(steps)]
    for x in xs:
        np_model.forward(x, training=True)
    return {"twin": twin_data(spec, dtype, seed), "xs": xs, "state": dict(np_model.state)}


def moving_statistics_keras(spec, dtype, data, seed=0):
    k_model = keras_side(spec, dtype, seed, data["twin"])
    for x in data["xs"]:
        keras_outputs(k_model, x, training=True)
    k_state, steps, tol = keras_weights(k_model), len(data["xs"]), tolerance(dtype)
    return [compare(v, k_state[k], f"after {steps} steps: {k}", tol, tensor=k, kind="state", step=steps)
            for k, v in data["state"].items()]


def check_moving_statistics(spec, dtype, seed=0, steps=5):
    """BatchNormalization moving mean/variance after several training-mode calls on fresh batches."""
    return moving_statistics_keras(spec, dtype, moving_statistics_numpy(spec, dtype, seed, steps), seed)
