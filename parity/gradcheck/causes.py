"""Why a gradient fails: the usual causes, each tested against the analytic and numeric arrays.

Every hypothesis predicts the numeric values (or, for a derivative taken at the
wrong point, the analytic ones) from the other array; the first whose
prediction fits within ``FIT`` (relative to the largest magnitude) is stated,
with its evidence. The order goes from the most specific test to the least.
Causes (``LikelyCause.name``): loss_epsilon, sign, factor_2, factor_0.5,
missing_1/N, extra_1/N, sum_vs_mean, constant_ratio, transposed,
regularisation_missing_in_gradient, regularisation_missing_in_loss,
wrong_routing, derivative_at_wrong_point, wrong_mode, one_element_wrong, some_elements_wrong,
nonfinite_numeric, unexplained. A hypothesis with a fitted number (a ratio, a
regularisation strength) fits any single element, so it is not stated when one
probed element differs while the others agree (a named ratio -- a sign, 2, 1/2,
N -- still is): that is ``one_element_wrong``.
"""
import itertools
from dataclasses import dataclass, field

import numpy as np

from parity.gradcheck.finite_differences import probe_coordinate
from parity.tolerances import tolerance

FIT = tolerance("float64", "gradcheck_cause_fit").rtol
MODE_PROBES = 8  # coordinates re-probed in the other mode (each costs a few evaluations)
QUANTILE = 0.9  # share of probed elements a stated cause must fit
FULL_NUMERIC_MAX = 512  # a failing parameter this small gets every element probed to test routing causes


@dataclass
class LikelyCause:
    """The cause that fits a failing gradient: ``name``, human ``evidence`` and the fit's numbers."""

    name: str
    evidence: str
    fit_rel_err: float = float("nan")  # max |prediction - observed| / scale of the fitted hypothesis
    value: float = float("nan")  # the fitted factor, regularisation strength or epsilon
    explains_away: bool = False  # True when the analytic gradient is right (the loss is off, not the gradient)
    alternatives: list = field(default_factory=list)  # other causes the same numbers fit equally (N = 2: 1/N or 0.5)


@dataclass
class Evidence:
    """What the checker knows about one parameter beyond its probed coordinates (all optional)."""

    batch: int = 0
    axis_sizes: tuple = ()
    full_numeric: object = None  # () -> numeric gradient of every element, NaN at kinks (small tensors only)
    other_mode_numeric: object = None  # (flat index) -> numeric gradient with the other training flag
    other_mode: str = ""
    plain_loss_numeric: object = None  # (flat index) -> numeric gradient of the loss without its log epsilon
    plain_loss: object = None  # that loss as an objective: kinks and the random direction are rechecked against it
    epsilon: float = 0.0
    activation: dict = field(default_factory=dict)  # {"x", "y", "dout"} for an elementwise layer's dx


def numeric_at(objective, array, step):
    """(flat index) -> numeric derivative of ``objective`` (evaluated lazily, for a failing parameter only)."""
    f0 = objective()[0]
    return lambda j: float(probe_coordinate(objective, array, j, step, f0)[0])


def _full_numeric(objective, array, step, f0):
    """Numeric gradient of every element, NaN where a kink is straddled at every step."""
    probes = [probe_coordinate(objective, array, j, step, f0) for j in range(array.size)]
    return np.array([np.nan if kink else n for n, kink in probes]).reshape(array.shape)


def evidence_for(array, objective, f0, step, x_shape, other=None, other_training=False, **extra):
    """The Evidence for one failing parameter: other-mode numeric gradient, every element if small."""
    full = (lambda: _full_numeric(objective, array, step, f0)) if array.size <= FULL_NUMERIC_MAX else None
    mode = ("training" if other_training else "inference") if other is not None else ""
    return Evidence(batch=int(x_shape[0]), axis_sizes=tuple(int(d) for d in x_shape[1:]), full_numeric=full,
                    other_mode_numeric=numeric_at(other, array, step) if other is not None else None,
                    other_mode=mode, **extra)


def _fit(predicted, observed, quantile=QUANTILE):
    """Relative misfit of a hypothesis: the ``quantile`` of |predicted - observed| over the larger magnitude.

    Below 1 a few elements may miss (a numeric value biased by a kink too small to detect): a cause is
    stated when it fits 90% of the probed elements. 1.0 (every element) where a verdict depends on it.
    """
    scale = max(float(np.abs(observed).max(initial=0.0)), float(np.abs(predicted).max(initial=0.0)), 1e-300)
    misfit = np.abs(np.asarray(predicted) - np.asarray(observed)).reshape(-1)
    if not np.isfinite(misfit).all():  # NaN or Inf fits nothing (a NaN misfit would pass every `err > FIT` test)
        return float("inf")
    return float(np.quantile(misfit, quantile)) / scale if misfit.size else 0.0


