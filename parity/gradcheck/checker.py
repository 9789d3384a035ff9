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
  retried with steps 10x, 100x and 1000x smaller; a coordinate that still straddles
  a kink is checked by the subgradient interval rule (the analytic value must lie
  between the one-sided derivatives; parity.gradcheck.kinks); a direction probe that
  does is re-probed without the kinked coordinates or replaced by more coordinates;
- differences below the resolution of finite differences (~eps * |f| / h) are
  not failures: a gradient that is exactly zero (a bias before BatchNorm) is
  computed as round-off by both sides;
- an element fails only if no step in a sweep 1e-2 .. 1e-8 brings analytic and
  numeric within tolerance (truncation shrinks with h, round-off grows: a real
  bug is wrong at every h); the sweep is printed for the worst failing element;
- all elements of small parameters, otherwise a sample (always including the
  largest-gradient element) plus a random-direction check of the whole tensor;
- writes into ``dout`` or into the saved input during backward are hazards: listed
  first in the report, failing the result only with ``strict=True`` (``ok`` is about
  the gradient); so is a parameter not verified, every sampled element excluded as a
  kink (a correct net with tiny weights can have one: a failure would be a false alarm),
  but a result with nothing verified at all fails;
- the unperturbed function is evaluated twice: one that does not repeat its value (a
  generator outside the layer) fails, naming cause and fix (parity.gradcheck.reproducible);
- a failing random direction is bisected to the elements behind it (parity.gradcheck.locate);
- a failing parameter carries ``likely_cause`` (parity.gradcheck.causes); nets are
  checked in the mode their gradient used (parity.gradcheck.modes);
- an integer x holds indices (token ids): passed as given, the parameters checked, dx not (a note says so);
- options out of range (rtol, step, max_coords) and a forward returning several outputs are refused; an
  exception in the user's forward/backward/gradient/loss is re-raised naming the subject, the method and the mode;
- NaN or Inf in x, t or a parameter, and an empty batch, are refused; a forward
  output, loss, gradient or numeric value that is not finite fails (NaN would pass
  every ``err <= bound`` test); a gradient backward() never set fails naming it
  (parity.gradcheck.inputs, parity.gradcheck.first_pass).
"""
import copy
import functools

import numpy as np
from threadpoolctl import threadpool_limits

from parity import random_streams
from parity.gradcheck import inputs
from parity.gradcheck import subject as subj
from parity.gradcheck.causes import evidence_for, numeric_at
from parity.gradcheck.first_pass import first_pass
from parity.gradcheck.keras_check import KerasCheckResult
from parity.gradcheck.modes import (TEXTBOOK_EPSILON, cross_entropy_log_gap, loss_kwargs, mode_note,
                                    softmax_loss_layer)
from parity.gradcheck.probing import Objective, check_param
from parity.gradcheck.reproducible import irreproducible
from parity.gradcheck.result import GradcheckResult
from parity.gradcheck.suffix import objectives_by_layer
from parity.tolerances import tolerance

DEFAULTS = {"training": True, "seed": 0, "max_coords": 30, "step": 1e-3, "rtol": None, "params": None, "strict": False}


def _options(options, kind="finite_difference", who="gradcheck"):
    """The options with defaults filled in; unknown names and values out of range are refused."""
    unknown = sorted(set(options) - set(DEFAULTS))
    if unknown:
        raise TypeError(f"{who}: unknown option(s) {unknown}. Known: {sorted(DEFAULTS)}")
    opts = {**DEFAULTS, **options}
    opts["rtol"] = opts["rtol"] if opts["rtol"] is not None else tolerance("float64", kind).rtol
    _require_range(who, opts, "rtol", "a number with 0 < rtol < 1 (a tolerance relative to the largest |gradient|)",
                   lambda v: 0 < v < 1)
    _require_range(who, opts, "step", "a finite number > 0 (the base finite-difference step h)",
                   lambda v: 0 < v < np.inf)
    if not _is_integer(opts["max_coords"]) or opts["max_coords"] < 1:
        raise ValueError(f"{who}: option max_coords must be an integer >= 1 (elements probed per parameter). "
                         f"Received: max_coords={opts['max_coords']!r}")
    return opts


def _require_range(who, opts, name, expected, fits):
    value = opts[name]
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
    if not ok or not fits(float(value)):
        raise ValueError(f"{who}: option {name} must be {expected}. Received: {name}={value!r}")


def _is_integer(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


# -- public API --------------------------------------------------------------------------
def _one_blas_thread(fn):
    """Hundreds of small evaluations: BLAS threads only add contention (100x784 @ 784x50 measured 1 ms
    with one thread, 23 ms with the default pool on a loaded 2-core machine). Results are unchanged."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with threadpool_limits(1, user_api="blas"):
            return fn(*args, **kwargs)
    return wrapper


