"""Summarise experiment results and write reports/<run>/: index.html, summary.md, results.csv/json, manifest.json."""
import html
import json

import numpy as np

from parity.report import html_page
from parity.report.plots import training_figures
from parity.report.run_section import run_markdown
from parity.report.tables import frame, to_markdown
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
            "keras_sec_per_epoch": float(np.mean(run.keras.seconds)), **details, **divergence_fields(run),
            "passed": passed}


DIVERGENCE_FIELDS = ("step", "phase", "layer", "tensor", "max_rel", "replayed_steps", "cpu_seconds")


def divergence_fields(run):
    """``divergence_<field>`` of a run replayed by ``parity.training.drift`` (empty for a run within tolerance)."""
    found = getattr(run, "divergence", None)
    return {f"divergence_{k}": found[k] for k in DIVERGENCE_FIELDS} if found else {}


def _classification_verdict(run, drift, tol):
    """float64: every step within tol and the same test predictions; float32: test accuracies within 0.5 points."""
    differing = int(np.sum(predicted_classes(run.numpy.test_probabilities)
                           != predicted_classes(run.keras.test_probabilities)))
    diff_pp = 100 * (run.numpy.test_acc[-1] - run.keras.test_acc[-1])
    passed = drift <= tol and differing == 0 if run.dtype == "float64" else abs(diff_pp) <= ACCURACY_POINTS
    margin = drift / tol if run.dtype == "float64" else abs(diff_pp) / ACCURACY_POINTS
    return bool(passed), {"test_acc_diff_pp": diff_pp, "differing_test_predictions": differing, "margin": margin}


def _regression_verdict(run, drift, tol):
    """float64: every step and every test prediction within tol; float32: test MSEs within the test_mse rtol."""
    ours, theirs = run.numpy.test_probabilities, run.keras.test_probabilities
    pred_diff = float(np.abs(ours - theirs).max() / np.abs(theirs).max())
    mse_diff = abs(run.numpy.test_loss[-1] - run.keras.test_loss[-1]) / abs(run.keras.test_loss[-1])
    if run.dtype == "float64":
        passed, margin = drift <= tol and pred_diff <= tol, max(drift, pred_diff) / tol
    else:
        mse_tol = tolerance(run.dtype, "test_mse").rtol
        passed, margin = mse_diff <= mse_tol, mse_diff / mse_tol
    return bool(passed), {"test_prediction_rel_diff": pred_diff, "test_mse_rel_diff": mse_diff, "margin": margin}


def study_row(experiment_id, row, dtype):
    """A non-training row: ``max_rel_diff`` against the row's ``tolerance_kind`` (default: the study entries)."""
    kind = row.get("tolerance_kind") or ("study" if dtype == "float32" else "keras")
    tol = tolerance(dtype, kind).rtol
    return {"experiment": experiment_id, "run": row["name"], "dtype": dtype, "max_rel_loss_diff": row["max_rel_diff"],
            "rtol": tol, "margin": _margin(row["max_rel_diff"], tol), "passed": bool(row["max_rel_diff"] <= tol),
            **{k: v for k, v in row.items() if k not in ("name", "max_rel_diff")}}


def _margin(error, tol):
    """error / tolerance; an exact-equality row (tol 0) is 0 when equal, inf otherwise."""
    return error / tol if tol else (0.0 if error == 0 else float("inf"))


def summarise(results):
    """results: [(dtype, ExperimentResult)] -> summary rows."""
    rows = []
    for dtype, res in results:
        rows += [run_row(res.id, run) for run in res.runs]
        rows += [study_row(res.id, row, dtype) for row in res.extra_rows]
    return rows


_fmt = html_page.cell


def markdown(rows, manifest, parity_summary, tables=()):
    lines = ["# NumPy vs Keras: training side by side", "", parity_summary, "",
             "[index.html](index.html) has the figures.", ""] + to_markdown(frame(rows, COLUMNS)[COLUMNS], _fmt)
    lines += ["", "Verdicts: float64 runs pass when every step's loss agrees within "
              f"{tolerance('float64', 'training').rtol:g} (relative) and no test prediction differs; float32 runs "
              f"pass when test accuracies agree within {ACCURACY_POINTS} percentage points (their drift is shown). "
              "Regression runs: float64 as above with every test prediction within the same tolerance; float32 when "
              f"test MSEs agree within {tolerance('float32', 'test_mse').rtol:g} (relative). Other rows: max_rel_diff "
              "within the tolerance named by their tolerance_kind (parity/tolerances.py)."]
    lines += _divergence_markdown(rows)
    lines += (["", "## Tables"] + _result_tables_markdown(tables) if tables else []) + ["", "## Run", ""]
    lines += run_markdown(manifest)
    return "\n".join(lines) + "\n"


