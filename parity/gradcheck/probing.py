"""Probing one parameter: every sampled element (with the interval rule at kinks) and one random direction,
bisected to the elements behind it when it fails (parity.gradcheck.locate).

Shared by ``gradcheck`` (layers) and ``gradcheck_net`` (networks) in ``parity.gradcheck.checker``.
"""
import copy

import numpy as np

from parity.gradcheck import subject as subj
from parity.gradcheck.causes import diagnose, nonfinite_cause, shape_cause, uncovered_cause
from parity.gradcheck.finite_differences import (KINK_RETRIES, SignedObjective, probe_coordinate, probe_direction,
                                                 resolution, sample_coordinates, step_sweep, value_of)
from parity.gradcheck.inputs import nonfinite
from parity.gradcheck.kinks import Remembered, check_kink, direction_probe
from parity.gradcheck.locate import locate
from parity.gradcheck.result import ElementError, ParamReport


class Objective(SignedObjective):
    """f(params) = evaluate a fresh copy of ``pristine``; perturbations go into pristine's arrays.

    ``run_once(twin) -> f``; the branch signature is the twin's (``value()`` skips it).
    ``signature0`` is the unperturbed signature once ``unperturbed()`` has run.
    """

    def __init__(self, pristine, run_once, rng_state):
        self.pristine, self.run_once, self.rng_state = pristine, run_once, rng_state
        self._previous = None

    def _run(self, signature):
        twin = copy.deepcopy(self.pristine)
        subj.restore_rng(self.rng_state)
        value = self.run_once(twin)
        # Keep this twin (its caches) alive until the next one has run: glibc then reuses its freed
        # blocks instead of returning them to the OS after every evaluation and faulting them back in
        # (conv1 of LeNet: 2M page faults, 8.5 of 14 CPU seconds, before).
        self._previous = twin
        return value, subj.kink_signature(twin) if signature else None


def _probe_all(objective, array, indices, step, f0):
    """Coordinate probes: ([(flat, index, numeric)] without kinks, [(flat, objective)] straddling a kink at every step)."""
    smooth, kinked = [], []
    for j in indices:
        remembered = Remembered(objective, array, int(j))
        numeric, kink = probe_coordinate(remembered, array, j, step, f0)
        if kink:
            kinked.append((int(j), remembered))
        else:
            smooth.append((int(j), tuple(int(i) for i in np.unravel_index(j, array.shape)), float(numeric)))
    return smooth, kinked


def _failing(objective, array, analytic, smooth, bound, f0):
    """Elements no step of the sweep brings within ``bound`` (or that step's round-off), the worst failing one's
    sweep, and {flat: (h, numeric)} for elements NaN or Inf at the default step that agree at sweep step ``h``.

    A NaN or Inf numeric value (f not finite next to w) agrees with nothing.
    """
    failing, sweep, rescued = [], [], {}
    for j, index, n in sorted(smooth, key=lambda e: -_abs_err(analytic.flat[e[0]], e[2])):
        a = float(analytic.flat[j])
        if _abs_err(a, n) <= bound:
            continue
        trial = step_sweep(objective, array, j)
        scale = max(1.0, abs(float(array.flat[j])))
        agreed = [(h, num) for h, num in trial if _abs_err(a, num) <= max(bound, resolution(f0, h * scale))]
        if not agreed:
            failing.append((index, a, n))
            sweep = sweep or [(h, num, _abs_err(a, num)) for h, num in trial]
        elif not np.isfinite(n):
            rescued[j] = agreed[0]
    return failing, sweep, rescued


def _abs_err(a, n):
    """|a - n|, inf where either is NaN or Inf (a comparison with NaN would otherwise pass as False)."""
    err = abs(float(a) - float(n))
    return err if np.isfinite(err) else np.inf


def _unusable(analytic, shape, source, name=""):
    """Why a gradient cannot be compared ("" when it can): never set, a wrong shape, NaN or Inf."""
    if analytic is None:
        return f"{source or 'its gradient'} is None or missing: the gradient was never set"
    if np.shape(analytic) != shape:
        if name == "dx":
            return f"{source or 'dx'} has shape {np.shape(analytic)}, the input x has shape {shape}"
        return f"gradient has shape {np.shape(analytic)}, parameter has shape {shape}"
    return nonfinite(np.asarray(analytic, dtype=np.float64), source or "the gradient")


