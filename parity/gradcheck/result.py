"""The gradient checker's result: plain data, printable, serialisable to JSON."""
import json
from dataclasses import asdict, dataclass, field


@dataclass
class ElementError:
    index: tuple
    analytic: float
    numeric: float
    abs_err: float
    rel_err: float  # |a - n| / max(|a|, |n|)
    step: float = 0.0  # the sweep step ``numeric`` is from when it was NaN or Inf at the default step (0: default)


@dataclass
class ParamReport:
    """Finite-difference verdict for one parameter (``W``, ``conv1/kernel`` or ``dx``)."""

    name: str
    shape: tuple
    ok: bool
    checked: int
    max_abs: float
    max_rel: float  # max |a - n| / scale (the parameter's largest gradient), not per element
    frac_failed: float
    worst: list = field(default_factory=list)
    kinks: list = field(default_factory=list)  # indices where f has a kink within +-h at every step
    kink_checks: list = field(default_factory=list)  # subgradient interval rule at those: {index, analytic, left_right, ok}
    sweep: list = field(default_factory=list)  # [(h, numeric, |a - n|)] for the worst failing element
    direction: dict = field(default_factory=dict)  # random-direction check {analytic, numeric, rel, ok}
    gradient_error: str = ""  # why the gradient could not be compared: never set, a wrong shape, NaN or Inf
    likely_cause: object = None  # parity.gradcheck.causes.LikelyCause for a failing (or explained) parameter
    unverified: str = ""  # why nothing was compared (every sampled element excluded as a kink): a hazard
    scale: float = float("nan")  # largest |analytic| or |numeric| of the probed elements
    resolution: float = 0.0  # smallest derivative finite differences resolve here (round-off of f over the step)
    nonfinite_at_step: list = field(default_factory=list)  # [(index, h)]: NaN or Inf at the default step, agreed at h

    def lines(self):
        explained = self.likely_cause is not None and self.likely_cause.explains_away
        by_direction = bool(self.direction) and not self.direction["ok"] and not explained
        status = f"ok (numeric differs, explained: {self.likely_cause.name})" if explained else (
            "NOT VERIFIED" if self.ok and self.unverified else "ok" if self.ok else
            "FAILED (the random-direction check)" if by_direction and not self.frac_failed else "FAILED")
        cause = [f"    likely cause: {self.likely_cause.name}: {self.likely_cause.evidence}"] if self.likely_cause else []
        if self.gradient_error:
            return [f"{self.name}: FAILED ({self.gradient_error})"] + cause
        out = [f"{self.name}: {status}  shape={self.shape} checked={self.checked} max_abs={self.max_abs:.3e} "
               f"max_rel={self.max_rel:.3e} (= max_abs / {self.scale:.3e}, the largest |gradient|) "
               f"failing={100 * self.frac_failed:.1f}% of the sampled elements"]
        out += self._notes(explained)
        if (not self.ok or explained) and self.worst:
            out.append("    worst elements (rel = |analytic - numeric| / max(|analytic|, |numeric|) of that element):")
            out += [f"    at {e.index}: analytic={e.analytic:.10g} numeric={e.numeric:.10g} "
                    f"abs={e.abs_err:.3e} rel={e.rel_err:.3e}" + (f" (at h={e.step:.0e})" if e.step else "")
                    for e in self.worst]
        if self.sweep:
            out.append("    step sweep for the worst element (h: numeric, |analytic - numeric|): " +
                       ", ".join(f"{h:.0e}: {n:.6g}, {e:.1e}" for h, n, e in self.sweep))
        if self.direction:
            d = self.direction
            out.append(f"    random direction: analytic={d['analytic']:.10g} numeric={d['numeric']:.10g} "
                       f"rel={d['rel']:.3e} {'ok' if d['ok'] else 'differs' if explained else 'FAILED'} "
                       f"(kinks: {d['kink_handling']})")
            out += self._direction_failure() if by_direction else []
        if self.kinks:
            bad = sum(not k["ok"] for k in self.kink_checks)
            unresolved = [k["index"] for k in self.kink_checks if not k["resolved"]]
            out.append(f"    kinks (checked by the subgradient interval rule, {bad} outside): {len(self.kinks)} "
                       f"element(s) at {self.kinks[:8]}" + (" ..." if len(self.kinks) > 8 else ""))
            if unresolved:
                out.append(f"    kinks excluded (one-sided slopes not resolvable above round-off): {unresolved[:8]}")
        return out + cause

    def _direction_failure(self):
        d = self.direction
        if d.get("kink_handling") == "coordinate_fallback":
            return ["    random direction FAILED: one of its extra coordinates is wrong (kinks kept the direction "
                    "from being probed)"]
        located = d.get("located") or []
        where = (f"located by bisecting the direction: {', '.join(map(str, located[:8]))}"
                 + (" ..." if len(located) > 8 else "") if located else
                 "not located by bisecting the direction (the error is spread over many elements)")
        return [f"    random direction FAILED by |analytic - numeric| = {abs(d['analytic'] - d['numeric']):.3e} "
                f"(rel {d['rel']:.3e} of |gradient|, at every step): elements the sample missed are wrong; {where}"]

    def _notes(self, explained):
        out = []
        if self.ok and not explained and 0 < self.scale <= self.resolution:
            out.append(f"    note: the true gradient is ~0: its largest value is below what finite differences resolve "
                       f"here ({self.resolution:.1e}), so both sides are round-off and max_rel (relative to that "
                       f"largest value) says nothing; it passed because every |analytic - numeric| is within that")
        if self.nonfinite_at_step:
            where = ", ".join(f"{i} at h={h:.0e}" for i, h in self.nonfinite_at_step[:8])
            out.append(f"    note: the numeric gradient of {len(self.nonfinite_at_step)} element(s) is NaN or Inf at "
                       "the default step (f is not finite within that step: the edge of the forward's domain, e.g. "
                       "sqrt or log near 0) and agrees with the analytic one at a smaller step of the sweep, where max_abs "
                       f"and max_rel measure it: {where}" + (" ..." if len(self.nonfinite_at_step) > 8 else ""))
        return out


