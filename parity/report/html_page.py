"""The run's index.html: a verdict banner first, then an accuracy table per experiment, studies apart, figures.

Answers "do they agree?" on the first 1,280x800 screen: the banner counts checks
(the line parity.md states), training runs and studies (passed / failed, worst
error / tolerance), and the first experiment's accuracy table follows it. Cells
that do not apply say "n/a".
"""
import base64
import html

from parity.report.parity_report import summary_line
from parity.report.run_section import run_html

STYLE = ("body{font-family:sans-serif;margin:1em 2em;max-width:1200px}table{border-collapse:collapse;font-size:13px;"
         "display:block;overflow-x:auto;max-width:100%;"
         "margin-bottom:1em}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}td:first-child,th:first-child"
         "{text-align:left}tr.bad td{background:#fdd}tr.ok td{background:#efe}figure{margin:1em 0}img{max-width:100%}"
         "#verdict{padding:.6em 1em;border-radius:6px;font-size:15px;margin-bottom:1em}#verdict.pass{background:#dfd;"
         "border:2px solid #4a4}#verdict.fail{background:#fdd;border:2px solid #c33}#verdict ul{margin:.3em 0}")
ACCURACY_COLUMNS = [("run", "run"), ("dtype", "dtype"), ("epochs", "epochs"), ("numpy_train_acc", "NumPy train"),
                    ("keras_train_acc", "Keras train"), ("numpy_test_acc", "NumPy test"), ("keras_test_acc", "Keras test"),
                    ("test_acc_diff_pp", "test diff (points)"), ("max_rel_loss_diff", "max rel loss diff"),
                    ("margin", "error / tolerance"), ("passed", "verdict")]
STUDY_COLUMNS = [("run", "row"), ("dtype", "dtype"), ("max_rel_loss_diff", "max rel diff"), ("rtol", "tolerance"),
                 ("margin", "error / tolerance"), ("passed", "verdict")]


def cell(v):
    if v is None:
        return "n/a"
    if isinstance(v, bool):
        return "pass" if v else "FAIL"
    if isinstance(v, float):
        return f"{v:.4f}" if abs(v) >= 1e-3 or v == 0 else f"{v:.2e}"
    return str(v)


def is_training(row):
    return "epochs" in row


def _count(rows):
    """'3 of 4 passed, <b>1 failed</b>; worst error / tolerance 1.3' of training runs or study rows."""
    failed = sum(not r["passed"] for r in rows)
    margins = [r["margin"] for r in rows if r.get("margin") is not None]
    return (f"{len(rows) - failed} of {len(rows)} passed" + (f", <b>{failed} failed</b>" if failed else "")
            + (f"; worst error / tolerance {max(margins):.2g}" if margins else ""))


def banner(rows, checks):
    """checks: ``parity_report.counts`` of the parity tables (None when they were not run).

    The checks line is ``summary_line(checks)``, the line parity.md and summary.md state, expected failures and
    its worst error / tolerance included: the banner cannot disagree with them.
    """
    train, studies = [r for r in rows if is_training(r)], [r for r in rows if not is_training(r)]
    ok = all(r["passed"] for r in rows) and (checks is None or checks["failed"] == 0)
    failed = f", <b>{checks['failed']} failed</b>" if checks and checks["failed"] else ""
    items = [f"Parity checks: {html.escape(summary_line(checks))}{failed}" if checks
             else "Parity checks: not run in this report",
             f"Training runs: {_count(train) if train else 'none in this run'}",
             f"Studies: {_count(studies) if studies else 'none in this run'}"]
    if any(r.get("margin") is not None for r in rows) or (checks and checks["worst_margin"] is not None):
        items.append("Error / tolerance: 1 = at the tolerance")
    lis = "".join(f"<li>{i}</li>" for i in items)
    word = "NumPy and Keras agree" if ok else "NumPy and Keras DISAGREE somewhere"
    return f"<div id='verdict' class='{'pass' if ok else 'fail'}'><b>{word}.</b><ul>{lis}</ul></div>"


def table(rows, columns, table_id=None):
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label in columns)
    body = "".join(f"<tr class='{'ok' if r.get('passed') else 'bad'}'>" +
                   "".join(f"<td>{html.escape(cell(r.get(k)))}</td>" for k, _ in columns) + "</tr>" for r in rows)
    ident = f" id='{table_id}'" if table_id else ""
    return f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def experiment_sections(rows):
    """An accuracy table per experiment with training runs, then one section per study."""
    order = list(dict.fromkeys(r["experiment"] for r in rows))
    out = ["<h2>Accuracy: NumPy vs Keras</h2>"]
    for i, exp in enumerate(e for e in order if any(is_training(r) for r in rows if r["experiment"] == e)):
        runs = [r for r in rows if r["experiment"] == exp and is_training(r)]
        out.append(f"<h3>{html.escape(exp)}</h3>" + table(runs, ACCURACY_COLUMNS, "summary" if i == 0 else None))
    for exp in order:
        studies = [r for r in rows if r["experiment"] == exp and not is_training(r)]
        if studies:
            out.append(f"<h2>Study: {html.escape(exp)}</h2>" + table(studies, STUDY_COLUMNS))
    return "".join(out)


def figures_html(figures):
    return "".join(f"<figure><img alt='{html.escape(caption)}' src='data:image/png;base64,"
                   f"{base64.b64encode(data).decode()}'><figcaption>{html.escape(caption)}</figcaption></figure>"
                   for caption, data in figures)


def page(rows, figures, notes, manifest, tables_html, checks=None, links=()):
    """A self-contained HTML page: inline CSS, PNG figures as data URIs, links to the markdown files.

    The parity checks' line is stated once, in the banner; the paragraph under it holds only the links.
    """
    note_items = "".join(f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>" for k, v in notes)
    link_items = " · ".join(f"<a href='{html.escape(href)}'>{html.escape(text)}</a>" for text, href in links)
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>NumPy vs Keras report</title>"
            f"<style>{STYLE}</style></head><body><h1>NumPy vs Keras: training side by side</h1>"
            f"{banner(rows, checks)}{f'<p>As text: {link_items}</p>' if links else ''}{experiment_sections(rows)}"
            f"<h2>Experiments</h2><ul>{note_items}</ul>"
            f"{'<h2>Tables</h2>' + tables_html if tables_html else ''}<h2>Figures</h2>{figures_html(figures)}"
            f"<h2>Run</h2>{run_html(manifest)}</body></html>\n")
