"""Central finite differences on NumPy arrays: the one engine behind every numeric gradient here.

``objective() -> (value, branch signature)`` is evaluated while one array is
perturbed in place; an objective with a ``value()`` method (f alone) is asked
for that where the signature is not compared, and one with a ``signature0``
attribute (the unperturbed signature, or None) lets probes compare against it
(``SignedObjective`` provides both). Derivatives use Richardson extrapolation of
central differences, ``(4 D(h/2) - D(h)) / 3`` with ``D(h) = (f(w+h) - f(w-h)) / 2h``:
truncation error O(h^4) lets h stay large (1e-3 * max(1, |w|)), which keeps
round-off at ~eps * |f| / h. A probe straddles a *kink* (a ReLU or max switching
branch within +-h) when the branch signatures at w+h and w-h differ, or either
differs from the one at w when that is known (a branch switching and back within
+-h included; the evaluation at w-h is then skipped when w+h already differs and
a smaller step follows), or, for code without signatures, when the second
differences are not linear in h; it is then retried with steps 10x, 100x and
1000x smaller, and reported as a kink only if every step straddles one. Used by
``parity.checks`` (the three-way check) and ``parity.gradcheck`` (users' layers).
NumPy only.
"""
from dataclasses import dataclass

import numpy as np

DEFAULT_STEP = 1e-3
KINK_RETRIES = 3
SWEEP = (1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8)


@dataclass
class Probe:
    """One finite-difference probe of a parameter (a coordinate or a direction)."""

    where: object  # multi-index tuple, or "direction"
    analytic: float
    numeric: float
    kink: bool


class SignedObjective:
    """Base of objectives that can skip their branch signature and remember the unperturbed one.

    Subclasses define ``_run(signature) -> (f, signature or None)``; ``unperturbed()``
    must run while no array is perturbed: probes then compare against ``signature0``.
    """

    signature0 = None

    def __call__(self):
        return self._run(True)

    def value(self):
        return self._run(False)[0]

    def unperturbed(self):
        f0, self.signature0 = self._run(True)
        return f0, self.signature0


def resolution(f0, step):
    """Smallest derivative central differences can resolve: round-off of f over the step."""
    return 64 * np.finfo(np.float64).eps * max(abs(f0), 1.0) / step


KINKED = ["a signature that differs from every other"]  # what an evaluation stopped at a kink returns
UNTIL_KINK = "until_kink"  # evaluate(t, UNTIL_KINK): the value only matters if the signature equals signature0


def ask(objective, signature):
    """objective() for True, (f, None) for False; for UNTIL_KINK ``objective.until_kink()`` where there is one:
    it may stop early and return (nan, KINKED) once its signature differs from ``signature0``."""
    if signature is UNTIL_KINK:
        until = getattr(objective, "until_kink", None)
        return until() if callable(until) else objective()
    return objective() if signature else (value_of(objective), None)


def value_of(objective):
    """f alone: an objective with a ``value()`` method skips computing its branch signature."""
    value = getattr(objective, "value", None)
    return value() if callable(value) else objective()[0]


def evaluate_at(objective, array, index, value, signature=True):
    """(f, signature) with ``array.flat[index] = value``; the signature is None unless asked for."""
    place = placing(array, index, value)
    place(True)
    try:
        return ask(objective, signature)
    finally:
        place(False)


def placing(array, index, value):
    """``place(True)`` puts ``value`` at ``array.flat[index]``, ``place(False)`` puts the old value back."""
    old = array.flat[index]

    def place(on):
        array.flat[index] = value if on else old
    return place


def until_kink_each(objective, places):
    """[ask(objective, UNTIL_KINK) with each placement in place]; all (nan, KINKED) once one differs from
    ``signature0``. An objective with ``until_kink_each(places)`` interleaves them (a kink at the last
    one is seen before the first is finished); others are asked in turn, stopping at the first kink."""
    each = getattr(objective, "until_kink_each", None)
    if callable(each):
        return each(places)
    sig0 = getattr(objective, "signature0", None)
    results = []
    for place in places:
        place(True)
        try:
            results.append(ask(objective, UNTIL_KINK))
        finally:
            place(False)
        if sig0 is not None and signatures_differ(results[-1][1], sig0):
            return [(float("nan"), KINKED)] * len(places)
    return results


def signatures_differ(a, b):
    if a is KINKED or b is KINKED:
        return True
    return len(a) != len(b) or any(x is not y and (x.shape != y.shape or not np.array_equal(x, y))
                                   for x, y in zip(a, b, strict=True))


def _curvature_kink(f0, fp, fm, fp2, fm2, h, d_h, d_h2):
    """A smooth f has second differences linear in h: s(h) = 2 s(h/2) + O(h^3). A kink breaks that."""
    s_h, s_h2 = (fp - 2 * f0 + fm) / h, (fp2 - 2 * f0 + fm2) / (h / 2)
    noise = 64 * np.finfo(np.float64).eps * max(abs(f0), abs(fp), abs(fm), 1.0) / (h / 2)
    return abs(s_h - 2 * s_h2) > 1e-3 * max(abs(d_h), abs(d_h2)) + noise


def _straddles(sp, sm, sig0):
    """Branch signatures at +-h differ, or (``sig0`` known) either differs from the one at 0."""
    if sig0 is None:
        return signatures_differ(sp, sm)
    return signatures_differ(sp, sig0) or signatures_differ(sm, sig0)


