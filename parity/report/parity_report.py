"""Run the checks over the registry and write ``parity.md`` / ``parity.json``."""
import json
import sys

from tqdm.auto import tqdm

from parity.checks import yield_checks
from parity.compare import ParityError
from parity.report import parity_tables
from parity.report.run_section import run_markdown
from parity.tolerances import CONDITION_SCALE


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


def counts(rows, opt_rows=(), var_rows=()):
    """The one count every output states (stdout, parity.md, parity.json, the HTML banner).

    Variant rows are measured differences from Keras, not pass/fail: counted apart from the checks.
    """
    expected = sum(bool(r.get("expected_failure")) for r in rows)
    total = len(rows) + len(opt_rows)
    passed = sum(r["passed"] for r in rows) + sum(r["passed"] for r in opt_rows)
    margins = [r["margin"] for r in rows if r.get("margin") is not None and not r.get("expected_failure")]
    return {"checks": len(rows), "optimizer_rows": len(opt_rows), "total": total, "passed": passed,
            "expected_failures": expected, "failed": total - passed - expected,
            "worst_margin": max(margins, default=None), "variant_rows": len(var_rows),
            "variants": len({r["name"] for r in var_rows}), "variant_dtypes": len({r["dtype"] for r in var_rows})}


def summary_line(c):
    """``c`` from ``counts``: '530 of 530 checks passed (500 parity checks + 30 optimizer rows)', and/or the variants."""
    parts = []
    if c["total"]:
        line = (f"{c['passed']} of {c['total']} checks passed ({c['checks']} parity checks + {c['optimizer_rows']} "
                f"optimizer rows)")
        if c["expected_failures"]:
            line += f", {c['expected_failures']} expected failures"
        if c["worst_margin"] is not None:
            line += f"; worst error / tolerance {c['worst_margin']:.2g}"
        parts.append(line)
    if c.get("variant_rows"):
        dtypes = f"{c['variant_dtypes']} dtype" + ("s" if c["variant_dtypes"] > 1 else "")
        parts.append(f"{c['variant_rows']} textbook-variant rows measured ({c['variants']} variants x {dtypes}; "
                     "differences from Keras, not pass/fail)")
    return "; ".join(parts) or "no checks were run"


def _failures(frames):
    lines = []
    if "checks" in frames:
        for r in frames["checks"].query("result != 'pass'").itertuples():
            first = r.error.splitlines()[0] if r.error else ""
            lines.append(f"- {r.spec} / {r.check}: {'**FAIL**' if r.result == 'FAIL' else 'expected failure'} ({first})")
    if "optimizers" in frames:
        lines += [f"- optimizer {r.model} {r.setting} ({r.dtype}): **FAIL**"
                  for r in frames["optimizers"].query("result == 'FAIL'").itertuples()]
    return lines


SECTIONS = {
    "optimizers": ["## Optimizers (same gradients fed to both; parameters and all slots compared after every step)"],
    "variants": ["## Textbook variants: measured difference from Keras", "",
                 "Each textbook convention against the Keras setting named, in each dtype. These are measurements, "
                 "not pass/fail: a large difference is the point where the conventions differ."],
}


def render_markdown(payload, frames, extra_sections=(), links=()):
    """parity.md from parity.json's ``payload`` and its tables (``parity_tables.parity_frames(payload)``)."""
    lines = ["# NumPy vs Keras parity report", "", f"**{summary_line(payload['summary'])}.**", ""]
    lines += [f"- [{text}]({href})" for text, href in links]
    lines += ["", "## Failures", ""] + (_failures(frames) or ["None."])
    lines += ["", "## Run", ""] + run_markdown(payload["manifest"])
    lines += ["", "## Tolerances (relative to the largest magnitude of the tensor)", ""]
    lines += parity_tables.markdown("tolerances", frames["tolerances"])
    lines += ["", f"Scale for bias-like gradients: {CONDITION_SCALE}"]
    if "checks" in frames:
        lines += ["", "## Checks", "", "Failures first. Each row shows its worst comparison (largest error / "
                  "tolerance) and the tolerance applied to that comparison.", ""]
        lines += parity_tables.markdown("checks", frames["checks"])
        failing = frames["checks"].query("result != 'pass'")
        lines += ["", "## Failure details", ""] if len(failing) else []
        for r in failing.itertuples():
            lines += [f"### {r.spec} / {r.check}", "", "```", r.error or "", "```", ""]
    for name, heading in SECTIONS.items():
        if name in frames:
            lines += ["", *heading, ""] + parity_tables.markdown(name, frames[name])
    for section in extra_sections:
        lines += ["", section]
    return "\n".join(lines) + "\n"


def write_parity_report(folder, rows, manifest, extra_sections=(), extra_json=None, opt_rows=(), links=(),
                        var_rows=()):
    """Write ``parity.md``, ``parity.json`` and ``parity-<table>.csv`` into ``folder`` (a staging folder: see
    ``run_output.staged``); every table is rendered from the DataFrame ``parity.report.load`` rebuilds."""
    folder.mkdir(parents=True, exist_ok=True)
    payload = {"manifest": manifest, "summary": counts(rows, opt_rows, var_rows), "rows": rows, **(extra_json or {}),
               "tolerances": parity_tables.tolerances_json()}
    frames = parity_tables.parity_frames(payload)
    (folder / "parity.md").write_text(render_markdown(payload, frames, extra_sections, links))
    (folder / "parity.json").write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
    parity_tables.write_csvs(folder, frames)
