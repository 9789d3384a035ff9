"""Run the checks over the registry and write ``parity.md`` / ``parity.json``."""
import json

from parity.checks import yield_checks
from parity.compare import ParityError
from parity.report.atomic import atomic_directory
from parity.tolerances import CONDITION_SCALE, TOLERANCES


def run_check(case):
    """One report row for a ``CheckCase``: its worst comparison (or the error it raised)."""
    try:
        comparisons = case.run()
    except (ParityError, ValueError, TypeError, RuntimeError) as exc:
        return {"spec": case.spec.id, "check": case.id, "passed": False, "max_abs": None, "max_rel": None,
                "rtol": None, "worst_tensor": None, "error": f"{type(exc).__name__}: {exc}"}
    failing = [c for c in comparisons if not c.passed]
    expected = case.expected_failure is not None
    worst = max(comparisons, key=lambda c: (not c.passed, c.max_rel / c.rtol if c.rtol else c.max_rel))
    return {"spec": case.spec.id, "check": case.id, "passed": not failing and not expected,
            "expected_failure": expected,
            "max_abs": max(c.max_abs for c in comparisons), "max_rel": max(c.max_rel for c in comparisons),
            "rtol": worst.rtol, "worst_tensor": worst.name,
            "error": "\n".join(c.message() for c in failing) or None}


def run_parity(specs, dtypes):
    """One row per spec x applicable check."""
    return [run_check(case) for spec in specs for case in yield_checks(spec, dtypes)]


def _fmt(v):
    return "-" if v is None else f"{v:.2e}"


def render_markdown(rows, manifest, extra_sections=()):
    passed = sum(r["passed"] for r in rows)
    lines = ["# NumPy vs Keras parity report", "",
             f"{passed} of {len(rows)} checks passed.", "", "## Run", ""]
    lines += [f"- {k}: {v}" for k, v in manifest.items() if k != "flags"]
    lines += [f"- flag {k}: {v}" for k, v in manifest.get("flags", {}).items()]
    lines += ["", "## Tolerances (relative to the largest magnitude of the tensor)", "",
              "| dtype | kind | rtol | why |", "|---|---|---|---|"]
    lines += [f"| {d} | {k} | {t.rtol:.0e} | {t.why} |" for (d, k), t in TOLERANCES.items()]
    lines += ["", f"Scale for bias-like gradients: {CONDITION_SCALE}"]
    lines += ["", "## Checks", "", "| spec | check | max abs | max rel | rtol | worst tensor | result |",
              "|---|---|---|---|---|---|---|"]
    for r in rows:
        result = "pass" if r["passed"] else ("expected failure" if r.get("expected_failure") else "**FAIL**")
        lines.append(f"| {r['spec']} | {r['check']} | {_fmt(r['max_abs'])} | {_fmt(r['max_rel'])} | "
                     f"{_fmt(r['rtol'])} | {r['worst_tensor'] or '-'} | {result} |")
    failing = [r for r in rows if not r["passed"]]
    if failing:
        lines += ["", "## Failures", ""]
        for r in failing:
            lines += [f"### {r['spec']} / {r['check']}", "", "```", r["error"] or "", "```", ""]
    for section in extra_sections:
        lines += ["", section]
    return "\n".join(lines) + "\n"


def write_parity_report(out_dir, rows, manifest, extra_sections=(), extra_json=None):
    """Write ``parity.md`` and ``parity.json`` into ``out_dir`` atomically."""
    with atomic_directory(out_dir) as tmp:
        (tmp / "parity.md").write_text(render_markdown(rows, manifest, extra_sections))
        payload = {"manifest": manifest, "rows": rows, **(extra_json or {}),
                   "tolerances": {f"{d}/{k}": {"rtol": t.rtol, "why": t.why} for (d, k), t in TOLERANCES.items()}}
        (tmp / "parity.json").write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
