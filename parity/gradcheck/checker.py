"""A gradient checker for hand-written layers and networks (NumPy only).

    gradcheck(layer, x)             layer.forward(x) / layer.backward(dout) -> dx
    gradcheck_net(net, x, t)        net.params, net.gradient(x, t), net.loss(x, t)
    assert_gradients_ok(...)        AssertionError whose message is the report

How it avoids both missed bugs and false alarms:
- float64 throughout, on deep copies; a layer that computes in float32 anyway is reported;
- a random upstream gradient (never ones, which hides transposition errors);
- Richardson-extrapolated central differences, h = 1e-3 * max(1, |w|);
- kinks (a ReLU or max switching branch within +-h) are detected from the layer's
  branch signature when it has one, else from the curvature of f; the probe is
  retried with steps 10x, 100x and 1000x smaller, and excluded (and listed) only
  if every step straddles a kink;
- differences below the resolution of finite differences (~eps * |f| / h) are
  not failures: a gradient that is exactly zero (a bias before BatchNorm) is
  computed as round-off by both sides;
- an element fails only if no step in a sweep 1e-2 .. 1e-8 brings analytic and
  numeric within tolerance (truncation shrinks with h, round-off grows: a real
  bug is wrong at every h); the sweep is printed for the worst failing element;
- all elements of small parameters, otherwise a sample (always including the
  largest-gradient element) plus a random-direction check of the whole tensor;
- writes into ``dout`` or into the saved input during backward are errors.
"""
import copy

import numpy as np

from parity import random_streams
from parity.gradcheck import subject as subj
from parity.gradcheck.finite_differences import (probe_coordinate, probe_direction, resolution, sample_coordinates,
                                       step_sweep)
from parity.gradcheck.keras_check import KerasCheckResult
from parity.gradcheck.result import ElementError, GradcheckResult, ParamReport
from parity.tolerances import tolerance

DEFAULTS = {"training": True, "seed": 0, "max_coords": 30, "step": 1e-3, "rtol": None, "params": None}


def _options(options, kind="finite_difference"):
    unknown = sorted(set(options) - set(DEFAULTS))
    if unknown:
        raise TypeError(f"gradcheck: unknown option(s) {unknown}. Known: {sorted(DEFAULTS)}")
    opts = {**DEFAULTS, **options}
    opts["rtol"] = opts["rtol"] if opts["rtol"] is not None else tolerance("float64", kind).rtol
    return opts


class _Objective:
    """f(params) = evaluate a fresh copy of ``pristine``; perturbations go into pristine's arrays."""

    def __init__(self, pristine, run_once, rng_state):
        self.pristine, self.run_once, self.rng_state = pristine, run_once, rng_state

    def __call__(self):
        twin = copy.deepcopy(self.pristine)
        subj.restore_rng(self.rng_state)
        return self.run_once(twin)


