"""Report figures: the PNG helper writes what savefig(bbox_inches="tight") writes, and figures drawn in turn on one
matplotlib figure come out as if each had a figure of its own (nothing of one run leaks into the next)."""
import io

import numpy as np
import pytest

from parity.report import plots
from parity.training.loop import TrainingRun, TwinHistory


def _history(rng, steps, evaluations, task):
    loss = list(np.exp(-np.linspace(0, 3, steps)) + rng.random(steps) * 0.01)
    metric = list(rng.random(evaluations)) if task == "classification" else [None] * evaluations
    return TwinHistory(step_loss=loss, train_loss=list(rng.random(evaluations) + 0.1), train_acc=metric,
                       test_loss=list(rng.random(evaluations) + 0.1), test_acc=metric)


def _run(name, seed, steps, evaluations, dtype="float64", task="classification"):
    rng = np.random.default_rng(seed)
    ours, theirs = _history(rng, steps, evaluations, task), _history(rng, steps, evaluations, task)
    theirs.step_loss[:steps // 2] = ours.step_loss[:steps // 2]  # equal steps: drawn on the "equal (0)" line
    return TrainingRun(name, "digits", dtype, evaluations, 4, "SGD", ours, theirs, task)


def _figure():
    fig, ax = plots.plt.subplots(figsize=(4, 2))
    ax.semilogy(np.arange(1, 50), np.logspace(-12, 0, 49), label="curve")
    ax.set(title="a title", xlabel="an x label that sticks out", ylabel="y")
    ax.legend()
    return fig


def test_png_writes_what_savefig_tight_writes():
    expected = io.BytesIO()
    _figure().savefig(expected, format="png", dpi=plots.DPI, bbox_inches="tight", metadata={"Software": None})
    assert plots.png(_figure()) == expected.getvalue()


@pytest.mark.parametrize("runs", [
    [_run("long", 0, 400, 20), _run("short", 1, 12, 3, "float32"), _run("flat", 2, 30, 5)],
    [_run("classes", 3, 50, 5), _run("regression", 4, 80, 8, task="regression"), _run("classes_again", 5, 20, 4)],
], ids=["classification_runs", "tasks_mixed"])
def test_training_figures_drawn_in_turn_match_each_drawn_alone(runs):
    assert plots.training_figures(runs) == [plots.training_figures([run])[0] for run in runs]


def test_histogram_grids_drawn_in_turn_match_each_drawn_alone():
    rng = np.random.default_rng(0)
    grids = [(title, [[(rng.normal(0, scale, 200), rng.normal(0, scale, 200)) for _ in range(3)] for _ in range(2)])
             for title, scale in (("narrow", 0.01), ("wide", 5.0), ("one value", 0.0))]
    alone = [plots.histogram_grids([grid], ["row a", "row b"], 3)[0] for grid in grids]
    assert plots.histogram_grids(grids, ["row a", "row b"], 3) == alone
