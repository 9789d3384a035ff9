"""Parity checks: plain functions ``check_<property>(spec, dtype, ...) -> [Comparison]``.

Each check builds both twins from the spec, shares the weights through the
bridge, runs the same data through both and compares every named tensor.
``yield_checks`` picks the checks that apply to a spec; pytest and the report
both consume them (scikit-learn's estimator-checks design).
"""
import copy
import functools

import numpy as np

from parity.compare import compare
from parity.gradcheck.finite_differences import probe_parameter
from parity.specs import make_inputs, make_targets
from parity.tolerances import tolerance


# -- twins -------------------------------------------------------------------------
def build_twins(spec, dtype, seed=0):
    """NumPy model initialised from ``seed``, Keras twin holding the same weights."""
    import keras_models
    import numpy_models
    from parity.weights import numpy_to_keras

    from parity.dropout_masks import install_keras_masks

    np_model = numpy_models.build_sequential(spec.layer_tuples(), spec.input_shape, dtype, seed)
    k_model = keras_models.build_sequential(spec.layer_tuples(), spec.input_shape, dtype)
    numpy_to_keras(np_model, k_model)
    install_keras_masks(np_model)
    return np_model, k_model


def numpy_loss(spec):
    from numpy_models import losses
    return losses.get(spec.loss[0], **spec.loss[1])


def keras_loss(spec, dtype):
    import keras

    from keras_models import keras_dtype
    with keras_dtype(dtype):
        return getattr(keras.losses, spec.loss[0])(**spec.loss[1])


def _layer_names(np_model):
    return [layer.name for layer in np_model.layers]


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


# -- checks ------------------------------------------------------------------------
def check_weight_roundtrip(spec, dtype, seed=0):
    """NumPy -> Keras -> fresh NumPy model reproduces every weight bit for bit."""
    import numpy_models
    from parity.weights import keras_to_numpy

    np_model, k_model = build_twins(spec, dtype, seed)
    fresh = numpy_models.build_sequential(spec.layer_tuples(), spec.input_shape, dtype, seed + 1)
    keras_to_numpy(k_model, fresh)
    tol = tolerance(dtype, "roundtrip")
    return [compare(fresh.weights[k], v, k, tol, labels=("roundtrip", "original"))
            for k, v in np_model.weights.items()]


def check_forward(spec, dtype, seed=0, training=False):
    """Every layer's output agrees, in layer order."""
    from keras_models import forward

    np_model, k_model = build_twins(spec, dtype, seed)
    x = make_inputs(spec, dtype, seed)
    _, np_outs = np_model.forward(x, training=training, return_activations=True)
    k_outs = forward(k_model, x, training=training)
    tol = tolerance(dtype)
    return [compare(a, b, f"{name}:output", tol) for name, a, b in zip(_layer_names(np_model), np_outs, k_outs, strict=True)]


def _upstream(spec, np_model, dtype, seed):
    shape = (spec.batch_size,) + tuple(np_model.output_shape[1:])
    return np.random.default_rng(seed + 2).standard_normal(shape).astype(dtype)


def _backward_order(np_model, np_grads, ref_grads, np_input_grads, ref_input_grads, tol, floors):
    """Per layer from the output down: its parameter gradients, then the gradient it returns (dL/d its input).

    The first failing comparison in this order names the layer whose backward is wrong.
    """
    result = []
    for i in range(len(np_model.layers) - 1, -1, -1):
        layer = np_model.layers[i]
        result += [compare(np_grads[f"{layer.name}/{w}"], ref_grads[f"{layer.name}/{w}"], f"{layer.name}/{w}", tol,
                           floor=floors.get(f"{layer.name}/{w}", 0.0)) for w in layer.params]
        result.append(compare(np_input_grads[i], ref_input_grads[i], f"{layer.name}:input_grad", tol))
    return result