@_one_blas_thread
def gradcheck(layer, x, **options):
    """Check ``layer.backward`` (dx and every parameter gradient) against finite differences.

    Args:
        layer: any object with ``forward(x[, training|train_flg])`` and ``backward(dout) -> dx``.
            Parameters are found in ``params``/``grads`` dicts or as X/dX attribute pairs.
        x: an input batch (finite, at least one sample). An integer x that forward() cannot take as float64 holds
            indices (token ids, an Embedding's ``W[x]``): it is passed as given and dx is not checked (a note says
            so; ``result.dx_checked`` is False); one forward() takes as floats is checked as floats, dx included.
        training: value passed to a ``training``/``train_flg`` argument (default True).
        params: {"W": "dW"} or ["W"] to name parameters; {} checks dx only.
        seed, max_coords, step, rtol: sampling seed, coordinates per parameter (an integer >= 1),
            base step (> 0), tolerance (0 < rtol < 1; default: the float64 finite-difference entry of the table).
    Raises:
        ValueError/TypeError: NaN or Inf in x or a parameter, an empty x, an option out of range, a forward
            returning several outputs. An exception in the layer's forward/backward is re-raised (same type,
            chained) naming the layer, the method and the mode.
        strict: also fail on hazards (a backward writing into ``dout`` or its saved input).
    Returns:
        GradcheckResult: ``ok`` is the verdict on the gradients; hazards are listed
        apart (``result.hazards``) and fail it only with ``strict=True``: the
        textbook ReLU's ``dout[mask] = 0`` is a correct gradient that breaks callers
        reusing ``dout``. A failing parameter carries ``likely_cause``. A forward
        output with NaN or Inf fails it (nothing can be checked through it).
    """
    subj.require_layer(layer)
    opts = _options(options)
    x = inputs.batch(x, "gradcheck", keep_integers=True)
    rng_state = subj.rng_state()
    indices = inputs.holds_integers(x) and _indexes_only(layer, x, opts["training"], rng_state)
    x = x if indices else x.astype(np.float64)  # integer data a real-valued layer takes: dx is checked on it
    first = first_pass(layer, x, opts, rng_state)
    pristine, run, y, dout, dx, refs = first.pristine, first.run, first.y, first.dout, first.dx, first.refs
    notes, errors, hazards = first.notes + ([inputs.integer_x_note(x)] if indices else []), first.errors, first.hazards
    if not first.checkable:
        subj.restore_rng(rng_state)
        return _result(type(layer).__name__, [], errors, notes, opts, hazards)
    analytic = {r.name: _copy(r.gradient(run)) for r in refs}
    x_eval = x.copy()

    def run_once_in(training):
        def run_once(twin):
            out = subj.call_forward(twin, x_eval.copy(), training)
            return float(np.sum(np.asarray(out, dtype=np.float64) * dout))
        return run_once

    objective = Objective(pristine, run_once_in(opts["training"]), rng_state)
    f0 = objective.unperturbed()[0]
    if not np.isfinite(f0):
        return _unchecked(type(layer).__name__, f"sum(forward(x) * dout) = {f0}", rng_state, errors, notes, opts,
                          hazards)
    errors = errors + _reproducibility(objective, f0, "sum(forward(x) * dout)")
    rng = random_streams.generator("gradcheck_probes", opts["seed"])
    other = Objective(pristine, run_once_in(not opts["training"]), rng_state) if subj.forward_kwargs(
        pristine, True) else None

    def evidence(name):
        act = {"x": x, "y": y, "dout": dout} if name == "dx" and y.shape == x.shape else {}
        return lambda array: evidence_for(array, objective, f0, opts["step"], x.shape, other, not opts["training"],
                                          activation=act)

    # A stack's parameters are probed from their own layer on (the prefix's output computed once).
    by_layer, from_input = objectives_by_layer(pristine, x_eval, opts["training"], dout, rng_state, f0, objective)
    reports = [check_param(r.name, by_layer.get(r.name.split("/")[0], objective), r.value(pristine),
                           analytic[r.name], opts, rng, f0, evidence(r.name), r.gradient_label(run)) for r in refs]
    if not indices:  # an integer x holds indices (token ids): finite differences cannot step it
        reports.append(check_param("dx", from_input, x_eval, dx, opts, rng, f0, evidence("dx"), "backward(dout)"))
    subj.restore_rng(rng_state)
    if not refs and indices:
        errors = errors + ["nothing to check: no parameters found (params/grads dicts or X/dX attribute pairs) and "
                           "dx is not checked for an integer x that forward() takes as indices only"]
    elif not refs:
        notes.append("no parameters found (params/grads dicts or X/dX attribute pairs); checked dx only")
    return _result(type(layer).__name__, reports, errors, notes, opts, hazards, dx_checked=not indices)


