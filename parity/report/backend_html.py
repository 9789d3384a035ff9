"""The backend matrix as HTML (``backends.html`` beside parity.md): spec x check rows, one column per backend.

Readable at 1,280 px: five narrow columns (spec, check, then one per backend),
each cell the max relative error against the NumPy twin, green when it holds,
amber when it fails for a measured, explained backend difference (the cause in
the cell's tooltip and listed below), red when it fails unexplained.
"""
import html

from parity.report.backend_report import backend_rows, backends_of, by_spec_and_check
from parity.report.html_page import STYLE

EXTRA_STYLE = ("td.ok{background:#efe}td.explained{background:#ffe9c4}td.bad{background:#fdd}"
               "td{font-family:monospace}td:nth-child(2){font-size:12px;max-width:380px}")


def _cell(row):
    if row is None:
        return "<td>-</td>"
    if row["max_rel"] is None:
        kind = "explained" if row["explanation"] else "bad"
        return f"<td class='{kind}' title='{html.escape(row['explanation'] or row['error'])}'>error</td>"
    kind = "ok" if row["passed"] else "explained" if row["explanation"] or row.get("expected_failure") else "bad"
    where = "" if row["passed"] else f" at {row['first_failing']}"
    tip = html.escape(row["explanation"] or "", quote=True)
    return f"<td class='{kind}' title='{tip}'>{row['max_rel']:.1e}{html.escape(where)}</td>"


def matrix_html(results):
    """The matrix table and the explained causes (an HTML fragment)."""
    backends, rows = backends_of(results), backend_rows(results)
    by_case = by_spec_and_check(rows)
    head = "<tr><th>spec</th><th>check</th>" + "".join(f"<th>{html.escape(b)}</th>" for b in backends) + "</tr>"
    body = "".join(f"<tr><td>{html.escape(spec)}</td><td>{html.escape(check)}</td>"
                   + "".join(_cell(cells.get(b)) for b in backends) + "</tr>" for (spec, check), cells in by_case.items())
    causes = sorted({r["explanation"].split(": re-run with")[0] for r in rows if r["explanation"]})
    failing = sum(not r["passed"] and not r["explanation"] and not r.get("expected_failure") for r in rows)
    return (f"<p>{len(rows)} rows; {failing} failing unexplained.</p><table id='backend-matrix'>{head}{body}</table>"
            "<h3>Explained backend differences</h3><ul>"
            + "".join(f"<li>{html.escape(c)}</li>" for c in causes) + "</ul>")


def backend_page(results):
    """A self-contained HTML page of the matrix."""
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Backend matrix</title>"
            f"<style>{STYLE}{EXTRA_STYLE}</style></head><body><h1>Backend matrix: Keras on each backend vs the "
            f"NumPy twin</h1>{matrix_html(results)}</body></html>\n")
