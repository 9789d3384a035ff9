"""Summarise experiment results and write reports/<run>/: index.html, summary.md, results.csv/json, manifest.json."""
import base64
import csv
import html
import io
import json

import numpy as np

from parity.report.atomic import replaced_directory
from parity.report.plots import training_figure
from parity.tolerances import ACCURACY_POINTS, tolerance
from parity.training.loop import predicted_classes, step_drift

COLUMNS = ["experiment", "run", "dataset", "dtype", "epochs", "numpy_train_acc", "keras_train_acc",
           "numpy_test_acc", "keras_test_acc", "test_acc_diff_pp", "max_rel_loss_diff", "first_step_over_tol",
           "differing_test_predictions", "numpy_sec_per_epoch", "keras_sec_per_epoch", "passed"]


def run_row(experiment_id, run):
    """One summary row for a training run, with the verdict for its dtype and task."""
    drift = step_drift(run)
    tol = tolerance(run.dtype, "training").rtol
    over = np.nonzero(drift > tol)[0]
    verdict = _regression_verdict if run.task == "regression" else _classification_verdict
    passed, details = verdict(run, float(drift.max()), tol)
    return {"experiment": experiment_id, "run": run.name, "dataset": run.dataset, "dtype": run.dtype,
            "epochs": run.epochs, "numpy_train_acc": run.numpy.train_acc[-1], "keras_train_acc": run.keras.train_acc[-1],
            "numpy_test_acc": run.numpy.test_acc[-1], "keras_test_acc": run.keras.test_acc[-1],
            "test_acc_diff_pp": None, "max_rel_loss_diff": float(drift.max()),
            "first_step_over_tol": int(over[0]) + 1 if len(over) else None, "differing_test_predictions": None,
            "numpy_sec_per_epoch": float(np.mean(run.numpy.seconds)),
            "keras_sec_per_epoch": float(np.mean(run.keras.seconds)), **details, "passed": passed}


def _classification_verdict(run, drift, tol):
    """float64: every step within tol and the same test predictions; float32: test accuracies within 0.5 points."""
    differing = int(np.sum(predicted_classes(run.numpy.test_probabilities)
                           != predicted_classes(run.keras.test_probabilities)))
    diff_pp = 100 * (run.numpy.test_acc[-1] - run.keras.test_acc[-1])
    passed = drift <= tol and differing == 0 if run.dtype == "float64" else abs(diff_pp) <= ACCURACY_POINTS
    return bool(passed), {"test_acc_diff_pp": diff_pp, "differing_test_predictions": differing}


def _regression_verdict(run, drift, tol):
    """float64: every step and every test prediction within tol; float32: test MSEs within the test_mse rtol."""
    ours, theirs = run.numpy.test_probabilities, run.keras.test_probabilities
    pred_diff = float(np.abs(ours - theirs).max() / np.abs(theirs).max())
    mse_diff = abs(run.numpy.test_loss[-1] - run.keras.test_loss[-1]) / abs(run.keras.test_loss[-1])
    if run.dtype == "float64":
        passed = drift <= tol and pred_diff <= tol
    else:
        passed = mse_diff <= tolerance(run.dtype, "test_mse").rtol
    return bool(passed), {"test_prediction_rel_diff": pred_diff, "test_mse_rel_diff": mse_diff}


def study_row(experiment_id, row, dtype):
    """A non-training row: ``max_rel_diff`` against the row's ``tolerance_kind`` (default: the study entries)."""
    kind = row.get("tolerance_kind") or ("study" if dtype == "float32" else "keras")
    tol = tolerance(dtype, kind).rtol
    return {"experiment": experiment_id, "run": row["name"], "dtype": dtype, "max_rel_loss_diff": row["max_rel_diff"],
            "passed": bool(row["max_rel_diff"] <= tol), **{k: v for k, v in row.items() if k not in ("name", "max_rel_diff")}}


def summarise(results):
    """results: [(dtype, ExperimentResult)] -> summary rows."""
    rows = []
    for dtype, res in results:
        rows += [run_row(res.id, run) for run in res.runs]
        rows += [study_row(res.id, row, dtype) for row in res.extra_rows]
    return rows


def _fmt(v):
    if v is None:
        return "none"
    if isinstance(v, bool):
        return "pass" if v else "FAIL"
    if isinstance(v, float):
        return f"{v:.4f}" if abs(v) >= 1e-3 or v == 0 else f"{v:.2e}"
    return str(v)


