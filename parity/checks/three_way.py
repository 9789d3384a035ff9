"""The three-way gradient check: NumPy backward vs Keras GradientTape vs central finite differences (float64).

Its NumPy half (the backward and the finite differences, the expensive part) returns plain data and its Keras
half only compares with Keras's gradients, as the halves of ``parity.checks.model_checks``.
"""
import copy

import numpy as np
from threadpoolctl import threadpool_limits

import numpy_models
from parity import random_streams
from parity.checks.model_checks import keras_product, numpy_model, upstream_gradient
from parity.checks.nodes import numpy_backward
from parity.compare import compare
from parity.gradcheck.finite_differences import SignedObjective, probe_parameter
from parity.gradcheck.suffix import reusable
from parity.specs import make_inputs
from parity.tolerances import tolerance
from parity.twins import twin_data


def _hold_masks(source, target):
    """Finite-difference evaluations reuse the dropout masks of the analytic pass (nested models included)."""
    for src, dst in zip(source.layers, target.layers, strict=True):
        if hasattr(dst, "mask_fn"):
            dst.mask_fn, dst.hold_mask, dst.last_mask = None, True, src.last_mask
        if hasattr(dst, "layers"):
            _hold_masks(src, dst)


def frozen_copy(model, training=True):
    """A copy to evaluate once: layers with state or randomness are deep-copied, the rest shared.

    Stateless layers only overwrite their own cache, so sharing them (and their
    parameter arrays, which finite differences perturb in place) is safe and
    avoids copying every weight, or even the layer object, for every evaluation. A graph's nodes hold its
    layers, so a graph runs shallow copies of the nodes of the copied layers (a graph nesting another
    graph is deep-copied whole when it has state or randomness). In inference mode
    (``training=False``) no layer updates its state or draws from its random stream, so every layer is
    stateless for the evaluation and the model itself is evaluated.
    """
    if not training:
        return model
    fresh = [l for l in model.layers if not reusable(l)]
    graph = isinstance(model, numpy_models.Model)  # its nodes, not ``layers``, are what runs
    if graph and any(isinstance(l, numpy_models.Model) for l in model.layers):
        return copy.deepcopy(model) if fresh else model  # a graph nesting a graph: copied whole
    copies = {id(l): _layer_copy(l) for l in fresh}
    if graph and not copies:
        return model
    twin = copy.copy(model)
    twin.layers = [copies.get(id(l), l) for l in model.layers]
    if graph:  # its nodes call the copies (deep-copying the whole graph was ~75% of a BatchNorm ResNet's time)
        twin._nodes = [_rerouted(n, copies) for n in model._nodes]
    return twin


def _rerouted(node, copies):
    """``node``, or a shallow copy of it calling the copy of its layer when ``copies`` ({id(layer): copy}) has one."""
    if id(node.layer) not in copies:
        return node
    twin = copy.copy(node)
    twin.layer = copies[id(node.layer)]
    return twin


def _layer_copy(layer):
    """A deep copy of ``layer`` that shares its graph nodes (``_inbound_nodes``).

    A Sequential model runs its ``layers`` list, never the nodes; but the nodes
    reference every other layer, so a plain deep copy of one layer copied the
    whole model (about 640 objects per copy, 90% of a BatchNorm MLP's three-way time).
    """
    nodes = getattr(layer, "_inbound_nodes", None)
    return copy.deepcopy(layer, {} if nodes is None else {id(nodes): nodes})