RATIO_NAMES = {-1.0: ("sign", "the sign is flipped"), 2.0: ("factor_2", "analytic is twice the numeric gradient"),
               0.5: ("factor_0.5", "analytic is half the numeric gradient")}


def _where(predicted, observed, agreeing):
    """"every probed element", or how many of them the prediction fits (and how many agreed to begin with)."""
    scale = max(float(np.abs(observed).max(initial=0.0)), float(np.abs(predicted).max(initial=0.0)), 1e-300)
    fits = int(np.count_nonzero(np.abs(predicted - observed) <= FIT * scale))
    where = "every probed element" if fits == observed.size and not agreeing else (
        f"{fits} of the {observed.size} probed elements that differ")
    return where + (f" (the other {agreeing} agree)" if agreeing else "")


def _ratio(a, n, ev, agreeing=0, named_only=False):
    """A constant ratio analytic / numeric; with ``named_only`` (one element differs) only a ratio with a name
    (sign, 2, 1/2, N, a reduced axis size): any number is the ratio of one pair, those are unlikely by chance."""
    cause = _any_ratio(a, n, ev, agreeing)
    return None if cause is None or named_only and cause.name == "constant_ratio" else cause


def _any_ratio(a, n, ev, agreeing):
    big = np.abs(n) > 0.1 * np.abs(n).max(initial=0.0)
    k = float(np.median(a[big] / n[big])) if big.any() else float("nan")  # robust to a few biased elements
    err = _fit(k * n, a)
    if err > FIT or abs(k - 1) < 1e-3 or abs(k) < 1e-3 or not np.isfinite(k):
        return None
    also = f" (N = {ev.batch}: equally a factor {k:.6g})" if ev.batch == 2 else ""
    if ev.batch > 1 and abs(k - ev.batch) <= 1e-3 * ev.batch:
        return LikelyCause("missing_1/N", f"analytic = N x numeric with N = {ev.batch} (the batch size): the "
                           f"loss takes the mean over the batch, the gradient does not divide by N{also}", err, k,
                           alternatives=["factor_2"] if also else [])
    if ev.batch > 1 and abs(k * ev.batch - 1) <= 1e-3:
        return LikelyCause("extra_1/N", f"analytic = numeric / N with N = {ev.batch} (the batch size): the "
                           f"gradient divides by N once more than the loss{also}", err, k,
                           alternatives=["factor_0.5"] if also else [])
    for target, (name, text) in RATIO_NAMES.items():
        if abs(k - target) <= 1e-3 * abs(target):
            return LikelyCause(name, f"{text}: analytic = {k:.6g} x numeric on {_where(k * n, a, agreeing)}", err, k)
    for size in sorted({int(np.prod(c)) for r in range(1, len(ev.axis_sizes) + 1)
                        for c in itertools.combinations(ev.axis_sizes, r)} - {1}):
        if abs(k - size) <= 1e-3 * size or abs(k * size - 1) <= 1e-3:
            which = "a sum where the loss takes a mean" if k > 1 else "a mean where the loss takes a sum"
            return LikelyCause("sum_vs_mean", f"analytic = {k:.6g} x numeric, {'' if k > 1 else '1/'}{size} "
                               f"being the size of the reduced axes: {which}", err, k)
    return LikelyCause("constant_ratio", f"analytic = {k:.6g} x numeric on {_where(k * n, a, agreeing)}", err, k)


def _transposed(analytic, idx, n):
    for perm in itertools.permutations(range(analytic.ndim)):
        if perm == tuple(range(analytic.ndim)) or analytic.transpose(perm).shape != analytic.shape:
            continue
        err = _fit(analytic.transpose(perm).reshape(-1)[idx], n)
        if err <= FIT:
            return LikelyCause("transposed", f"analytic with axes permuted {perm} equals numeric: the gradient "
                               "is transposed / axis-swapped", err)
    return _reshaped_transpose(analytic, idx, n)