def markdown(rows, manifest, parity_summary, tables=()):
    lines = ["# NumPy vs Keras: training side by side", "", parity_summary, "",
             "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(_fmt(r.get(c)) for c in COLUMNS) + " |" for r in rows]
    lines += ["", "Verdicts: float64 runs pass when every step's loss agrees within "
              f"{tolerance('float64', 'training').rtol:g} (relative) and no test prediction differs; float32 runs "
              f"pass when test accuracies agree within {ACCURACY_POINTS} percentage points (their drift is shown). "
              "Regression runs: float64 as above with every test prediction within the same tolerance; float32 when "
              f"test MSEs agree within {tolerance('float32', 'test_mse').rtol:g} (relative). Other rows: max_rel_diff "
              "within the tolerance named by their tolerance_kind (parity/tolerances.py)."]
    lines += (["", "## Tables"] + _result_tables_markdown(tables) if tables else []) + ["", "## Run", ""]
    lines += [f"- {k}: {v}" for k, v in manifest.items()]
    return "\n".join(lines) + "\n"


def write_csv(path, rows):
    keys = COLUMNS + sorted({k for r in rows for k in r} - set(COLUMNS))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=keys, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buffer.getvalue())


def _table_html(rows):
    head = "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS)
    body = "".join("<tr class='{}'>".format("ok" if r.get("passed") else "bad") +
                   "".join(f"<td>{html.escape(_fmt(r.get(c)))}</td>" for c in COLUMNS) + "</tr>" for r in rows)
    return f"<table id='summary'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _columns(rows):
    return list(dict.fromkeys(k for r in rows for k in r))


def _result_tables_html(tables):
    """Each experiment's own tables (caption, row dicts), columns in first-seen order."""
    out = []
    for caption, rows in tables:
        cols = _columns(rows)
        head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(r.get(c)))}</td>" for c in cols) + "</tr>" for r in rows)
        out.append(f"<h3>{html.escape(caption)}</h3><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    return "".join(out)


def _result_tables_markdown(tables):
    lines = []
    for caption, rows in tables:
        cols = _columns(rows)
        lines += ["", f"### {caption}", "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        lines += ["| " + " | ".join(_fmt(r.get(c)) for c in cols) + " |" for r in rows]
    return lines


def page(rows, figures, notes, manifest, parity_summary, tables=()):
    """A self-contained HTML page: inline CSS, tables, PNG figures as data URIs."""
    imgs = "".join(f"<figure><img alt='{html.escape(caption)}' src='data:image/png;base64,"
                   f"{base64.b64encode(data).decode()}'><figcaption>{html.escape(caption)}</figcaption></figure>"
                   for caption, data in figures)
    note_items = "".join(f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>" for k, v in notes)
    manifest_items = "".join(f"<li>{html.escape(str(k))}: {html.escape(str(v))}</li>" for k, v in manifest.items())
    style = ("body{font-family:sans-serif;margin:2em;max-width:1400px}table{border-collapse:collapse;font-size:12px}"
             "td,th{border:1px solid #ccc;padding:3px 6px}tr.bad td{background:#fdd}tr.ok td{background:#efe}"
             "figure{margin:1em 0}img{max-width:100%}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>NumPy vs Keras report</title>"
            f"<style>{style}</style></head><body><h1>NumPy vs Keras: training side by side</h1>"
            f"<p>{html.escape(parity_summary)}</p><h2>Summary</h2>{_table_html(rows)}"
            f"<h2>Experiments</h2><ul>{note_items}</ul>"
            f"{'<h2>Tables</h2>' + _result_tables_html(tables) if tables else ''}<h2>Figures</h2>{imgs}"
            f"<h2>Run</h2><ul>{manifest_items}</ul></body></html>\n")


def write_run(target, results, manifest, parity_summary):
    """Write the whole run directory at once (replacing any previous one)."""
    rows = summarise(results)
    figures, notes, tables = [], [], []
    for dtype, res in results:
        notes += [(f"{res.title} ({dtype})", n) for n in res.notes]
        tables += [(f"{caption} ({dtype})", table) for caption, table in res.tables]
        figures += [(f"{run.name} ({dtype})", training_figure(run)) for run in res.runs]
        figures += [(f"{caption} ({dtype})", data) for caption, data in res.figures]
    with replaced_directory(target) as tmp:
        (tmp / "index.html").write_text(page(rows, figures, notes, manifest, parity_summary, tables))
        (tmp / "summary.md").write_text(markdown(rows, manifest, parity_summary, tables))
        write_csv(tmp / "results.csv", rows)
        (tmp / "results.json").write_text(json.dumps({"rows": rows, "tables": [{"caption": c, "rows": t} for c, t in tables],
                                                 "manifest": manifest}, indent=2, default=str) + "\n")
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")
    return rows