def check_param(name, objective, array, analytic, opts, rng, f0, evidence=None, source=""):
    """The report of one parameter (``source`` names where its analytic gradient came from, for messages)."""
    problem = _unusable(analytic, array.shape, source, name)
    if problem:
        got = None if analytic is None else np.shape(analytic)
        return ParamReport(name, array.shape, False, 0, np.inf, np.inf, 1.0, likely_cause=shape_cause(got, array.shape),
                           gradient_error=problem)
    analytic = np.asarray(analytic, dtype=np.float64)
    smooth, kinked = _probe_all(objective, array, sample_coordinates(analytic, opts["max_coords"], rng), opts["step"], f0)
    finite = [abs(n) for *_, n in smooth if np.isfinite(n)]
    scale = max(float(np.abs(analytic).max(initial=0.0)), max(finite, default=0.0), np.finfo(np.float64).tiny)
    bound = max(opts["rtol"] * scale, resolution(f0, opts["step"]))
    failing, sweep, rescued = _failing(objective, array, analytic, smooth, bound, f0)
    kink_checks = [check_kink(seen, array, j, analytic.flat[j], opts["step"], f0, bound) for j, seen in kinked]
    large = array.size > opts["max_coords"]  # not every element probed: a random direction covers the rest
    direction, v = _direction(objective, array, analytic, opts, rng, f0, bound) if large else ({}, None)
    worst = _worst(analytic, smooth, rescued)
    max_abs = max((e.abs_err for e in worst), default=0.0)
    ok = not failing and all(k["ok"] for k in kink_checks) and direction.get("ok", True)
    report = ParamReport(name, array.shape, ok, len(smooth) + len(kinked), max_abs, max_abs / scale,
                         len(failing) / max(len(smooth), 1), worst=worst, kinks=[k["index"] for k in kink_checks],
                         kink_checks=kink_checks, sweep=sweep if failing else [], direction=direction,
                         unverified=_unverified(smooth, kink_checks, direction), scale=scale,
                         resolution=resolution(f0, opts["step"]),
                         nonfinite_at_step=[(i, rescued[j][0]) for j, i, _ in smooth if j in rescued])
    ev = evidence(array) if not ok and evidence is not None else None
    if ev is not None:
        report.likely_cause = _explained(analytic, array, smooth, failing, ev, report, v, opts, bound)
        report.ok = report.likely_cause.explains_away
    if not report.ok and v is not None and not direction["ok"]:
        _bisected(objective, array, analytic, v, opts, f0, bound, report, (smooth, failing, rescued, ev))
    return report


def _explained(analytic, array, smooth, failing, ev, report, v, opts, bound):
    """The likely cause of a failing parameter. One that explains the failure away (the analytic gradient right
    for a loss without the log epsilon) must also cover the other checks that failed: the kinks outside their
    interval and the random direction (the elements not sampled) are rechecked against that loss."""
    cause = _cause(analytic, array, smooth, failing, ev)
    if not cause.explains_away:
        return cause
    plain = ev.plain_loss
    f0 = value_of(plain) if plain is not None else float("nan")
    for k in report.kink_checks:
        if not k["ok"] and (plain is None or not check_kink(plain, array, np.ravel_multi_index(k["index"], array.shape),
                                                            k["analytic"], opts["step"], f0, bound)["ok"]):
            return uncovered_cause(cause, f"the subgradient interval rule at the kink {k['index']}")
    d = report.direction
    if not d or d["ok"]:
        return cause
    numeric = float("nan")
    if plain is not None and v is not None:
        at = lambda step: _along(plain, array, v, step, f0)
        attempt, numeric = _agreeing_step(at, d["analytic"], *_direction_scale(analytic, array, opts), opts, f0)
        if attempt is not None:
            return cause
    return uncovered_cause(cause, f"the random-direction check (the elements not sampled: analytic="
                           f"{d['analytic']:.10g}, numeric of the corrected loss={numeric:.10g})")