def _indexes_only(layer, x, training, rng_state):
    """Is the integer ``x`` an index array (token ids)? Only if ``forward`` fails on it as float64, as an Embedding's
    ``W[x]`` does: integer test data (``np.arange(12).reshape(3, 4)``) for a real-valued layer is checked as real,
    dx included. Runs on a copy; the RNGs are put back."""
    try:
        subj.call_forward(copy.deepcopy(layer), x.astype(np.float64), training, "gradcheck")
    except Exception:  # any failure on real values: the layer uses x as indices
        return True
    finally:
        subj.restore_rng(rng_state)
    return False


def _reproducibility(objective, f0, what):
    """[the error] when the unperturbed function does not repeat its value (parity.gradcheck.reproducible), else [].
    The probes still run: their reports show what the noise did (every element a \"kink\", say)."""
    problem = irreproducible(objective, f0, what)
    return [problem] if problem else []


def _unchecked(subject, what, rng_state, errors, notes, opts, hazards=()):
    """A failing result for a subject whose objective is not finite (every finite difference would be NaN)."""
    subj.restore_rng(rng_state)
    errors = errors + [f"{what}: not finite, so no gradient can be checked (NaN or Inf inside the computation)"]
    return _result(subject, [], errors, notes, opts, hazards)


def _copy(value):
    return None if value is None else np.array(value, dtype=np.float64, copy=True)


def _result(subject, reports, errors, notes, opts, hazards=(), dx_checked=None):
    hazards = list(hazards) + [f"{r.name}: not verified: {r.unverified}" for r in reports if r.unverified]
    if reports and all(r.unverified for r in reports) and not errors:
        errors = errors + ["nothing was verified: every parameter (and dx) is NOT VERIFIED (see the hazards), so no "
                           "gradient was compared; a subject whose one parameter sits on packed kinks passes on the "
                           "others, one with no comparable element at all cannot pass"]
    ok = all(r.ok for r in reports) and not errors and not (opts["strict"] and hazards)
    shown = {k: v for k, v in opts.items() if k != "params"}
    explained = [r for r in reports if r.ok and r.likely_cause is not None and r.likely_cause.explains_away]
    notes = notes + ([f"{', '.join(r.name for r in explained)}: {explained[0].likely_cause.evidence}"] if explained else [])
    return GradcheckResult(subject=subject, ok=ok, params=reports, errors=errors, hazards=hazards, notes=notes,
                           options=shown, dx_checked=dx_checked)