def _input_grads(dx, output_grads):
    """dL/d(input of layer i) = dL/d(output of layer i-1); dx for the first layer."""
    return [dx] + list(output_grads[:-1])


def check_backward(spec, dtype, seed=0, training=False):
    """Every parameter gradient and every layer's input gradient for a random upstream gradient, output first."""
    from keras_models import forward_backward

    np_model, k_model = build_twins(spec, dtype, seed)
    x = make_inputs(spec, dtype, seed)
    dout = _upstream(spec, np_model, dtype, seed)
    np_model.forward(x, training=training)
    dx, out_grads = np_model.backward(dout, return_output_grads=True)
    ref = forward_backward(k_model, x, dout, training=training)
    return _backward_order(np_model, np_model.grads, ref["grads"], _input_grads(dx, out_grads),
                           _input_grads(ref["dx"], ref["output_grads"]), tolerance(dtype),
                           condition_scales(np_model, out_grads))


def check_loss(spec, dtype, seed=0, training=False):
    """Loss value (incl. regularization), then every gradient from the output down (see ``_backward_order``)."""
    from keras_models import loss_and_gradients

    np_model, k_model = build_twins(spec, dtype, seed)
    x = make_inputs(spec, dtype, seed)
    y = np_model.forward(x, training=training)
    y_true = make_targets(spec, y.shape, dtype, seed)
    loss = numpy_loss(spec)
    value = np_model.compute_loss(loss, y_true, y)
    dx, out_grads = np_model.backward_loss(loss, y_true, y, return_output_grads=True)
    ref = loss_and_gradients(k_model, keras_loss(spec, dtype), x, y_true, training=training)
    tol = tolerance(dtype)
    return [compare(np.asarray(value), np.asarray(ref["value"], dtype), "loss", tol)] + _backward_order(
        np_model, np_model.grads, ref["grads"], _input_grads(dx, out_grads),
        _input_grads(ref["dx"], ref["output_grads"]), tol, condition_scales(np_model, out_grads))


def _hold_masks(source, target):
    """Finite-difference evaluations reuse the dropout masks of the analytic pass."""
    for src, dst in zip(source.layers, target.layers, strict=True):
        if hasattr(dst, "mask_fn"):
            dst.mask_fn, dst.hold_mask, dst.last_mask = None, True, src.last_mask


def frozen_copy(model):
    """A copy to evaluate once: layers with state or randomness are deep-copied, the rest shared.

    Stateless layers only overwrite their own cache, so sharing them (and their
    parameter arrays, which finite differences perturb in place) is safe and
    avoids copying every weight for every evaluation.
    """
    twin = copy.copy(model)
    twin.layers = [copy.deepcopy(l) if l.state or hasattr(l, "rng") else copy.copy(l) for l in model.layers]
    return twin


def check_gradients_three_way(spec, dtype="float64", seed=0, training=False, max_coords=24):
    """NumPy backward vs Keras GradientTape vs central finite differences (float64).

    Finite differences are taken on the NumPy forward at sampled coordinates (all
    of them for small tensors) plus one random direction per parameter; the
    forward itself is checked against Keras by ``check_forward``.
    """
    from keras_models import forward_backward

    np_model, k_model = build_twins(spec, dtype, seed)
    x = make_inputs(spec, dtype, seed)
    dout = _upstream(spec, np_model, dtype, seed)
    pristine = copy.deepcopy(np_model)  # before any forward: same RNG and moving statistics as below
    np_model.forward(x, training=training)
    dx, out_grads = np_model.backward(dout, return_output_grads=True)
    floors = condition_scales(np_model, out_grads)
    analytic = {**{k: v.copy() for k, v in np_model.grads.items()}, "dx": dx}
    ref = forward_backward(k_model, x, dout, training=training)
    keras_grads = {**ref["grads"], "dx": ref["dx"]}
    arrays = {**pristine.params, "dx": x}
    _hold_masks(np_model, pristine)

    def evaluate():  # a fresh copy per evaluation: same dropout masks, untouched moving statistics
        twin = frozen_copy(pristine)
        return float(np.sum(twin.forward(x, training=training) * dout)), twin.kink_signature()

    rng = np.random.default_rng(seed + 3)
    result = [compare(analytic[k], keras_grads[k], k, tolerance(dtype), floor=floors.get(k, 0.0)) for k in analytic]
    fd_tol = tolerance("float64", "finite_difference")
    for key, array in arrays.items():
        probes = probe_parameter(evaluate, array, analytic[key], rng, max_coords)
        result += _fd_comparisons(key, probes, analytic[key], keras_grads[key], fd_tol, floors.get(key, 0.0))
    return result