def gradients_three_way_numpy(spec, dtype="float64", seed=0, training=False, max_coords=24):
    """The NumPy half of ``check_gradients_three_way``: the NumPy backward and the finite-difference probes.

    Finite differences are taken on the NumPy forward at sampled coordinates (all
    of them for small tensors) plus one random direction per parameter.
    """
    twin, x = twin_data(spec, dtype, seed), make_inputs(spec, dtype, seed)
    dout = upstream_gradient(spec, twin["output_shape"], dtype, seed)
    np_model = numpy_model(spec, dtype, seed, training)
    pristine = copy.deepcopy(np_model)  # before any forward: same RNG and moving statistics as below
    np_model.forward(x, training=training)
    dx, _, floors = numpy_backward(np_model, dout)
    analytic = {**{k: v.copy() for k, v in np_model.grads.items()}, "dx": dx}
    data = {"twin": twin, "x": x.copy(), "dout": dout, "analytic": analytic, "floors": floors}
    _hold_masks(np_model, pristine)
    evaluate = _Evaluation(pristine, x, dout, training)
    rng = random_streams.generator("finite_difference", seed)
    with threadpool_limits(1, user_api="blas"):  # hundreds of small GEMMs: a thread pool only waits (as gradcheck)
        data["probes"] = {key: probe_parameter(evaluate, array, analytic[key], rng, max_coords)
                          for key, array in {**pristine.params, "dx": x}.items()}
    return data


def gradients_three_way_keras(spec, dtype, data, seed=0, training=False):
    """The Keras half: Keras's gradients against the NumPy backward, and both against the probes."""
    ref = keras_product(spec, dtype, seed, training, data["twin"], "backward")
    keras_grads, analytic, floors = {**ref["grads"], "dx": ref["dx"]}, data["analytic"], data["floors"]
    result = [compare(analytic[k], keras_grads[k], k, tolerance(dtype), floor=floors.get(k, 0.0),
                      kind="input_grad" if k == "dx" else "param") for k in analytic]
    fd_tol = tolerance("float64", "finite_difference")
    with threadpool_limits(1, user_api="blas"):  # the norms of the scales: threaded BLAS may round them otherwise
        for key, probes in data["probes"].items():
            result += _fd_comparisons(key, probes, analytic[key], keras_grads[key], fd_tol, floors.get(key, 0.0))
    return result


def check_gradients_three_way(spec, dtype="float64", seed=0, training=False, max_coords=24):
    """NumPy backward vs Keras GradientTape vs central finite differences (float64).

    Finite differences are taken on the NumPy forward at sampled coordinates (all
    of them for small tensors) plus one random direction per parameter; the
    forward itself is checked against Keras by ``check_forward``.
    """
    data = gradients_three_way_numpy(spec, dtype, seed, training, max_coords)
    return gradients_three_way_keras(spec, dtype, data, seed, training)


class _Evaluation(SignedObjective):
    """f = sum(forward(x) * dout) on a fresh frozen copy: same dropout masks, untouched moving statistics."""

    def __init__(self, pristine, x, dout, training):
        self.pristine, self.x, self.dout, self.training = pristine, x, dout, training

    def _run(self, signature):
        twin = frozen_copy(self.pristine, self.training)
        value = float(np.sum(twin.forward(self.x, training=self.training) * self.dout))
        return value, twin.kink_signature() if signature else None


def _fd_comparisons(key, probes, analytic, keras_grad, tol, floor=0.0):
    coords = [p for p in probes if p.where != "direction" and not p.kink]
    kinks = [p.where for p in probes if p.kink]
    scale = max(float(np.abs(analytic).max(initial=0.0)), floor)
    numeric = np.array([p.numeric for p in coords])
    out = []
    for label, grad in (("numpy", analytic), ("keras", keras_grad)):
        values = np.array([grad[p.where] for p in coords])
        c = compare(values, numeric, f"{key}[fd]", tol, labels=(label, "finite_diff"), scale=scale, tensor=key,
                    kind="finite_difference")
        c.note = f"{len(coords)} coordinates" + (f"; kinks excluded at {kinks}" if kinks else "")
        out.append(c)
    for p in probes:
        if p.where == "direction" and not p.kink:
            c = compare(np.array([p.analytic]), np.array([p.numeric]), f"{key}[fd-direction]", tol,
                        labels=("numpy", "finite_diff"), scale=max(float(np.linalg.norm(analytic)), floor),
                        tensor=key, kind="direction")
            out.append(c)
    return out
