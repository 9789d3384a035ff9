"""The sweep report: DIR/results.csv (one row per run), summary.md and a self-contained index.html.

Per experiment run, dataset, dtype and backend it gives the distribution over seeds
of the NumPy-vs-Keras test-accuracy difference, the largest per-step relative loss
drift and the first step over the training tolerance, and how many runs break the
single-run report's pass rule (``parity.experiment_report.run_row``: float64 runs
must agree at every step and on every test prediction, float32 runs on test
accuracy). Failed tasks are listed with their error.
"""
import base64
import html
import json

import numpy as np
import pandas as pd

from parity.report.atomic import atomic_directory
from parity.report.html_page import STYLE  # the report's page style: fits 1,280 px, wide tables scroll
from parity.report.run_section import run_html, run_markdown
from parity.sweep.plots import distribution_figure

KEY = ["experiment", "dataset", "dtype", "backend", "seed"]
GROUP = ["experiment", "run", "dataset", "dtype", "backend"]
METRICS = {"test_acc_diff_pp": "test accuracy NumPy - Keras (percentage points)",
           "max_rel_loss_diff": "max per-step relative loss drift",
           "first_step_over_tol": "first step over the training tolerance"}
QUANTILES = (0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0)
TIMING = ("numpy_sec_per_epoch", "keras_sec_per_epoch")  # the only columns that vary between identical runs


def frame(records):
    """One row per run of every ok task, one row per failed task (status, error)."""

    rows = [{**row, "status": "ok"} for r in records if r["status"] == "ok" for row in r["rows"]]
    rows += [{**r["key"], "status": "failed", "error": r["error"]} for r in records if r["status"] != "ok"]
    df = pd.DataFrame(rows)
    for column in ["run", "passed", "error", *METRICS]:
        if column not in df:
            df[column] = None
    first = KEY[:4] + ["run", "seed", "status", "passed", *METRICS]
    return df[first + [c for c in df.columns if c not in first]].sort_values(KEY + ["run"], ignore_index=True)


def distributions(df):
    """Per group: run count, runs breaking the pass rule, and the quantiles of each metric."""

    ok = df[df["status"] == "ok"]
    out = []
    for group, part in ok.groupby(GROUP, sort=True):
        row = dict(zip(GROUP, group, strict=True))
        row.update({"runs": len(part), "runs_breaking_rule": int((~part["passed"].astype(bool)).sum()),
                    "never_over_tol": int(part["first_step_over_tol"].isna().sum())})
        for metric in METRICS:
            values = pd.to_numeric(part[metric], errors="coerce").dropna()
            for q in QUANTILES:
                row[f"{metric}_q{int(q * 100):02d}"] = float(values.quantile(q)) if len(values) else None
        out.append(row)
    return pd.DataFrame(out)


def _fmt(v):
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.2e}"
    return str(v)


def _label(row):
    return f"{row['experiment']}/{row['run']} {row['dataset']} {row['dtype']} {row['backend']}"


def _tables(dist):
    """Markdown: the verdict table, then one quantile table per metric."""
    lines = ["| run | runs | break the pass rule | never over tolerance |", "|---|---|---|---|"]
    lines += [f"| {_label(r)} | {r['runs']} | {r['runs_breaking_rule']} | {r['never_over_tol']} |"
              for _, r in dist.iterrows()]
    header = " | ".join("min" if q == 0 else "max" if q == 1 else f"{int(q * 100)}%" for q in QUANTILES)
    for metric, title in METRICS.items():
        lines += ["", f"### {title}", "", f"| run | {header} |", "|---|" + "---|" * len(QUANTILES)]
        lines += [f"| {_label(r)} | " + " | ".join(_fmt(r[f'{metric}_q{int(q * 100):02d}']) for q in QUANTILES) + " |"
                  for _, r in dist.iterrows()]
    return lines


def markdown(df, dist, manifest):
    failed = df[df["status"] != "ok"]
    lines = ["# NumPy vs Keras over seeds", "",
             f"{df[df['status'] == 'ok']['seed'].nunique()} seeds, {len(df) - len(failed)} runs, "
             f"{int(df['passed'].eq(False).sum())} breaking the pass rule, {len(failed)} failed tasks.", "",
             "Pass rule (as in `parity report`): float64 runs agree at every step within the float64 training "
             "tolerance and on every test prediction; float32 runs agree on test accuracy within the accuracy "
             "tolerance. first_step_over_tol counts steps from 1; '-' where no run went over.", ""]
    lines += _tables(dist)
    if len(failed):
        lines += ["", "## Failed tasks", ""] + [f"- {r['experiment']} {r['dataset']} {r['dtype']} {r['backend']} "
                                                 f"seed {r['seed']}: {r['error']}" for _, r in failed.iterrows()]
    lines += ["", "## Sweep", ""] + run_markdown(manifest)
    return "\n".join(lines) + "\n"


def _html_tables(dist, failed):
    """The verdict table and one quantile table per metric, as HTML."""

    names = ["min" if q == 0 else "max" if q == 1 else f"{int(q * 100)}%" for q in QUANTILES]
    labels = [_label(r) for _, r in dist.iterrows()]
    verdicts = dist[["runs", "runs_breaking_rule", "never_over_tol"]].set_axis(labels)
    parts = ["<h2>Pass rule</h2>", verdicts.to_html(border=0)]
    for metric, title in METRICS.items():
        cells = [[_fmt(r[f"{metric}_q{int(q * 100):02d}"]) for q in QUANTILES] for _, r in dist.iterrows()]
        table = pd.DataFrame(cells, index=labels, columns=names)
        parts += [f"<h2>{html.escape(title)}</h2>", table.to_html(border=0)]
    if len(failed):
        parts += ["<h2>Failed tasks</h2>", failed[KEY + ["error"]].to_html(border=0, index=False)]
    return "".join(parts)


def page(df, dist, figure, manifest):
    """index.html: self-contained (inline CSS, the plot as a PNG data URI)."""
    img = f"<img alt='distributions over seeds' src='data:image/png;base64,{base64.b64encode(figure).decode()}'>"
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>parity sweep</title><style>{STYLE}</style>"
            f"</head><body><h1>NumPy vs Keras over seeds</h1><figure>{img}<figcaption>Each dot is one seed; boxes "
            f"span the quartiles.</figcaption></figure>{_html_tables(dist, df[df['status'] != 'ok'])}"
            f"<h2>Sweep</h2>{run_html(manifest)}</body></html>\n")


def write(out_dir, records, manifest):
    """Write results.csv, summary.md, index.html and manifest.json into ``out_dir``; returns the run frame."""

    df = frame(records)
    dist = distributions(df)
    md_text = markdown(df, dist, manifest)
    with atomic_directory(out_dir) as tmp:
        df.to_csv(tmp / "results.csv", index=False)
        (tmp / "summary.md").write_text(md_text)
        (tmp / "index.html").write_text(page(df, dist, distribution_figure(df, GROUP, METRICS), manifest))
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")
    return df
