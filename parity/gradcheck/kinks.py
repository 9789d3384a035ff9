"""Kinks in the gradient checker: the subgradient interval rule and kink-aware direction probes.

A coordinate probe that straddles a kink at every step (a ReLU input at exactly
0, a max-pool tie) is checked against the interval of its one-sided derivatives:
at a non-differentiable point any value between the left and the right slope is
a valid subgradient (ReLU'(0) = 0 is one), so the analytic value must lie in
``[min(left, right), max(left, right)]`` up to the tolerance. A coordinate whose
one-sided slopes cannot be resolved above round-off (many kinks packed within the
step) is listed as unresolved and excluded, never passed silently.

That rule does not hold along a direction that moves several kinks at once
(exact zeros with upstream gradients of both signs), so a direction probe that
straddles a kink at every step (detected from the curvature of f along the probe,
signatures or not) is re-probed along the same direction with the kinked
coordinates removed (they are located by bisection of the direction's support),
or, when they cannot be isolated within a budget, replaced by more coordinate
probes. A kink too small for the curvature test to see can still bias the
estimate, so a direction that disagrees is retried at steps 10x..1000x smaller
(as an element is: a real bug is wrong at every step). ``ParamReport.direction
["kink_handling"]`` says which was done: none, smaller_step,
reprobed_without_kinks or coordinate_fallback. ``Remembered`` keeps the values a
coordinate's probe saw, so the interval rule starts from the last retry's points.
"""
import numpy as np

from parity.gradcheck.finite_differences import (KINK_RETRIES, KINKED, UNTIL_KINK, _richardson, ask, evaluate_at,
                                                 moved_along, probe_direction, resolution, until_kink_each, value_of)

LOCATE_BUDGET = 48  # direction probes spent locating kinked coordinates before falling back


def one_sided_interval(objective, array, index, step, f0, slack):
    """(lo, hi, h): hull of one-sided derivative estimates at the largest step where both sides are straight.

    Several kinks can sit within the smallest retry step (a bias moving many tiny
    pre-activations), so the step keeps shrinking until each one-sided difference
    agrees at h and h/2 (no kink inside either side), while round-off stays below
    ``slack``. None if no such step exists: the coordinate is then unresolved.
    """
    w = float(array.flat[index])
    h = step / 10 ** KINK_RETRIES * max(1.0, abs(w))
    slack = max(slack, resolution(f0, h / 2))  # the smallest retry step is always tried
    while resolution(f0, h / 2) <= slack:
        f = {t: evaluate_at(objective, array, index, w + t, signature=False)[0] for t in (h, h / 2, -h / 2, -h)}
        right_h, right_h2 = (f[h] - f0) / h, (f[h / 2] - f0) / (h / 2)
        left_h, left_h2 = (f0 - f[-h]) / h, (f0 - f[-h / 2]) / (h / 2)
        if abs(right_h - right_h2) <= slack and abs(left_h - left_h2) <= slack:
            values = [right_h, right_h2, 2 * right_h2 - right_h, left_h, left_h2, 2 * left_h2 - left_h]
            return min(values), max(values), h
        h /= 10
    return None


def check_kink(objective, array, index, analytic, step, f0, bound):
    """The subgradient interval rule at one coordinate: a dict for the report (``resolved`` False: excluded)."""
    where = tuple(int(i) for i in np.unravel_index(index, array.shape))
    interval = one_sided_interval(objective, array, index, step, f0, bound)
    if interval is None:
        return {"index": where, "analytic": float(analytic), "left_right": None, "ok": True, "resolved": False}
    lo, hi, h = interval
    slack = max(bound, resolution(f0, h / 2))
    ok = lo - slack <= analytic <= hi + slack
    return {"index": where, "analytic": float(analytic), "left_right": (float(lo), float(hi)), "ok": bool(ok),
            "resolved": True}


def _kinked(objective, array, direction, support, h, f0):
    """Does f straddle a kink along ``direction`` restricted to ``support`` at step h?"""
    v = np.zeros_like(direction)
    v.flat[support] = direction.flat[support]
    sig0 = getattr(objective, "signature0", None)
    along = moved_along(objective, array, v)
    return _richardson(along, h, f0, retry_follows=True, sig0=sig0, both=along.both)[1]  # the kink flag


def locate_kinks(objective, array, direction, step, f0, budget=LOCATE_BUDGET):
    """Flat indices whose move alone straddles a kink (bisection of the support), or None over budget."""
    h = step / 10 ** KINK_RETRIES * max(1.0, float(np.abs(array).max(initial=0.0)))
    groups, found, spent = [np.flatnonzero(direction)], [], 0
    while groups:
        group = groups.pop()
        if spent >= budget:
            return None
        spent += 1
        if not _kinked(objective, array, direction, group, h, f0):
            continue
        if len(group) == 1:
            found.append(int(group[0]))
        else:
            groups += [group[: len(group) // 2], group[len(group) // 2:]]
    return found


def direction_probe(objective, array, analytic, v, step, f0):
    """Kink-aware directional check: (analytic . v, numeric, kink_handling, removed count, v) or None to fall back."""
    numeric, kink = probe_direction(objective, array, v, step, f0)
    if not kink:
        return float(np.sum(analytic * v)), float(numeric), "none", 0, v
    kinked = locate_kinks(objective, array, v, step, f0)
    if not kinked or len(kinked) >= np.count_nonzero(v):
        return None
    v = v.copy()
    v.flat[kinked] = 0.0
    v /= np.linalg.norm(v)
    numeric, kink = probe_direction(objective, array, v, step, f0)
    if kink:
        return None
    return float(np.sum(analytic * v)), float(numeric), "reprobed_without_kinks", len(kinked), v


class Remembered:
    """One coordinate's objective remembering f at every value it took: the interval rule at a kink
    starts at the four points of the last retry (same step), which are then not evaluated again."""

    def __init__(self, objective, array, index):
        self.objective, self.array, self.index, self.seen = objective, array, index, {}

    @property
    def signature0(self):
        return getattr(self.objective, "signature0", None)

    def __call__(self):
        key = (float(self.array.flat[self.index]), True)
        if key not in self.seen:
            self.seen[key] = self.objective()
        return self.seen[key]

    def until_kink(self):
        key = (float(self.array.flat[self.index]), True)
        if key in self.seen:
            return self.seen[key]
        result = ask(self.objective, UNTIL_KINK)
        if result[1] is not KINKED:  # a stopped evaluation has no value to serve later
            self.seen[key] = result
        return result

    def until_kink_each(self, places):
        """``finite_differences.until_kink_each``, serving values seen before (all of them, or none)."""
        keys = []
        for place in places:
            place(True)
            keys.append((float(self.array.flat[self.index]), True))
            place(False)
        if all(key in self.seen for key in keys):
            return [self.seen[key] for key in keys]
        results = until_kink_each(self.objective, places)
        self.seen.update((key, r) for key, r in zip(keys, results, strict=True) if r[1] is not KINKED)
        return results

    def value(self):
        w = float(self.array.flat[self.index])
        known = self.seen.get((w, True)) or self.seen.get((w, False))
        if known is None:
            known = self.seen[(w, False)] = (value_of(self.objective), None)
        return known[0]