DIVERGENCE_NOTE = ("Runs whose per-step loss difference leaves the training tolerance are replayed from the "
                   "checkpoint before, on the run's own batches and dropout masks, and bisected: the first step where "
                   "the loss, a weight or an optimizer slot leaves its per-step tolerance, the phase that diverged "
                   "first when that step is rerun (forward, gradient, slot, update) and the layer (for forward and "
                   "gradient: the first node in forward, then backward, order). In float32 this locates where "
                   "round-off has grown past the per-step tolerances, not a bug: the verdict stays the test accuracy.")


def _located(rows):
    return [r for r in rows if r.get("divergence_replayed_steps") is not None]


def _divergence_markdown(rows):
    lines = [f"- {r['run']} ({r['dtype']}): loss over tolerance from step {r['first_step_over_tol']}; first leaves "
             f"tolerance at step {r['divergence_step']}, phase {_fmt(r['divergence_phase'])}, layer "
             f"`{_fmt(r['divergence_layer'])}` (the first node off when that step is replayed); tensor "
             f"`{_fmt(r['divergence_tensor'])}` over tolerance, max rel "
             f"{_fmt(r['divergence_max_rel'])}; {r['divergence_replayed_steps']} steps replayed, "
             f"{r['divergence_cpu_seconds']:.1f} s CPU" for r in _located(rows)]
    return ["", "## First divergence", "", DIVERGENCE_NOTE, ""] + lines if lines else []


def _divergence_html(rows):
    located = _located(rows)
    if not located:
        return ""
    cols = ["run", "dtype", "first_step_over_tol"] + [f"divergence_{k}" for k in DIVERGENCE_FIELDS]
    return _result_tables_html([("First divergence", [{c: r.get(c) for c in cols} for r in located])]) + \
        f"<p>{html.escape(DIVERGENCE_NOTE)}</p>"


def write_csv(path, rows):
    df = frame(rows, COLUMNS)
    df[COLUMNS + sorted(set(df.columns) - set(COLUMNS))].to_csv(path, index=False, lineterminator="\n")


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
        lines += ["", f"### {caption}", ""] + to_markdown(frame(rows), _fmt)
    return lines


def write_run(folder, results, manifest, parity_summary, checks=None, links=()):
    """Write the run's files into ``folder`` (a staging folder: see ``run_output.staged``); returns the rows.

    ``checks``: ``parity_report.counts`` of the parity tables, None when they were not run (the HTML banner).
    """
    rows = summarise(results)
    figures, notes, tables = [], [], []
    for dtype, res in results:
        notes += [(f"{res.title} ({dtype})", n) for n in res.notes]
        tables += [(f"{caption} ({dtype})", table) for caption, table in res.tables]
        pngs = res.run_figures or training_figures(res.runs)
        figures += [(f"{run.name} ({dtype})", data) for run, data in zip(res.runs, pngs, strict=True)]
        figures += [(f"{caption} ({dtype})", data) for caption, data in res.figures]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "index.html").write_text(page(rows, figures, notes, manifest, tables, checks, links))
    (folder / "summary.md").write_text(markdown(rows, manifest, parity_summary, tables))
    write_csv(folder / "results.csv", rows)
    (folder / "results.json").write_text(json.dumps({"rows": rows, "tables": [{"caption": c, "rows": t} for c, t in tables],
                                                   "manifest": manifest}, indent=2, default=str) + "\n")
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")
    return rows


def page(rows, figures, notes, manifest, tables=(), checks=None, links=()):
    """The run's index.html (see ``html_page``); its banner states the parity checks' line (``checks``)."""
    return html_page.page(rows, figures, notes, manifest, _divergence_html(rows) + _result_tables_html(tables), checks,
                          links or (("summary.md", "summary.md"),))
