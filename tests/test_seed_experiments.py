"""Single-layer networks: both twins learn the same regression, boundary and softmax classifier."""
import numpy as np
import pytest

from parity.training.datasets import load_diabetes, load_iris, load_iris_binary
from parity.report.experiment_report import run_row, study_row
from parity.training import EXPERIMENTS, Context
from parity.tolerances import tolerance
from parity.training.loop import TrainingRun, TwinHistory, predicted_classes

TRAINING = tolerance("float64", "training").rtol


# Tests of the module fixture below share one xdist group: it is computed once, on one worker.
SEED_EXPERIMENTS = pytest.mark.xdist_group("seed_experiments")


@pytest.fixture(scope="module")
def results():
    """The three experiments in float64 (data=None: they load their own tables)."""
    ids = ("single_layer_regression", "single_layer_binary", "single_layer_softmax")
    return {i: EXPERIMENTS[i](Context(None, "float64")) for i in ids}


@SEED_EXPERIMENTS
def test_every_row_passes_its_rule(results):
    rows = [run_row(r.id, run) for r in results.values() for run in r.runs]
    rows += [study_row(r.id, row, "float64") for r in results.values() for row in r.extra_rows]
    assert len(rows) == 4 and all(r["passed"] for r in rows), rows


@SEED_EXPERIMENTS
def test_regression_twins_agree_and_learn_a_useful_linear_model(results):
    run = results["single_layer_regression"].runs[0]
    np.testing.assert_allclose(run.numpy.test_probabilities, run.keras.test_probabilities, rtol=TRAINING)
    table = dict(results["single_layer_regression"].tables)["Diabetes regression: MSE and R^2 after training"]
    assert [r["twin"] for r in table] == ["NumPy", "Keras"]
    assert table[0]["test_mse"] == pytest.approx(table[1]["test_mse"], rel=TRAINING)
    y = load_diabetes().y_test
    assert table[0]["test_r2"] == pytest.approx(1 - np.mean((run.numpy.test_probabilities[:, 0] - y) ** 2) / y.var())
    assert table[0]["train_r2"] > 0.5 and table[0]["test_r2"] > 0.25  # least squares: 0.55 / 0.33


@SEED_EXPERIMENTS
def test_decision_boundaries_coincide_and_classify_like_the_sigmoid(results):
    res = results["single_layer_binary"]
    w1, w2, b = (dict(res.tables)["Decision boundary w1 x1 + w2 x2 + b = 0 of each twin"][0][k] for k in ("w1", "w2", "b"))
    data = load_iris_binary()
    side = (w1 * data.x_test[:, 0] + w2 * data.x_test[:, 1] + b) > 0  # sigmoid(z) > 0.5  <=>  z > 0
    np.testing.assert_array_equal(side, predicted_classes(res.runs[0].numpy.test_probabilities))
    assert res.extra_rows[0]["max_rel_diff"] <= TRAINING


@SEED_EXPERIMENTS
def test_softmax_rolls_back_to_the_same_labels(results):
    res = results["single_layer_softmax"]
    run, y = res.runs[0], load_iris().y_test
    rollback = dict(res.tables)["Iris softmax: argmax roll-back of the first test predictions"]
    assert all(r["numpy_argmax"] == r["keras_argmax"] for r in rollback)
    names = [r["numpy_argmax"] for r in rollback]
    assert names == [("setosa", "versicolor", "virginica")[k] for k in run.numpy.test_probabilities[:8].argmax(1)]
    assert run.numpy.test_acc[-1] == run.keras.test_acc[-1] == np.mean(run.numpy.test_probabilities.argmax(1) == y)
    assert run.numpy.test_acc[-1] >= 0.85


def _history(mse):
    return TwinHistory(step_loss=[1.0], train_loss=[mse], train_acc=[None], test_loss=[mse], test_acc=[None],
                       seconds=[0.1], test_probabilities=np.ones((3, 1)))


def _regression_run(mse_numpy, mse_keras):
    return TrainingRun("r", "d", "float32", 1, 1, "SGD", _history(mse_numpy), _history(mse_keras), "regression")


@pytest.mark.parametrize("mse_keras, passed", [(100.005, True), (100.02, False)], ids=["5e-5_passes", "2e-4_fails"])
def test_float32_regression_passes_on_test_mse_within_1e_4(mse_keras, passed):
    assert run_row("x", _regression_run(100.0, mse_keras))["passed"] is passed


def test_float32_regression_run_agrees_on_test_mse():
    res = EXPERIMENTS["single_layer_regression"](Context(None, "float32", epochs=20))
    row = run_row(res.id, res.runs[0])
    assert row["passed"] and row["test_mse_rel_diff"] <= tolerance("float32", "test_mse").rtol
