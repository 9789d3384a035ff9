"""The three-way gradient check: NumPy backward vs Keras GradientTape vs central finite differences (float64).

Its NumPy half (the backward and the finite differences, the expensive part) returns plain data and its Keras
half only compares with Keras's gradients, as the halves of ``parity.checks.model_checks``.
"""
import copy

import numpy as np
from threadpoolctl import threadpool_limits

from parity import random_streams
from parity.checks.model_checks import keras_product, numpy_model, upstream_gradient
from parity.checks.nodes import numpy_backward
from parity.compare import compare
from parity.gradcheck.finite_differences import SignedObjective, probe_parameter
from parity.specs import make_inputs
from parity.tolerances import tolerance
from parity.twins import leaf_layers, twin_data


def _hold_masks(source, target):
    """Finite-difference evaluations reuse the dropout masks of the analytic pass (nested models included)."""
    for src, dst in zip(source.layers, target.layers, strict=True):
        if hasattr(dst, "mask_fn"):
            dst.mask_fn, dst.hold_mask, dst.last_mask = None, True, src.last_mask
        if hasattr(dst, "layers"):
            _hold_masks(src, dst)


def saved_state(model):
    """[(layer, copies of its ``state`` arrays, its generator's state or None)] for every layer that a training
    forward may change: the layer protocol keeps all of that in ``state`` (moving statistics) and ``rng``."""
    return [(l, {k: v.copy() for k, v in l.state.items()}, l.rng.bit_generator.state if hasattr(l, "rng") else None)
            for l in leaf_layers(model) if getattr(l, "state", None) or hasattr(l, "rng")]


def put_back(saved):
    """Every layer of ``saved_state`` as it was when saved (arrays written in place: views of them stay valid)."""
    for layer, state, generator in saved:
        for name, value in state.items():
            np.copyto(layer.state[name], value)
        if generator is not None:
            layer.rng.bit_generator.state = generator


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
    """f = sum(forward(x) * dout) on the pristine twin, every evaluation from the same state.

    In training mode its moving statistics and generators are put back before each evaluation (a deep copy
    per evaluation did the same at a cost of about a sixth of the float64 checks' time); dropout masks are held
    at the analytic pass's (``_hold_masks``). In inference mode no layer changes.
    """

    def __init__(self, pristine, x, dout, training):
        self.pristine, self.x, self.dout, self.training = pristine, x, dout, training
        self._saved = saved_state(pristine) if training else []

    def _run(self, signature):
        put_back(self._saved)
        value = float(np.sum(self.pristine.forward(self.x, training=self.training) * self.dout))
        return value, self.pristine.kink_signature() if signature else None


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
