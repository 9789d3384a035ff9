"""Experiments across backends: the digits experiments trained side by side with the NumPy twin on each backend.

Each (backend, dtype) trains in its own spawned process (``checks.backends.run_on``)
and returns the summary rows of ``experiment_report.run_row`` (float64: every step
within tolerance and identical test predictions; float32: test accuracies within
0.5 points). A float64 run that fails on JAX or PyTorch is trained again with
``float64_kept+exact_cast`` (``checks.backend_variants``): Keras demotes float64 to float32
there and its ops.cast of Python constants is exact, and the re-run measures whether that is the cause.
"""
from concurrent.futures import ThreadPoolExecutor

from parity.checks.backend_variants import apply_variant, cause
from parity.checks.backends import run_on
from parity.report.experiment_report import run_row
from parity.training import EXPERIMENTS, Context
from parity.training.experiments import TRAINING_EXPERIMENTS

DIGITS_EXPERIMENTS = tuple(fn.id for fn in TRAINING_EXPERIMENTS)
COLUMNS = ("numpy_test_acc", "keras_test_acc", "differing_test_predictions", "max_rel_loss_diff", "passed")


def _train(experiment_ids, data, dtype, seed, epochs, variant):
    """Worker: the experiments' summary rows on this process's backend."""
    from keras_models.backend import BACKEND  # imports the backend

    apply_variant(variant)
    ctx = Context(data, dtype, seed, epochs)
    return [{**run_row(e, run), "backend": BACKEND, "variant": variant}
            for e in experiment_ids for run in EXPERIMENTS[e](ctx).runs]


def run_experiments(backends, experiment_ids, data, dtypes, seed=0, epochs=None):
    """Summary rows of every (backend, dtype), failing float64 JAX/PyTorch runs re-run with the variant."""
    jobs = [(b, d) for b in backends for d in dtypes]
    with ThreadPoolExecutor(len(jobs)) as pool:  # each job waits on its own spawned process
        parts = list(pool.map(lambda job: run_on(job[0], _train, list(experiment_ids), data, job[1], seed, epochs,
                                                 None), jobs))
    rows = [r for part in parts for r in part]
    redo = sorted({(r["backend"], r["experiment"]) for r in rows
                   if not r["passed"] and r["dtype"] == "float64" and r["backend"] != "tensorflow"})
    for backend, experiment in redo:
        rows += run_on(backend, _train, [experiment], data, "float64", seed, epochs, "float64_kept+exact_cast")
    return rows


def _cell(row):
    acc = f"{100 * row['keras_test_acc']:.1f}% (NumPy {100 * row['numpy_test_acc']:.1f}%)"
    detail = f", {row['differing_test_predictions']} predictions differ" if row["dtype"] == "float64" else ""
    return f"{acc}{detail}, drift {row['max_rel_loss_diff']:.1e} {'pass' if row['passed'] else '**FAIL**'}"


def render_experiment_tables(rows):
    """Markdown: one table per experiment, a row per run and dtype (and variant), a column per backend."""
    backends = list(dict.fromkeys(r["backend"] for r in rows))
    lines = ["## Experiments across backends", "",
             "Keras test accuracy on each backend beside the NumPy twin's, differing test predictions (float64), "
             "the largest per-step loss drift and the verdict.", ""]
    for experiment in dict.fromkeys(r["experiment"] for r in rows):
        lines += [f"### {experiment}", "", "| run | dtype | " + " | ".join(backends) + " |",
                  "|---|---|" + "---|" * len(backends)]
        mine = [r for r in rows if r["experiment"] == experiment]
        for key in dict.fromkeys((r["run"], r["dtype"], r["variant"]) for r in mine):
            cells = {r["backend"]: r for r in mine if (r["run"], r["dtype"], r["variant"]) == key}
            label = key[1] + (f", variant {key[2]}" if key[2] else "")
            lines.append(f"| {key[0]} | {label} | " + " | ".join(_cell(cells[b]) if b in cells else "-"
                                                                for b in backends) + " |")
        lines.append("")
    variants = sorted({r["variant"] for r in rows if r["variant"]})
    lines += [f"- variant {v}: {cause(v)}" for v in variants]
    return "\n".join(lines)


def experiment_json(rows):
    """The rows as data for parity.json (numbers and strings only)."""
    return [{k: r[k] for k in ("experiment", "run", "dtype", "backend", "variant", "test_acc_diff_pp") + COLUMNS}
            for r in rows]