def _check_param(name, objective, array, analytic, opts, rng, f0):
    if analytic is None or np.shape(analytic) != array.shape:
        got = None if analytic is None else np.shape(analytic)
        return ParamReport(name, array.shape, False, 0, np.inf, np.inf, 1.0,
                           shape_error=f"gradient has shape {got}, parameter has shape {array.shape}")
    analytic = np.asarray(analytic, dtype=np.float64)
    scale = float(np.abs(analytic).max(initial=0.0))
    errors, kinks = [], []
    for j in sample_coordinates(analytic, opts["max_coords"], rng):
        numeric, kink = probe_coordinate(objective, array, j, opts["step"], f0)
        index = tuple(int(i) for i in np.unravel_index(j, array.shape))
        if kink:
            kinks.append(index)
        else:
            errors.append((j, index, float(analytic.flat[j]), float(numeric)))
    scale = max(scale, max((abs(n) for *_, n in errors), default=0.0), np.finfo(np.float64).tiny)
    bound = max(opts["rtol"] * scale, resolution(f0, opts["step"]))
    failing, sweep = [], []
    for j, index, a, n in sorted(errors, key=lambda e: -abs(e[2] - e[3])):
        if abs(a - n) <= bound:
            continue
        trial = step_sweep(objective, array, j)
        if not sweep:
            sweep = [(h, num, abs(a - num)) for h, num in trial]
        if min(abs(a - num) for _, num in trial) > bound:
            failing.append((index, a, n))
    worst = [ElementError(i, a, n, abs(a - n), abs(a - n) / max(abs(a), abs(n), 1e-300))
             for _, i, a, n in sorted(errors, key=lambda e: -abs(e[2] - e[3]))[:5]]
    report = ParamReport(name, array.shape, not failing, len(errors) + len(kinks),
                         max((e.abs_err for e in worst), default=0.0),
                         max((e.abs_err for e in worst), default=0.0) / scale,
                         len(failing) / max(len(errors), 1), worst=worst, kinks=kinks, sweep=sweep if failing else [])
    if array.size > opts["max_coords"]:
        report.direction = _direction(objective, array, analytic, opts, rng, f0)
        report.ok = report.ok and report.direction["ok"]
    return report


def _direction(objective, array, analytic, opts, rng, f0):
    """d f(w + t v)/dt vs analytic . v for a random unit direction v (the whole tensor at once)."""
    v = rng.standard_normal(array.shape)
    v /= np.linalg.norm(v)
    numeric, kink = probe_direction(objective, array, v, opts["step"])
    expected = float(np.sum(analytic * v))
    norm = max(float(np.linalg.norm(analytic)), np.finfo(np.float64).tiny)
    h = opts["step"] * max(1.0, float(np.abs(array).max(initial=0.0)))
    ok = kink or abs(expected - numeric) <= max(opts["rtol"] * norm, resolution(f0, h))
    return {"analytic": expected, "numeric": float(numeric), "rel": abs(expected - numeric) / norm, "ok": bool(ok),
            "kink": kink}


# -- public API --------------------------------------------------------------------------
def _float64_input(x, who):
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{who}: x must be a real numeric array. Received: dtype={arr.dtype}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{who}: x contains NaN or Inf.")
    return arr.astype(np.float64)


def gradcheck(layer, x, **options):
    """Check ``layer.backward`` (dx and every parameter gradient) against finite differences.

    Args:
        layer: any object with ``forward(x[, training|train_flg])`` and ``backward(dout) -> dx``.
            Parameters are found in ``params``/``grads`` dicts or as X/dX attribute pairs.
        x: an input batch.
        training: value passed to a ``training``/``train_flg`` argument (default True).
        params: {"W": "dW"} or ["W"] to name parameters; {} checks dx only.
        seed, max_coords, step, rtol: sampling seed, coordinates per parameter,
            base step, tolerance (default: the float64 finite-difference entry of the table).
    Returns:
        GradcheckResult.
    """
    subj.require_layer(layer)
    opts = _options(options)
    x = _float64_input(x, "gradcheck")
    pristine, converted = subj.float64_copy(layer)
    rng_state = subj.rng_state()
    notes = [f"converted {converted} float32/float16 array(s) to float64 in the checked copy"] if converted else []
    run = copy.deepcopy(pristine)
    ids = subj.array_ids(run)
    x_given = x.copy()
    y = np.array(subj.call_forward(run, x_given, opts["training"]), copy=True)  # copy: y may be a view of x
    errors = _forward_problems(x, x_given, y)
    dout = random_streams.generator("gradcheck_upstream", opts["seed"]).standard_normal(y.shape)
    dout_sent, x_saved = dout.copy(), x_given.copy()
    dx = run.backward(dout_sent)
    refs = subj.find_params(run, opts["params"], ids)  # after backward: textbook layers set dW there
    if not np.array_equal(dout_sent, dout):
        errors.append("backward() wrote into its input gradient dout (callers may reuse it): return a new array")
    if not np.array_equal(x_given, x_saved):
        errors.append("backward() modified the saved input x in place")
    analytic = {r.name: _copy(r.gradient(run)) for r in refs}
    x_eval = x.copy()

    def run_once(twin):
        out = subj.call_forward(twin, x_eval.copy(), opts["training"])
        return float(np.sum(np.asarray(out, dtype=np.float64) * dout)), subj.kink_signature(twin)

    objective = _Objective(pristine, run_once, rng_state)
    f0 = objective()[0]
    rng = random_streams.generator("gradcheck_probes", opts["seed"])
    reports = [_check_param(r.name, objective, r.value(pristine), analytic[r.name], opts, rng, f0) for r in refs]
    reports.append(_check_param("dx", objective, x_eval, dx, opts, rng, f0))
    subj.restore_rng(rng_state)
    if not refs:
        notes.append("no parameters found (params/grads dicts or X/dX attribute pairs); checked dx only")
    return _result(type(layer).__name__, reports, errors, notes, opts)