def _fd_comparisons(key, probes, analytic, keras_grad, tol, floor=0.0):
    coords = [p for p in probes if p.where != "direction" and not p.kink]
    kinks = [p.where for p in probes if p.kink]
    scale = max(float(np.abs(analytic).max(initial=0.0)), floor)
    numeric = np.array([p.numeric for p in coords])
    out = []
    for label, grad in (("numpy", analytic), ("keras", keras_grad)):
        values = np.array([grad[p.where] for p in coords])
        c = compare(values, numeric, f"{key}[fd]", tol, labels=(label, "finite_diff"), scale=scale)
        c.note = f"{len(coords)} coordinates" + (f"; kinks excluded at {kinks}" if kinks else "")
        out.append(c)
    for p in probes:
        if p.where == "direction" and not p.kink:
            c = compare(np.array([p.analytic]), np.array([p.numeric]), f"{key}[fd-direction]", tol,
                        labels=("numpy", "finite_diff"), scale=max(float(np.linalg.norm(analytic)), floor))
            out.append(c)
    return out


# -- selection ---------------------------------------------------------------------
CHECKS = {
    "check_weight_roundtrip": check_weight_roundtrip,
    "check_forward": check_forward,
    "check_backward": check_backward,
    "check_loss": check_loss,
    "check_gradients_three_way": check_gradients_three_way,
}


def yield_checks(spec, dtypes=("float32", "float64")):
    """(check id, zero-argument callable) for every check that applies to ``spec``."""
    modes = (False, True) if spec.has_training_behaviour else (False,)
    for dtype in dtypes:
        yield f"check_weight_roundtrip(dtype={dtype})", functools.partial(check_weight_roundtrip, spec, dtype)
        for training in modes:
            kw = f"dtype={dtype}, training={training}"
            yield f"check_forward({kw})", functools.partial(check_forward, spec, dtype, training=training)
            yield f"check_backward({kw})", functools.partial(check_backward, spec, dtype, training=training)
            yield f"check_loss({kw})", functools.partial(check_loss, spec, dtype, training=training)
        if any(l.class_name == "BatchNormalization" for l in spec.layers):
            yield f"check_moving_statistics(dtype={dtype})", functools.partial(check_moving_statistics, spec, dtype)
        if dtype == "float64":
            for training in modes:
                yield (f"check_gradients_three_way(dtype=float64, training={training})",
                       functools.partial(check_gradients_three_way, spec, "float64", training=training))


def check_moving_statistics(spec, dtype, seed=0, steps=5):
    """BatchNormalization moving mean/variance after several training-mode calls on fresh batches."""
    from keras_models import forward
    from parity.weights import keras_weights

    np_model, k_model = build_twins(spec, dtype, seed)
    for step in range(steps):
        x = make_inputs(spec, dtype, seed + 1000 + step)
        np_model.forward(x, training=True)
        forward(k_model, x, training=True)
    k_state = keras_weights(k_model)
    tol = tolerance(dtype)
    return [compare(v, k_state[k], f"after {steps} steps: {k}", tol) for k, v in np_model.state.items()]


CHECKS["check_moving_statistics"] = check_moving_statistics