def _richardson(evaluate, h, f0, retry_follows=False, sig0=None, both=None):
    """Numeric derivative and kink flag from f evaluated at +-h and +-h/2 (``evaluate(t, signature) -> (f, sig)``).

    With ``retry_follows`` (a smaller step is tried next if this one straddles a
    kink) a probe whose branch signatures show a kink at +-h ends there: its value
    would be discarded, so the evaluations at +-h/2 (and, when +h already differs
    from ``sig0``, at -h) are skipped. ``both(h)``: the two evaluations at +-h
    as ``until_kink_each`` gives them (the same decision, possibly fewer evaluations).
    """
    early = retry_follows and sig0 is not None
    if early and both is not None:
        (fp, sp), (fm, sm) = both(h)
    else:
        fp, sp = evaluate(h, UNTIL_KINK if early else True)
        if early and signatures_differ(sp, sig0):
            return float("nan"), True
        fm, sm = evaluate(-h, UNTIL_KINK if early else True)
    straddles = _straddles(sp, sm, sig0)
    if retry_follows and straddles:
        return float("nan"), True
    fp2, fm2 = evaluate(h / 2, False)[0], evaluate(-h / 2, False)[0]  # their signatures are never compared
    d_h, d_h2 = (fp - fm) / (2 * h), (fp2 - fm2) / h
    kink = straddles or (f0 is not None and _curvature_kink(f0, fp, fm, fp2, fm2, h, d_h, d_h2))
    return (4 * d_h2 - d_h) / 3, kink


def probe_coordinate(objective, array, index, step=DEFAULT_STEP, f0=None):
    """(d f / d array.flat[index], kink?) with smaller steps tried before declaring a kink."""
    w = float(array.flat[index])
    sig0 = getattr(objective, "signature0", None)
    for attempt in range(KINK_RETRIES + 1):
        h = step / 10 ** attempt * max(1.0, abs(w))
        numeric, kink = _richardson(lambda t, sig: evaluate_at(objective, array, index, w + t, sig), h, f0,
                                    retry_follows=attempt < KINK_RETRIES, sig0=sig0,
                                    both=lambda t: until_kink_each(objective, [placing(array, index, w + t),
                                                                               placing(array, index, w - t)]))
        if not kink:
            break
    return numeric, kink


def moved_along(objective, array, direction):
    """``evaluate(t, signature)``: the objective with ``array + t * direction`` in place of ``array``;
    ``evaluate.both(h)``: ``until_kink_each`` at +-h (see ``_richardson``)."""
    original = array.copy()

    def placed(t):
        def place(on):
            array[...] = original + t * direction if on else original
        return place

    def along(t, signature=True):
        place = placed(t)
        place(True)
        try:
            return ask(objective, signature)
        finally:
            place(False)
    along.both = lambda h: until_kink_each(objective, [placed(h), placed(-h)])
    return along


def probe_direction(objective, array, direction, step=DEFAULT_STEP, f0=None):
    """(d f(array + t * direction) / dt at t = 0, kink?), retried like ``probe_coordinate``.

    With ``f0`` (f at t = 0) a kink is also detected from the curvature of f along the probe.
    """
    along = moved_along(objective, array, direction)
    scale = max(1.0, float(np.abs(array).max(initial=0.0)))
    sig0 = getattr(objective, "signature0", None)
    for attempt in range(KINK_RETRIES + 1):
        numeric, kink = _richardson(along, step / 10 ** attempt * scale, f0, retry_follows=attempt < KINK_RETRIES,
                                    sig0=sig0, both=along.both)
        if not kink:
            break
    return numeric, kink


def step_sweep(objective, array, index):
    """Plain central differences over ``SWEEP`` steps: [(h, numeric)] (truncation vs round-off)."""
    w = float(array.flat[index])
    out = []
    for h0 in SWEEP:
        h = h0 * max(1.0, abs(w))
        up = evaluate_at(objective, array, index, w + h, signature=False)[0]
        down = evaluate_at(objective, array, index, w - h, signature=False)[0]
        out.append((h0, (up - down) / (2 * h)))
    return out


def sample_coordinates(analytic, max_coords, rng):
    """All flat indices of a small tensor, else a random sample that includes the largest gradient."""
    if analytic.size <= max_coords:
        return np.arange(analytic.size)
    sample = rng.choice(analytic.size, max_coords - 1, replace=False)
    return np.unique(np.append(sample, np.argmax(np.abs(analytic))))


def probe_parameter(objective, array, analytic, rng, max_coords=24, step=DEFAULT_STEP):
    """Probes of one parameter: sampled (or all) coordinates plus one random direction for large tensors."""
    f0 = (objective.unperturbed() if isinstance(objective, SignedObjective) else objective())[0]
    probes = []
    for j in sample_coordinates(analytic, max_coords, rng):
        numeric, kink = probe_coordinate(objective, array, j, step, f0)
        index = tuple(int(i) for i in np.unravel_index(j, array.shape))
        probes.append(Probe(index, float(analytic.flat[j]), float(numeric), kink))
    if array.size > max_coords:
        direction = rng.standard_normal(array.shape)
        direction /= np.linalg.norm(direction)
        numeric, kink = probe_direction(objective, array, direction, step)
        probes.append(Probe("direction", float(np.sum(analytic * direction)), float(numeric), kink))
    return probes