def _reshaped_transpose(analytic, idx, n):
    """The gradient computed as the transpose of its (leading axes, trailing axes) matrix and reshaped to the
    parameter's shape without transposing back: im2col's ``dW = col.T @ dout`` (C*FH*FW, FN) reshaped to
    (FN, C, FH, FW)."""
    shape = analytic.shape
    for k in range(1, analytic.ndim):
        rows, cols = int(np.prod(shape[:k])), int(np.prod(shape[k:]))
        if rows == 1 or cols == 1:
            continue
        err = _fit(analytic.reshape(cols, rows).T.reshape(-1)[idx], n)
        if err <= FIT:
            return LikelyCause("transposed", f"analytic read as a ({cols}, {rows}) matrix and transposed equals "
                               f"numeric: the gradient was computed as the transpose of its ({rows}, {cols}) matrix "
                               f"and reshaped to {shape} without transposing back (im2col: dW = col.T @ dout "
                               "needs .T or .transpose(1, 0) before .reshape(FN, C, FH, FW))", err)
    return None


def _regularisation(a, n, w):
    lam = float((n - a) @ w) / max(float(w @ w), 1e-300)
    err = _fit(a + lam * w, n)
    if err > FIT or abs(lam) * float(np.abs(w).max(initial=0.0)) <= FIT * float(np.abs(n).max(initial=0.0)):
        return None
    if lam > 0:
        return LikelyCause("regularisation_missing_in_gradient", f"numeric - analytic = {lam:.6g} x the weights: "
                           "the loss has a weight-decay term whose gradient (lambda * W) is missing", err, lam)
    return LikelyCause("regularisation_missing_in_loss", f"analytic - numeric = {-lam:.6g} x the weights: the "
                       "gradient has a weight-decay term the loss does not have", err, lam)


def _routing(analytic, full):
    keep = ~np.isnan(full.reshape(-1))  # kinked elements: any subgradient choice would do there
    a, n = analytic.reshape(-1)[keep], full.reshape(-1)[keep]
    if np.array_equal(a != 0, n != 0) or _fit(np.sort(a), np.sort(n)) > FIT:
        return None
    moved = int(np.count_nonzero((np.abs(a - n) > FIT * np.abs(n).max(initial=1e-300))))
    return LikelyCause("wrong_routing", f"analytic holds the same values as numeric at other positions ({moved} "
                       "elements differ): the gradient is routed to the wrong element (e.g. not the max of the "
                       "pooling window)", _fit(np.sort(a), np.sort(n)))


def _derivative_point(analytic, idx, act):
    x, y, dout = (np.asarray(act[k], dtype=np.float64) for k in ("x", "y", "dout"))
    sig = lambda u: 1 / (1 + np.exp(-u))
    candidates = {"sigmoid' evaluated at the output y (sigmoid(y)(1 - sigmoid(y)))": sig(y) * (1 - sig(y)),
                  "y(1 - y) evaluated at the pre-activation x": x * (1 - x),
                  "tanh' evaluated at the output y": 1 - np.tanh(y) ** 2, "1 - y^2 evaluated at the input x": 1 - x ** 2}
    for text, deriv in candidates.items():
        err = _fit((dout * deriv).reshape(-1)[idx], analytic.reshape(-1)[idx])
        if err <= FIT:
            return LikelyCause("derivative_at_wrong_point", f"analytic = dout * {text}: the derivative is applied "
                               "to the output instead of the pre-activation (or the reverse)", err)
    return None


def _mode(a, idx, ev):
    probes = idx[:MODE_PROBES]
    other = np.array([ev.other_mode_numeric(int(j)) for j in probes])
    err = _fit(other, a[:MODE_PROBES])
    if err > FIT:
        return None
    return LikelyCause("wrong_mode", f"analytic equals the numeric gradient in {ev.other_mode} mode: the gradient "
                       "was computed for the other training/inference mode", err)


def _epsilon(a, idx, ev):
    plain = np.array([ev.plain_loss_numeric(int(j)) for j in idx])  # every probed element: it clears the gradient
    err = _fit(plain, a, quantile=1.0)
    if err > tolerance("float64", "finite_difference_net").rtol:  # as tight as the check itself: it clears the gradient
        return None, plain
    return LikelyCause("loss_epsilon", f"the analytic gradient is exact for the loss without the epsilon inside its "
                       f"log (-log(y + {ev.epsilon:g})); the numeric gradient differs only through that epsilon "
                       "(tiny true-class probabilities). Not a bug in the backward.", err, ev.epsilon, True), plain