def _forward_problems(x, x_given, y):
    problems = []
    if not np.array_equal(x, x_given):
        problems.append("forward() modified its input x in place")
    if y.dtype != np.float64:
        problems.append(f"the layer computes in {y.dtype} although its inputs and parameters were float64 "
                        "(a silent downcast): finite differences would only measure its round-off")
    return problems


def _copy(value):
    return None if value is None else np.array(value, dtype=np.float64, copy=True)


def _result(subject, reports, errors, notes, opts):
    ok = all(r.ok for r in reports) and not errors
    shown = {k: v for k, v in opts.items() if k != "params"}
    return GradcheckResult(subject=subject, ok=ok, params=reports, errors=errors, notes=notes, options=shown)


def gradcheck_net(net, x, t, **options):
    """Check ``net.gradient(x, t)`` against finite differences of ``net.loss(x, t)`` for every entry of ``net.params``."""
    subj.require_net(net)
    opts = _options(options, "finite_difference_net")
    x, t = _float64_input(x, "gradcheck_net"), np.asarray(t)
    pristine, converted = subj.float64_copy(net)
    rng_state = subj.rng_state()
    notes = [f"converted {converted} float32/float16 array(s) to float64 in the checked copy"] if converted else []
    run = copy.deepcopy(pristine)
    grads = run.gradient(x.copy(), t.copy())
    missing = [k for k in pristine.params if not isinstance(grads, dict) or k not in grads]
    if missing:
        raise ValueError(f"gradcheck_net: gradient(x, t) returned no entry for {missing}. "
                         f"Expected one per key of params: {sorted(pristine.params)}")

    def run_once(twin):
        value = np.asarray(twin.loss(x.copy(), t.copy()), dtype=np.float64)
        return float(value), subj.kink_signature(twin)

    objective = _Objective(pristine, run_once, rng_state)
    f0 = objective()[0]
    rng = random_streams.generator("gradcheck_probes", opts["seed"])
    reports = [_check_param(k, objective, pristine.params[k], _copy(grads[k]), opts, rng, f0) for k in pristine.params]
    subj.restore_rng(rng_state)
    return _result(type(net).__name__, reports, [], notes, opts)


def assert_gradients_ok(target, *args, **options):
    """Raise AssertionError (message: the full report) unless the gradients check out.

    ``target`` is a GradcheckResult (or Keras check result), a network (``gradient``
    and ``params``: args are x, t) or a layer (args: x).
    """
    if isinstance(target, (GradcheckResult, KerasCheckResult)):
        result = target
    elif callable(getattr(target, "gradient", None)) and isinstance(getattr(target, "params", None), dict):
        result = gradcheck_net(target, *args, **options)
    else:
        result = gradcheck(target, *args, **options)
    if not result.ok:
        raise AssertionError(str(result))
    return result
