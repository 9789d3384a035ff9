"""VerifyResult: what ``parity.verify`` found, printable (Markdown), JSON, and a pandas DataFrame per table.

Tables (lists of plain dicts, JSON as they are): ``layers`` (one row per node in
topological order, chained mode), ``substitute_layers`` (the same with each
layer fed the Keras input; present with ``substitute=True``), ``gradients``
(outputs, input gradients and every weight gradient), ``finite_differences``,
``steps`` (the loss of every training step), ``bisection`` (each snapshot
probed while looking for the first failing step) and ``phases`` (that step
replayed phase by phase). ``divergence`` names where things first went wrong,
as data: ``layers`` (the first diverging node per mode), ``layers_disagree``,
``training`` (step, phase, tensor, layer) and ``checks`` (the first failing row
of each whole-model table: gradients, finite differences, loss steps);
verify.md's "First divergence" lines are rendered from it. ``hints`` are rows about
the model itself (``parity.verify.hints``: a softmax over one unit), each with
the ``advice`` printed under them, before ``advice`` (float32 round-off).
"""
import json
import re
from dataclasses import asdict, dataclass, field

FLOAT32_ADVICE = (
    "float32 round-off can exceed the table's tolerance for an ill-conditioned model (raw 0..255 inputs, saturated "
    "units, long batches, adaptive optimizers over many steps): verify again with --dtype float64 (dtype=\"float64\"); "
    "a difference that persists there is real, one that vanishes was round-off")

DEMOTED_FLOAT64_ADVICE = (
    "on JAX and PyTorch Keras computes some float64 operations in float32 (its type promotion demotes them; "
    "docs/backends.md), so float64 differences of ~1e-8 there are Keras's float32 round-off, not the twin's: "
    "verify float64 on the tensorflow backend, or this backend in float32")

SOFTMAX_ONE_UNIT_ADVICE = (
    "layer `{node}` ({layer}) takes a softmax over an axis of size 1: its output is 1.0 for every input, so every "
    "gradient through it is 0 in exact arithmetic and the gradients compared are Keras's round-off against the "
    "twin's zeros; a one-unit output wants `sigmoid`, a softmax needs >= 2 units")

TABLES = ("layers", "substitute_layers", "gradients", "finite_differences", "steps", "bisection", "phases")


def comparison_row(c):
    """The JSON row of a ``parity.compare.Comparison``."""
    return {"name": c.name, "kind": c.kind, "tensor": c.tensor, "step": c.step, "max_rel": c.max_rel,
            "rtol": c.rtol, "max_abs": c.max_abs, "scale": c.scale, "passed": bool(c.passed),
            "note": getattr(c, "note", "") or ""}


@dataclass
class VerifyResult:
    """The outcome of ``parity.verify``; ``passed`` is True when every check held."""

    model: str
    dtype: str
    settings: dict = field(default_factory=dict)
    layers: list = field(default_factory=list)
    substitute_layers: list = None
    gradients: list = field(default_factory=list)
    finite_differences: list = field(default_factory=list)
    steps: list = field(default_factory=list)
    bisection: list = field(default_factory=list)
    phases: list = field(default_factory=list)
    divergence: dict = field(default_factory=dict)
    hints: list = field(default_factory=list)  # rows about the model itself (parity.verify.hints), each with advice
    seconds: float = 0.0
    repro: dict = field(default=None, repr=False)  # (meta, arrays) of the failing node; not in the JSON

    @property
    def advice(self):
        """``FLOAT32_ADVICE`` when a float32 verify failed, ``DEMOTED_FLOAT64_ADVICE`` when a float64 one failed on
        JAX or PyTorch, else "" (a float64 failure on TensorFlow is no round-off)."""
        if self.passed:
            return ""
        if self.dtype == "float32":
            return FLOAT32_ADVICE
        return DEMOTED_FLOAT64_ADVICE if self.settings.get("backend") in ("jax", "torch") else ""

    @property
    def passed(self):
        rows = self.layers + (self.substitute_layers or []) + self.gradients + self.finite_differences + \
            self.steps + self.bisection
        return all(r["passed"] for r in rows)

    def to_dict(self):
        d = asdict(self)
        d.pop("repro")
        return {"passed": self.passed, "advice": self.advice, **d}

    def to_json(self, indent=2):
        return json.dumps(self.to_dict(), indent=indent, default=float)

    def tables(self):
        """{table name: pandas.DataFrame} for every table that has rows."""
        import pandas as pd
        return {name: pd.DataFrame(getattr(self, name)) for name in TABLES if getattr(self, name)}

    def __str__(self):
        return to_markdown(self)


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.2e}"
    if isinstance(value, bool):
        return "ok" if value else "FAIL"
    return "" if value is None else str(value)


def _table(rows, columns):
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    return lines + ["| " + " | ".join(_fmt(r.get(c)) for c in columns) + " |" for r in rows]


CHECK_TABLES = ("gradients", "finite_differences", "steps")  # tables of whole-model checks (no layer named)
CHECK_FIELDS = ("kind", "name", "tensor", "step", "max_rel", "rtol", "max_abs", "scale", "note")