def diagnose(analytic, value, idx, numeric, ev):
    """The likely cause of a failing parameter from its probed elements (flat ``idx``, ``numeric``)."""
    idx, n = np.asarray(idx, dtype=np.int64), np.asarray(numeric, dtype=np.float64)
    a, w = analytic.reshape(-1)[idx], np.asarray(value, dtype=np.float64).reshape(-1)[idx]
    if ev.plain_loss_numeric and len(idx):
        cause, plain = _epsilon(a, idx, ev)
        if cause:
            return cause
        n = plain  # the other hypotheses are about the backward: test them without the epsilon's effect
    scale = max(float(np.abs(a).max(initial=0.0)), float(np.abs(n).max(initial=0.0)), 1e-300)
    differ = np.abs(a - n) > FIT * scale  # a cause must explain the elements that disagree, not the ones that agree
    agreeing = int(np.count_nonzero(~differ)) if differ.any() else 0
    if differ.any():
        idx, a, n, w = idx[differ], a[differ], n[differ], w[differ]
    fitted = not (agreeing and len(idx) == 1)  # a fitted number fits one element whatever its error
    tests = [lambda: _ratio(a, n, ev, agreeing, named_only=not fitted),
             lambda: _transposed(analytic, idx, n), lambda: fitted and _regularisation(a, n, w),
             lambda: ev.full_numeric and _routing(analytic, ev.full_numeric()),
             lambda: ev.activation and _derivative_point(analytic, idx, ev.activation),
             lambda: ev.other_mode_numeric and _mode(a, idx, ev)]
    for test in tests:
        cause = test() if len(idx) else None
        if cause:
            return cause
    if agreeing and len(idx) <= agreeing:
        return _few_elements(analytic.shape, idx, a, n, agreeing)
    return LikelyCause("unexplained", "none of the usual causes fits (constant ratio, transposition, sum vs mean, "
                       "regularisation, routing, derivative point, mode, loss epsilon): look at the worst elements")


def _few_elements(shape, idx, a, n, agreeing):
    """A minority of the probed elements wrong, the others right: an indexing slip, not a formula."""
    where = [tuple(int(i) for i in np.unravel_index(j, shape)) for j in idx]
    values = ", ".join(f"{w}: analytic={x:.6g} numeric={y:.6g}" for w, x, y in list(zip(where, a, n))[:5])
    if len(idx) == 1:
        return LikelyCause("one_element_wrong", f"only the element at {where[0]} differs ({values}); the other "
                           f"{agreeing} probed elements agree: an indexing slip (one entry written, added or "
                           "skipped wrongly), not a wrong formula")
    return LikelyCause("some_elements_wrong", f"{len(idx)} probed elements differ ({values}"
                       f"{' ...' if len(idx) > 5 else ''}) and no usual cause fits them, while the other {agreeing} "
                       "agree: an indexing slip (entries written, added or skipped wrongly), not a wrong formula")


def nonfinite_cause(count, besides=None):
    """Failing elements whose numeric gradient is NaN or Inf: f is not finite next to w. ``besides``: the cause
    the other (finite) failing elements fit; one that explains them away leaves these unchecked."""
    text = (f"the checked function (the loss, or sum(y * dout)) is NaN or Inf within the default step of {count} "
            "element(s), and no step of the sweep agrees with the analytic value: the value sits at the edge of the "
            "forward's domain (sqrt or log near 0, an overflow), where finite differences cannot check the gradient")
    if besides is not None:
        text += (f"; the other failing elements fit {besides.name} (a cause that is no bug in the backward), "
                 "which does not cover these: they stay unchecked, so the parameter fails")
    return LikelyCause("nonfinite_numeric", text)


def uncovered_cause(besides, what):
    """``besides`` explains the probed elements away, but not ``what``: the parameter fails, naming both."""
    return LikelyCause("unexplained", f"the probed elements fit {besides.name} (no bug in the backward: the numeric "
                       f"gradient differs only through the loss), but {what} does not agree, even rechecked against "
                       "the loss that cause corrects: something the probed elements do not show is wrong",
                       besides.fit_rel_err, besides.value, alternatives=[besides.name])


def shape_cause(grad_shape, shape):
    """A gradient whose shape is the parameter's shape reversed is a transposed gradient."""
    if grad_shape is not None and tuple(grad_shape) == tuple(shape)[::-1] and len(shape) > 1:
        return LikelyCause("transposed", f"gradient shape {tuple(grad_shape)} is the parameter shape {tuple(shape)} "
                           "reversed: the gradient is transposed")
    return None