@_one_blas_thread
def gradcheck_net(net, x, t, **options):
    """Check ``net.gradient(x, t)`` against finite differences of ``net.loss(x, t)`` for every entry of ``net.params``.

    The loss is evaluated in the mode the gradient used: ``train_flg=True`` (or
    ``training=True``) when ``loss`` takes it, on deep copies with NumPy's RNG
    replayed (moving statistics untouched, dropout masks fixed); a note says so.
    A mismatch explained by the textbook ``-log(y + 1e-7)`` epsilon is reported
    as ``likely_cause.name == "loss_epsilon"`` and does not fail the gradient.
    """
    subj.require_net(net)
    opts = _options(options, "finite_difference_net", "gradcheck_net")
    x = inputs.batch(x, "gradcheck_net", keep_integers=True)  # integer x: token ids, passed to loss() as given
    t = inputs.targets(t, "gradcheck_net", len(x))
    inputs.array_parameters(net.params, "gradcheck_net")
    inputs.finite_parameters({f"params[{k!r}]": v for k, v in net.params.items()}, "gradcheck_net")
    ints = subj.integer_arrays(net.params)
    pristine, converted = subj.float64_copy(net, ints.values())
    rng_state = subj.rng_state()
    notes = [subj.conversion_note(converted, list(ints))] if converted else []
    run = copy.deepcopy(pristine)
    grads = subj.call_net(run, "gradient", x.copy(), t.copy())
    missing = [k for k in pristine.params if not isinstance(grads, dict) or k not in grads]
    if missing:
        raise ValueError(f"gradcheck_net: gradient(x, t) returned no entry for {missing}. "
                         f"Expected one per key of params: {sorted(pristine.params)}")

    mode = loss_kwargs(pristine, opts["training"])
    notes.append(mode_note(mode))

    def run_once_in(kwargs, plain=False):
        def run_once(twin):
            value = float(np.asarray(subj.call_net(twin, "loss", x.copy(), t.copy(), kwargs), dtype=np.float64))
            layer = softmax_loss_layer(twin) if plain else None
            return value + (cross_entropy_log_gap(layer.y, layer.t) if layer else 0.0)
        return run_once

    objective = Objective(pristine, run_once_in(mode), rng_state)
    f0 = objective.unperturbed()[0]
    if not np.isfinite(f0):
        return _unchecked(type(net).__name__, f"loss(x, t) = {f0}", rng_state, [], notes, opts)
    errors = _reproducibility(objective, f0, "loss(x, t)")
    rng = random_streams.generator("gradcheck_probes", opts["seed"])
    other = Objective(pristine, run_once_in({k: not v for k, v in mode.items()}), rng_state) if mode else None
    plain = Objective(pristine, run_once_in(mode, plain=True), rng_state)
    has_epsilon = plain()[0] != f0

    def evidence(array):
        return evidence_for(array, objective, f0, opts["step"], x.shape, other, not opts["training"],
                            epsilon=TEXTBOOK_EPSILON,
                            plain_loss_numeric=numeric_at(plain, array, opts["step"]) if has_epsilon else None,
                            plain_loss=plain if has_epsilon else None)

    reports = [check_param(k, objective, pristine.params[k], _copy(grads[k]), opts, rng, f0, evidence,
                           f"gradient(x, t)[{k!r}]") for k in pristine.params]
    subj.restore_rng(rng_state)
    return _result(type(net).__name__, reports, errors, notes, opts)


def assert_gradients_ok(target, *args, **options):
    """Raise AssertionError (message: the full report) unless the gradients check out.

    ``target`` is a GradcheckResult (or Keras check result), a network (``gradient``
    and ``params``: args are x, t) or a layer (args: x). ``strict=True`` also
    fails on hazards (a backward writing into ``dout`` or its saved input).
    """
    if isinstance(target, (GradcheckResult, KerasCheckResult)):
        result = target
        if options.get("strict") and getattr(result, "hazards", None):
            raise AssertionError(f"strict: hazards fail the check\n{result}")
    elif callable(getattr(target, "gradient", None)) and isinstance(getattr(target, "params", None), dict):
        result = gradcheck_net(target, *args, **options)
    else:
        result = gradcheck(target, *args, **options)
    if not result.ok:
        raise AssertionError(str(result))
    return result