def failed_checks(result):
    """``divergence["checks"]``: {table: its first failing row (``CHECK_FIELDS``, and ``failing``: how many of
    its rows fail)} for each of ``CHECK_TABLES`` with a failing row; {} when they all hold."""
    found = {}
    for table in CHECK_TABLES:
        failing = [r for r in getattr(result, table) if not r["passed"]]
        if failing:
            found[table] = {**{k: failing[0].get(k) for k in CHECK_FIELDS}, "failing": len(failing)}
    return found


def _check_line(table, c):
    what = HEADINGS.get(table, table.replace("_", " "))
    more = f"; {c['failing'] - 1} more in the table" if c.get("failing", 1) > 1 else ""
    return (f"- failed check ({what}): `{c['name']}`, max_rel {c['max_rel']:.2e} > rtol {c['rtol']:.0e} (max_abs "
            f"{_num(c.get('max_abs')):.2e} against a scale of {_num(c.get('scale')):.2e})"
            + (f": {c['note']}" if c.get("note") else "") + more)


def _num(value):
    return float("nan") if value is None else value


def _divergence_lines(div, result=None):
    lines = []
    for mode, found in div.get("layers", {}).items():
        lines.append(f"- first diverging layer ({mode}): `{found['node']}` ({found['layer']}), its "
                     f"{found['quantity']} at max_rel {found['max_rel']:.2e}"
                     + (f": {found['note']}" if found.get("note") else ""))
    if div.get("layers_disagree"):
        lines.append("- the chained and substitute modes name different layers: an early error may hide a later one")
    if "training" in div:
        t = div["training"]
        lines.append(f"- first diverging training step: {t['step']}, phase \"{t['phase']}\" (`{t['tensor']}`, "
                     f"max_rel {t['max_rel']:.2e})" + (f", layer `{t['layer']}`" if t.get("layer") else ""))
        if t["phase"] in ("slot", "update"):  # the loss table may hold throughout: say what failed
            lines.append(f"- the state first fails after step {t['step']} (weights and optimizer slots: see the "
                         "bisection); the loss at each step is a separate table")
    if not lines and result is not None and not result.passed:
        checks = div["checks"] if "checks" in div else failed_checks(result)  # the latter: a result made by hand
        lines = [_check_line(table, c) for table, c in checks.items()] \
            or ["- no layer or training step diverges, yet a check failed: see the tables"]
    return lines or ["- none: every check held"]


COLUMNS = {"layers": ["node", "layer", "output_rel", "d_input_rel", "d_input_abs", "passed"],
           "gradients": ["name", "max_rel", "rtol", "max_abs", "scale", "passed"],
           "steps": ["step", "max_rel", "rtol", "passed"],
           "bisection": ["step", "worst", "max_rel", "rtol", "passed"], "phases": ["phase", "name", "max_rel", "rtol", "passed"]}


HEADINGS = {"steps": "loss at each step"}  # weights and slots after each step: the bisection and phases tables


def _bisection_lines(rows, divergence):
    """The probes in the order they were made, each naming the state it probed and its worst tensor."""
    first = divergence.get("training", {}).get("step")
    lines = ["", f"## bisection: {'first failing step ' + str(first) if first else 'no failing step'} "
             f"({len(rows)} probes)", "",
             "The state after the last step is probed first; if it fails, the first failing step is bisected between "
             "the last state that holds (step 0: the weights copied bit for bit) and the first that fails.", "",
             "| probe | state after step | result | worst tensor | max rel | rtol |", "|---|---|---|---|---|---|"]
    for i, r in enumerate(rows, start=1):
        worst = re.sub(r"^step \d+: ", "", r.get("worst") or "")
        lines.append(f"| {i} | {r['step']} | {_fmt(r['passed'])} | {worst} | {_fmt(r['max_rel'])} | {_fmt(r['rtol'])} |")
    return lines


def advice_lines(result):
    """What to make of the result: each hint's advice (the model's own), then the dtype's (``result.advice``)."""
    return [h["advice"] for h in result.hints] + ([result.advice] if result.advice else [])


def to_markdown(result):
    """The report: verdict, divergence, then every table."""
    s = result.settings
    verdict = "PASSED" if result.passed else "FAILED"
    head = [f"# parity verify of `{result.model}`: {verdict}", "",
            f"**{verdict}**: NumPy twin vs Keras ({result.dtype}, batch {s.get('batch')}, "
            f"{s.get('steps')} steps of {s.get('optimizer')} on {s.get('loss')}, data: {s.get('data')}, "
            f"backend: {s.get('backend', 'tensorflow')}, "
            f"{result.seconds:.1f} s)", "", "## First divergence", ""] + _divergence_lines(result.divergence, result)
    head += [f"- {line}" for line in advice_lines(result)]
    body = []
    for name in TABLES:
        rows = getattr(result, name)
        if rows and name == "bisection":
            body += _bisection_lines(rows, result.divergence)
        elif rows:
            columns = COLUMNS.get(name.replace("substitute_", ""), COLUMNS["gradients"])
            failing = [r for r in rows if not r["passed"]]
            shown = rows if len(rows) <= 40 else failing[:40]
            title = HEADINGS.get(name, name.replace("_", " "))
            body += ["", f"## {title} ({len(rows) - len(failing)} of {len(rows)} hold)", ""]
            body += _table(shown, columns) if shown else ["(all hold)"]
    return "\n".join(head + body) + "\n"