def _along(objective, array, v, step, f0):
    """d objective(array + t v)/dt at 0, NaN where a kink is straddled at every step."""
    numeric, kink = probe_direction(objective, array, v, step, f0)
    return float("nan") if kink else float(numeric)


def _worst(analytic, smooth, rescued):
    """The five largest element errors. An element NaN or Inf at the default step that agreed at a step of the
    sweep (``rescued``) is measured at that step: it passed there, and an inf next to "ok" would contradict it."""
    errs = []
    for j, index, n in smooth:
        a = float(analytic.flat[j])
        h, n = rescued.get(j, (0.0, n))
        errs.append(ElementError(index, a, n, _abs_err(a, n), _abs_err(a, n) / max(abs(a), abs(n), 1e-300), h))
    return sorted(errs, key=lambda e: -e.abs_err)[:5]


def _cause(analytic, array, smooth, failing, ev):
    """The likely cause of a failing parameter; failing elements whose numeric value is NaN fit no hypothesis.

    A cause that explains the failure away (the analytic gradient right) covers the finite elements only:
    while a failing element is NaN or Inf, nothing checked it, and the parameter stays failed.
    """
    nonfinite = sum(not np.isfinite(n) for *_, n in failing)
    if failing and nonfinite == len(failing):
        return nonfinite_cause(nonfinite)
    finite = [(j, n) for j, _, n in smooth if np.isfinite(n)]
    cause = diagnose(analytic, array, [j for j, _ in finite], [n for _, n in finite], ev)
    return nonfinite_cause(nonfinite, besides=cause) if nonfinite and cause.explains_away else cause


def _unverified(smooth, kink_checks, direction):
    """Why nothing of the parameter was compared ("" if something was): every sampled element excluded as a kink."""
    compared = len(smooth) + sum(k["resolved"] for k in kink_checks)
    if compared or not kink_checks or direction.get("verified_coordinates", int(bool(direction))):
        return ""
    return (f"all {len(kink_checks)} sampled element(s) were excluded as kinks whose one-sided slopes are not "
            "resolvable above round-off (several kinks within the smallest step, or an evaluation that is not "
            "reproducible: noise or state the checker cannot reset)" + (", and so were the direction check's extra "
            "coordinates" if direction else ""))


def _direction(objective, array, analytic, opts, rng, f0, bound):
    """d f(w + t v)/dt vs analytic . v for a random unit direction v (the whole tensor at once), kink-aware.

    Returns (the report's direction dict, v as probed: None for the coordinate fallback)."""
    v = rng.standard_normal(array.shape)
    v /= np.linalg.norm(v)
    probe = direction_probe(objective, array, analytic, v, opts["step"], f0)
    if probe is None:  # kinks not isolated: more coordinates instead, each with the interval rule
        extra = rng.choice(array.size, min(array.size, opts["max_coords"]), replace=False)
        smooth, kinked = _probe_all(objective, array, extra, opts["step"], f0)
        checks = [check_kink(seen, array, j, analytic.flat[j], opts["step"], f0, bound) for j, seen in kinked]
        ok = not _failing(objective, array, analytic, smooth, bound, f0)[0] and all(k["ok"] for k in checks)
        return {"analytic": float("nan"), "numeric": float("nan"), "rel": float("nan"), "ok": bool(ok), "kink": True,
                "kink_handling": "coordinate_fallback", "extra_coordinates": len(extra),
                "verified_coordinates": len(smooth) + sum(k["resolved"] for k in checks)}, None
    expected, first, handling, removed, v = probe
    norm, h = _direction_scale(analytic, array, opts)
    at = lambda step: first if step == opts["step"] else float(probe_direction(objective, array, v, step, f0)[0])
    attempt, numeric = _agreeing_step(at, expected, norm, h, opts, f0)
    handling = "smaller_step" if attempt and handling == "none" else handling
    return {"analytic": expected, "numeric": numeric, "rel": abs(expected - numeric) / norm, "ok": attempt is not None,
            "kink": handling != "none", "kink_handling": handling, "removed_coordinates": removed}, v