@dataclass
class GradcheckResult:
    """Everything the checker found.

    ``ok`` is the verdict on the gradients (and on errors such as a silent float32
    downcast). Hazards -- a backward that writes into ``dout`` or its saved input,
    a parameter not verified (every sampled element excluded as a kink) -- do not
    show a gradient wrong, so they are listed first in the report but fail the
    result only with ``strict=True``.
    """

    subject: str
    ok: bool
    params: list
    errors: list = field(default_factory=list)  # problems that make the result fail (a silent downcast, ...)
    hazards: list = field(default_factory=list)  # in-place writes, unverified parameters: fail only when strict
    notes: list = field(default_factory=list)  # information (float64 conversion, sampling, ...)
    options: dict = field(default_factory=dict)
    dx_checked: object = None  # gradcheck: False when x holds integers (indices: dx not checked, a note says so);
    # None for gradcheck_net (a net's check covers its parameters only)

    @property
    def failed(self):
        """Names of the failing parameters (``dx`` included)."""
        return [p.name for p in self.params if not p.ok]

    def __getitem__(self, name):
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(f"No parameter {name!r} in this result. Parameters: {[p.name for p in self.params]}")

    def __str__(self):
        head = f"gradcheck {self.subject}: {'ok' if self.ok else 'FAILED'}"
        if self.failed:
            head += f" (failing: {', '.join(self.failed)})"
        if self.hazards:
            head += f" -- {len(self.hazards)} HAZARD(S)" + (" (strict: failing)" if self.options.get("strict") else "")
        lines = [head] + [f"  HAZARD: {h}" for h in self.hazards] + [f"  error: {e}" for e in self.errors] + [f"  note: {n}" for n in self.notes]
        for p in self.params:
            lines += ["  " + line for line in p.lines()]
        return "\n".join(lines)

    def to_dict(self):
        return asdict(self)

    def to_json(self, **kwargs):
        return json.dumps(self.to_dict(), default=_jsonable, **kwargs)


def _jsonable(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)
