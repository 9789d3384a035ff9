"""The backend matrix: spec x check x backend, the error against the NumPy twin, and backend-vs-backend differences.

``results`` is ``run_backends``'s {backend: worker result}, optionally with the key
``"_variants"`` holding ``rerun_with_variants``'s measured re-runs.
"""
from parity.checks.backends import cross_backend, explain


def _cell(row):
    if row["max_rel"] is None:
        return f"{'error, explained' if row['explanation'] else '**error**'} ({row['error'].splitlines()[0][:80]})"
    text = f"{row['max_rel']:.1e}"
    if row["passed"]:
        return text
    return f"{text} {'explained' if row['explanation'] else '**FAIL**'} at {row['first_failing']}"


def _rel(value):
    return "error" if value is None else f"{value:.1e}"


def _label(row):
    """The check with its dtype (optimizer rows name only the setting)."""
    return row["check"] if "dtype=" in row["check"] else f"{row['check']} ({row['dtype']})"


def backends_of(results):
    """The backends of a results dict (without the ``_variants`` entry)."""
    return [b for b in results if not b.startswith("_")]


def backend_rows(results):
    """Every worker row, each failing one with its variant re-run and explanation (None: unexplained)."""
    variants = results.get("_variants", {})
    rows = [row for b in backends_of(results) for row in results[b]["rows"]]
    out = []
    for row in rows:
        variant = variants.get((row["backend"], row["spec"], row["check"], row["dtype"]))
        out.append({**row, "variant": variant, "explanation": explain(row, variant)})
    return out


def by_spec_and_check(rows):
    """{(spec, check label): {backend: row}} in the rows' order: one line of the matrix each."""
    by_case = {}
    for row in rows:
        by_case.setdefault((row["spec"], _label(row)), {})[row["backend"]] = row
    return by_case


def render_backend_matrix(results):
    """Markdown: the matrix (max rel error vs NumPy per backend), cross-backend differences, explanations."""
    backends, rows = backends_of(results), backend_rows(results)
    by_case = by_spec_and_check(rows)
    lines = ["## Backend matrix", "",
             "Max relative error of each backend's Keras against the NumPy twin (failing cells: the first tensor "
             "over tolerance, in the check's order).", "",
             "| spec | check | " + " | ".join(backends) + " |", "|---|---|" + "---|" * len(backends)]
    for (spec, check), cells in by_case.items():
        lines.append(f"| {spec} | {check} | " + " | ".join(_cell(cells[b]) if b in cells else "-" for b in backends)
                     + " |")
    lines += ["", "### Backend vs backend (Keras output, input and weight gradients of one pass)", "",
              "| spec | dtype | pair | max rel |", "|---|---|---|---|"]
    lines += [f"| {r['spec']} | {r['dtype']} | {r['pair']} | {r['max_rel']:.1e} |"
              for r in cross_backend({b: results[b] for b in backends})]
    explained = sorted({r["explanation"].split(": re-run with")[0] for r in rows if r["explanation"]})
    reruns = [r for r in rows if r["variant"]]
    lines += ["", "### Failing rows re-run with the variant that may explain them", "",
              "| backend | spec | check | error | variant | error with the variant | explained |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['backend']} | {r['spec']} | {_label(r)} | {_rel(r['max_rel'])} | {r['variant']['variant']} | "
              f"{_rel(r['variant']['max_rel'])} | {'yes' if r['explanation'] else '**no**'} |" for r in reruns]
    unexplained = [r for r in rows if not r["passed"] and not r["explanation"] and not r.get("expected_failure")]
    lines += ["", "### Exceptions", ""]
    lines += [f"- explained: {why}" for why in explained] or ["- none explained"]
    lines += [f"- unexplained: {r['backend']} {r['spec']} {r['check']} at {r['first_failing'] or r['error']}"
              for r in unexplained]
    lines += ["", "### Backend settings", ""]
    lines += [f"- {b}: {results[b]['settings']}" for b in backends]
    seconds = {b: sum(r["seconds"] for r in results[b]["rows"]) for b in backends}
    lines += ["", "Check time per backend (s; the Keras halves, and the NumPy halves a worker computes itself: "
              "training passes that replay the backend's masks, variant re-runs): "
              + ", ".join(f"{b} {s:.1f}" for b, s in seconds.items())
              + f". The NumPy halves computed once for all backends: {results.get('_numpy_halves_seconds', 0.0):.1f} s."]
    return "\n".join(lines)


def backend_json(results):
    """The matrix as data for parity.json."""
    backends = backends_of(results)
    return {"rows": backend_rows(results), "cross_backend": cross_backend({b: results[b] for b in backends}),
            "settings": {b: results[b]["settings"] for b in backends}}