def _bisected(objective, array, analytic, v, opts, f0, bound, report, sampled):
    """A failing direction no cause explains away: the elements behind it located by bisection
    (parity.gradcheck.locate) and probed as coordinates. Kinks inside their interval are removed and the direction
    probed again (it may pass); elements wrong at every step join the report by name (``sampled``: the sampled
    elements' smooth probes, failing ones, rescued ones and the Evidence; the cause is stated from the located
    elements when no sampled one fails)."""
    smooth0, failing0, rescued, ev = sampled
    norm, h = _direction_scale(analytic, array, opts)
    located = locate(objective, array, analytic, v, opts["step"], f0, max(opts["rtol"] * norm, resolution(f0, h)))
    smooth, kinked = _probe_all(objective, array, located, opts["step"], f0)
    failing, sweep, _ = _failing(objective, array, analytic, smooth, bound, f0)
    checks = [check_kink(seen, array, j, analytic.flat[j], opts["step"], f0, bound) for j, seen in kinked]
    report.direction["located"] = [index for index, *_ in failing] + [k["index"] for k in checks if not k["ok"]]
    if kinked and not failing and all(k["ok"] and k["resolved"] for k in checks):
        _reprobed(objective, array, analytic, v, [j for j, _ in kinked], opts, f0, report)
        return
    seen = {e[1] for e in smooth0}
    bad = {f[0] for f in failing}
    found = [e for e in smooth if e[1] in bad and e[1] not in seen]
    if not found:
        return
    report.worst = _worst(analytic, smooth0 + found, rescued)
    report.max_abs = max(e.abs_err for e in report.worst)
    report.max_rel, report.checked = report.max_abs / report.scale, report.checked + len(found)
    report.sweep = report.sweep or sweep
    cause = _cause(analytic, array, smooth0 + found, failing, ev) if not failing0 and ev is not None else None
    if cause is not None and not cause.explains_away:  # located elements wrong at every step: nothing to excuse
        report.likely_cause = cause


def _reprobed(objective, array, analytic, v, kinked, opts, f0, report):
    """The direction again without the kinks the bisection found (all inside their subgradient interval)."""
    u = v.copy()
    u.flat[kinked] = 0.0
    if not np.any(u):
        return
    u /= np.linalg.norm(u)
    norm, h = _direction_scale(analytic, array, opts)
    expected = float(np.sum(analytic * u))
    attempt, numeric = _agreeing_step(lambda step: _along(objective, array, u, step, f0), expected, norm, h, opts, f0)
    report.direction.update(analytic=expected, numeric=numeric, rel=abs(expected - numeric) / norm,
                            ok=attempt is not None, kink=True, kink_handling="reprobed_without_kinks",
                            removed_coordinates=report.direction["removed_coordinates"] + len(kinked), located=[])
    if attempt is not None and report.frac_failed == 0 and all(k["ok"] for k in report.kink_checks):
        report.ok, report.likely_cause = True, None


def _direction_scale(analytic, array, opts):
    """(|analytic|, the step along a unit direction): the direction check's bound is relative to the first."""
    norm = max(float(np.linalg.norm(analytic)), np.finfo(np.float64).tiny)
    return norm, opts["step"] * max(1.0, float(np.abs(array).max(initial=0.0)))


def _agreeing_step(numeric_at, expected, norm, h, opts, f0):
    """(attempt, numeric) of the first step -- the default, then ``KINK_RETRIES`` 10x smaller ones -- whose
    ``numeric_at(step)`` agrees with ``expected``; (None, numeric at the default step) if none does: like an
    element, a real bug is wrong at every step."""
    first = None
    for attempt in range(KINK_RETRIES + 1):
        numeric = numeric_at(opts["step"] / 10 ** attempt)
        first = numeric if first is None else first
        if abs(expected - numeric) <= max(opts["rtol"] * norm, resolution(f0, h / 10 ** attempt)):
            return attempt, numeric
    return None, first
