"""Run the checks over the registry and write ``parity.md`` / ``parity.json``."""
import json
import sys

from tqdm.auto import tqdm

from parity.checks import yield_checks
from parity.compare import ParityError
from parity.tolerances import CONDITION_SCALE, TOLERANCES


def run_check(case):
    """One report row for a ``CheckCase``: its worst comparison (or the error it raised)."""
    try:
        comparisons = case.run()
    except (ParityError, ValueError, TypeError, RuntimeError) as exc:
        return {"spec": case.spec.id, "check": case.id, "passed": False, "max_abs": None, "max_rel": None,
                "rtol": None, "margin": None, "worst_tensor": None, "error": f"{type(exc).__name__}: {exc}"}
    failing = [c for c in comparisons if not c.passed]
    expected = case.expected_failure is not None
    # The row shows its worst comparison (largest error / tolerance) with the tolerance applied to it: a
    # three-way check compares against Keras and against finite differences, each with its own rtol.
    worst = max(comparisons, key=lambda c: (not c.passed, c.max_rel / c.rtol if c.rtol else c.max_rel))
    return {"spec": case.spec.id, "check": case.id, "passed": not failing and not expected,
            "expected_failure": expected, "max_abs": worst.max_abs, "max_rel": worst.max_rel,
            "rtol": worst.rtol, "margin": worst.max_rel / worst.rtol if worst.rtol else None, "worst_tensor": worst.name,
            "error": "\n".join(c.message() for c in failing) or None}


def run_parity(specs, dtypes, progress=False):
    """One row per spec x applicable check (``progress``: a bar on stderr)."""
    cases = [case for spec in specs for case in yield_checks(spec, dtypes)]
    return [run_check(case) for case in tqdm(cases, desc="parity checks", disable=not progress, file=sys.stderr)]


def _fmt(v):
    return "-" if v is None else f"{v:.2e}"


def counts(rows, opt_rows=()):
    """The one count every output states (stdout, parity.md, parity.json, the HTML banner)."""
    expected = sum(bool(r.get("expected_failure")) for r in rows)
    total = len(rows) + len(opt_rows)
    passed = sum(r["passed"] for r in rows) + sum(r["passed"] for r in opt_rows)
    margins = [r["margin"] for r in rows if r.get("margin") is not None and not r.get("expected_failure")]
    return {"checks": len(rows), "optimizer_rows": len(opt_rows), "total": total, "passed": passed,
            "expected_failures": expected, "failed": total - passed - expected,
            "worst_margin": max(margins, default=None)}


def summary_line(c):
    """``c`` from ``counts``: '530 of 530 checks passed (500 parity checks + 30 optimizer rows)'."""
    line = (f"{c['passed']} of {c['total']} checks passed ({c['checks']} parity checks + {c['optimizer_rows']} "
            f"optimizer rows)")
    if c["expected_failures"]:
        line += f", {c['expected_failures']} expected failures"
    if c["worst_margin"] is not None:
        line += f"; worst error / tolerance {c['worst_margin']:.2g}"
    return line


def render_markdown(rows, manifest, extra_sections=(), opt_rows=(), links=()):
    c = counts(rows, opt_rows)
    failing = [r for r in rows if not r["passed"]]
    lines = ["# NumPy vs Keras parity report", "", f"**{summary_line(c)}.**", ""]
    lines += [f"- [{text}]({href})" for text, href in links]
    failures = [f"- {r['spec']} / {r['check']}: " + ("expected failure" if r.get("expected_failure") else "**FAIL**")
              + f" ({(r['error'] or '').splitlines()[0] if r['error'] else ''})" for r in failing]
    failures += [f"- optimizer {r['model']} {r['setting']} ({r['dtype']}): **FAIL**" for r in opt_rows if not r["passed"]]
    lines += ["", "## Failures", ""] + (failures or ["None."])
    lines += ["", "## Run", ""]
    lines += [f"- {k}: {v}" for k, v in manifest.items() if k != "flags"]
    lines += [f"- flag {k}: {v}" for k, v in manifest.get("flags", {}).items()]
    lines += ["", "## Tolerances (relative to the largest magnitude of the tensor)", "",
              "| dtype | kind | rtol | why |", "|---|---|---|---|"]
    lines += [f"| {d} | {k} | {t.rtol:.0e} | {t.why} |" for (d, k), t in TOLERANCES.items()]
    lines += ["", f"Scale for bias-like gradients: {CONDITION_SCALE}"]
    lines += ["", "## Checks", "", "Each row shows its worst comparison (largest error / tolerance) and the tolerance "
              "applied to that comparison.", "",
              "| spec | check | max abs | max rel | rtol applied | error / rtol | worst tensor | result |",
              "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        result = "pass" if r["passed"] else ("expected failure" if r.get("expected_failure") else "**FAIL**")
        lines.append(f"| {r['spec']} | {r['check']} | {_fmt(r['max_abs'])} | {_fmt(r['max_rel'])} | "
                     f"{_fmt(r['rtol'])} | {_fmt(r.get('margin'))} | {r['worst_tensor'] or '-'} | {result} |")
    if failing:
        lines += ["", "## Failure details", ""]
        for r in failing:
            lines += [f"### {r['spec']} / {r['check']}", "", "```", r["error"] or "", "```", ""]
    for section in extra_sections:
        lines += ["", section]
    return "\n".join(lines) + "\n"


def write_parity_report(folder, rows, manifest, extra_sections=(), extra_json=None, opt_rows=(), links=()):
    """Write ``parity.md`` and ``parity.json`` into ``folder`` (a staging folder: see ``run_output.staged``)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "parity.md").write_text(render_markdown(rows, manifest, extra_sections, opt_rows, links))
    payload = {"manifest": manifest, "summary": counts(rows, opt_rows), "rows": rows, **(extra_json or {}),
               "tolerances": {f"{d}/{k}": {"rtol": t.rtol, "why": t.why} for (d, k), t in TOLERANCES.items()}}
    (folder / "parity.json").write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
