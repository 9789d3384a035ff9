"""Learning-rate plans in training: both twins change the rate at the same epochs, several times."""
import pytest

from parity.training.datasets import load_digits
from parity.report.experiment_report import run_row, study_row
from parity.training import EXPERIMENTS, Context
from parity.training.lr_plans import LENET_BOUNDARIES, LENET_VALUES, rate_changes


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def _run(digits, experiment_id, dtype):
    res = EXPERIMENTS[experiment_id](Context(digits, dtype))
    return res, res.runs[0]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_stepped_plan_changes_the_rate_at_lenets_epochs_on_both_sides(digits, dtype):
    res, run = _run(digits, "lr_stepped_plan", dtype)
    expected = [b + 1 for b in LENET_BOUNDARIES]  # a boundary is a 0-based epoch; rate_changes counts from 1
    assert rate_changes(run.numpy.learning_rate) == rate_changes(run.keras.learning_rate) == expected
    assert run.numpy.learning_rate == run.keras.learning_rate
    assert sorted(set(run.keras.learning_rate), reverse=True) == pytest.approx(LENET_VALUES, rel=1e-7)
    assert all(study_row(res.id, r, dtype)["passed"] for r in res.extra_rows) and run_row(res.id, run)["passed"]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_reduce_on_plateau_divides_by_10_at_the_same_epochs_on_both_sides(digits, dtype):
    res, run = _run(digits, "lr_reduce_on_plateau", dtype)
    changes = rate_changes(run.keras.learning_rate)
    assert rate_changes(run.numpy.learning_rate) == changes and len(changes) >= 3
    assert run.numpy.learning_rate == run.keras.learning_rate
    ratios = [run.keras.learning_rate[e - 1] / run.keras.learning_rate[e - 2] for e in changes]
    assert ratios == pytest.approx([0.1] * len(changes), rel=1e-6)
    assert all(study_row(res.id, r, dtype)["passed"] for r in res.extra_rows) and run_row(res.id, run)["passed"]
    table = res.tables[0][1]
    assert [r["keras_lr"] for r in table] == run.keras.learning_rate and len(table) == run.epochs
