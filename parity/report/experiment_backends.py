"""Experiments across backends: the digits experiments trained side by side with the NumPy twin on each backend.

Each (backend, dtype) trains in its own spawned process (``checks.backends.run_on``)
and returns the summary rows of ``experiment_report.run_row`` (float64: every step
within tolerance and identical test predictions; float32: test accuracies within
0.5 points). A float64 run that fails on JAX or PyTorch is trained again with
``FIRST`` = ``float64_kept+exact_cast`` (``checks.backend_variants``): Keras demotes float64 to float32
there and its ops.cast of Python constants is exact, and the re-run measures whether that is the cause.
A run still failing then gets a second round: the NumPy-side conventions measured to change its twin
(``backend_conventions.run_conventions``) are each tried alone on top of ``FIRST``, all together only when
none alone explains it, and the run keeps the row of the first that passes (or of the last tried), so its
explanation names only what was measured to matter.
"""
from concurrent.futures import ThreadPoolExecutor

from parity.checks.backend_conventions import ORDER, run_conventions
from parity.checks.backend_variants import CAUSES, apply_variant
from parity.checks.backends import run_on
from parity.report.experiment_report import run_row
from parity.training import EXPERIMENTS, Context
from parity.training.experiments import TRAINING_EXPERIMENTS

DIGITS_EXPERIMENTS = tuple(fn.id for fn in TRAINING_EXPERIMENTS)
COLUMNS = ("numpy_test_acc", "keras_test_acc", "differing_test_predictions", "max_rel_loss_diff", "passed")
FIRST = "float64_kept+exact_cast"


def _train(experiment_ids, data, dtype, seed, epochs, variant):
    """Worker: the experiments' summary rows on this process's backend; a run failing ``FIRST`` gets its
    ``conventions`` (those that change its twin)."""
    from keras_models.backend import BACKEND  # imports the backend

    apply_variant(variant)
    ctx = Context(data, dtype, seed, epochs)
    rows = []
    for e in experiment_ids:
        for run in EXPERIMENTS[e](ctx).runs:
            row = {**run_row(e, run), "backend": BACKEND, "variant": variant}
            if variant == FIRST and not row["passed"] and run.spec is not None:
                row["conventions"] = run_conventions(run.spec, BACKEND)
            rows.append(row)
    return rows


def run_experiments(backends, experiment_ids, data, dtypes, seed=0, epochs=None):
    """Summary rows of every (backend, dtype), failing float64 JAX/PyTorch runs re-run with the variants."""
    jobs = [(b, d) for b in backends for d in dtypes]
    with ThreadPoolExecutor(len(jobs)) as pool:  # each job waits on its own spawned process
        parts = list(pool.map(lambda job: run_on(job[0], _train, list(experiment_ids), data, job[1], seed, epochs,
                                                 None), jobs))
    rows = [r for part in parts for r in part]
    redo = sorted({(r["backend"], r["experiment"]) for r in rows
                   if not r["passed"] and r["dtype"] == "float64" and r["backend"] != "tensorflow"})
    for backend, experiment in redo:
        rows += run_on(backend, _train, [experiment], data, "float64", seed, epochs, FIRST)
    return rows + second_round(rows, lambda backend, experiment, variant: run_on(
        backend, _train, [experiment], data, "float64", seed, epochs, variant))


def second_round(rows, train):
    """The row that explains each run still failing ``FIRST``; ``train(backend, experiment, variant)`` -> rows."""
    failing = [r for r in rows if r["variant"] == FIRST and not r["passed"] and r.get("conventions")]
    out = []
    for key in dict.fromkeys((r["backend"], r["experiment"]) for r in failing):
        mine = [r for r in failing if (r["backend"], r["experiment"]) == key]
        tried = _trials(mine, lambda conventions: train(*key, "+".join((FIRST,) + conventions)))
        out += [_explaining(r["run"], tried) for r in mine]
    return out


def _trials(failing, train):
    """{variant: rows}: each measured convention alone, then all together if some run is still unexplained."""
    candidates = tuple(sorted({c for r in failing for c in r["conventions"]}, key=ORDER.index))
    tried = {c: train((c,)) for c in candidates}
    if len(candidates) > 1 and not all(_explaining(r["run"], tried)["passed"] for r in failing):
        tried["+".join(candidates)] = train(candidates)
    return tried


def _explaining(run, tried):
    """``run``'s row from the first trial it passes, else from the last trial."""
    rows = [next(r for r in trial if r["run"] == run) for trial in tried.values()]
    return next((r for r in rows if r["passed"]), rows[-1])


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
    parts = dict.fromkeys(p for r in rows if r["variant"] for p in r["variant"].split("+"))
    lines += [f"- {p}: {CAUSES[p]}" for p in parts]
    return "\n".join(lines)


def experiment_json(rows):
    """The rows as data for parity.json (numbers and strings only)."""
    return [{k: r[k] for k in ("experiment", "run", "dtype", "backend", "variant", "test_acc_diff_pp") + COLUMNS}
            for r in rows]
