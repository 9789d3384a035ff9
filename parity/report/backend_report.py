"""The backend matrix: spec x check x backend, the error against the NumPy twin, and backend-vs-backend differences."""
from parity.checks.backends import cross_backend, explain


def _cell(row):
    if row["max_rel"] is None:
        return f"**error** ({row['error'].splitlines()[0][:80]})"
    text = f"{row['max_rel']:.1e}"
    if row["passed"]:
        return text
    return f"{text} {'explained' if row['explanation'] else '**FAIL**'} at {row['first_failing']}"


def backend_rows(results):
    """Every worker row, each failing one with its explanation (None: unexplained).

    A spec's rows are read together: the first layer its inference forward check fails at explains them all.
    """
    rows = [row for result in results.values() for row in result["rows"]]
    first = {(r["backend"], r["spec"], r["dtype"]): r["first_failing"] for r in rows
             if r["check"].startswith("check_forward") and "training=False" in r["check"]}
    return [{**row, "explanation": explain(row, first.get((row["backend"], row["spec"], row["dtype"])))}
            for row in rows]


def render_backend_matrix(results):
    """Markdown: the matrix (max rel error vs NumPy per backend), cross-backend differences, explanations."""
    backends = list(results)
    rows = backend_rows(results)
    by_case = {}
    for row in rows:
        by_case.setdefault((row["spec"], row["check"]), {})[row["backend"]] = row
    lines = ["## Backend matrix", "",
             "Max relative error of each backend's Keras against the NumPy twin (failing cells: the first tensor "
             "over tolerance, in the check's order).", "",
             "| spec | check | " + " | ".join(backends) + " |", "|---|---|" + "---|" * len(backends)]
    for (spec, check), cells in by_case.items():
        lines.append(f"| {spec} | {check} | " + " | ".join(_cell(cells[b]) if b in cells else "-" for b in backends)
                     + " |")
    lines += ["", "### Backend vs backend (Keras output, input and weight gradients of one pass)", "",
              "| spec | dtype | pair | max rel |", "|---|---|---|---|"]
    lines += [f"| {r['spec']} | {r['dtype']} | {r['pair']} | {r['max_rel']:.1e} |" for r in cross_backend(results)]
    explained = sorted({r["explanation"] for r in rows if r["explanation"]})
    unexplained = [r for r in rows if not r["passed"] and not r["explanation"] and not r.get("expected_failure")]
    lines += ["", "### Exceptions", ""]
    lines += [f"- explained: {why}" for why in explained] or ["- none explained"]
    lines += [f"- unexplained: {r['backend']} {r['spec']} {r['check']} at {r['first_failing'] or r['error']}"
              for r in unexplained]
    lines += ["", "### Backend settings", ""]
    lines += [f"- {b}: {results[b]['settings']}" for b in backends]
    seconds = {b: sum(r["seconds"] for r in results[b]["rows"]) for b in backends}
    lines += ["", "Check time per backend (s): " + ", ".join(f"{b} {s:.1f}" for b, s in seconds.items())]
    return "\n".join(lines)


def backend_json(results):
    """The matrix as data for parity.json."""
    return {"rows": backend_rows(results), "cross_backend": cross_backend(results),
            "settings": {b: r["settings"] for b, r in results.items()}}
