"""parity.training.drift: a training run over its tolerance is replayed on its own batches and masks, and the
step, phase and layer where the twins first leave tolerance reach the experiment report."""
import numpy as np
import pytest

from parity import random_streams
from parity.checks.optimizer_settings import OptimizerSetting
from parity.specs import SPECS
from parity.training import ExperimentResult, drift, loop
from parity.training.datasets import load_digits, logic_gate
from parity.training.experiments import _deep_mlp
from parity.report import experiment_report
from parity.verify.training import restore
from tests.perturbed_optimizers import SlotBump, UpdateBump

ADAM = OptimizerSetting("adam", "Adam", {"learning_rate": 0.01})


@pytest.mark.parametrize("n, batch_size", [(10, 4), (12, 4), (4, 4)], ids=["partial-batch", "even", "full-batch"])
def test_batch_indices_are_the_epoch_orders_cut_into_batches(n, batch_size):
    per_epoch = -(-n // batch_size)
    for epoch in range(3):
        got = np.concatenate([drift.batch_indices(7, n, batch_size, epoch * per_epoch + k + 1) for k in range(per_epoch)])
        np.testing.assert_array_equal(got, random_streams.epoch_order(7, epoch, n))


def _planted(monkeypatch, cls, key, at):
    """train_both's NumPy optimizer replaced by ``cls`` (Adam with a slip at step ``at`` on ``key``)."""
    bumped = type(cls.__name__, (cls,), {"key": key, "at": at})
    monkeypatch.setattr(loop, "numpy_optimizer", lambda setting: bumped(**setting.kwargs))


def _xor_run(epochs=40):
    """The 2-2-1 XOR net, full batch: one step per epoch."""
    return loop.train_both("xor", SPECS["xor_2_2_1"], ADAM, logic_gate("XOR"), epochs, 4, "float64")


@pytest.mark.parametrize("cls, at, phase", [(UpdateBump, 13, "update"), (SlotBump, 22, "slot")],
                         ids=["weight-at-13", "slot-at-22"])
def test_planted_slip_in_a_training_run_is_located_at_its_step_phase_and_layer(monkeypatch, cls, at, phase):
    _planted(monkeypatch, cls, "output/kernel", at)
    run = _xor_run()
    found = run.divergence
    assert (found["step"], found["phase"], found["layer"], found["tensor"]) == (at, phase, "output", "output/kernel")
    assert found["replayed_steps"] <= 4  # one checkpoint interval (40 steps / CHECKPOINTS), not the run
    row = experiment_report.run_row("xor", run)
    assert (row["divergence_step"], row["divergence_phase"], row["divergence_layer"]) == (at, phase, "output")
    assert row["first_step_over_tol"] >= at


def test_run_within_tolerance_is_not_replayed():
    run = _xor_run(10)
    assert run.divergence is None and "divergence_step" not in experiment_report.run_row("xor", run)


def test_replay_reproduces_the_run_bit_for_bit_with_dropout(monkeypatch):
    """Same batches, same masks, same code path: replaying every step from the start lands on the run's weights."""
    kept, capture = [], drift.capture
    monkeypatch.setattr(drift, "capture", lambda *a: kept.append(capture(*a)) or kept[-1])
    data = load_digits().flattened()
    data.x_train, data.y_train = data.x_train[:200], data.y_train[:200]
    run = loop.train_both("mlp", _deep_mlp(64, "dropout_l2"), ADAM, data, 2, 50, "float32")
    replay = kept[0]
    restore(replay, 0)
    y = data.y_train
    drift._replay(replay, data.x_train.astype("float32"), y, 0, 50, 1, len(run.numpy.step_loss), "float32")
    for key, value in run.numpy.final_weights.items():
        np.testing.assert_array_equal(replay.twin.params[key], value, err_msg=key)
    keras_now = {f"{lay.name}/{v.name}": v.numpy() for lay in replay.k_model.layers for v in lay.trainable_weights}
    for key, value in run.keras.final_weights.items():
        np.testing.assert_array_equal(keras_now[key], value, err_msg=key)


def test_experiment_report_names_the_first_divergence(monkeypatch):
    _planted(monkeypatch, UpdateBump, "hidden/kernel", 9)
    result = ExperimentResult("xor", "XOR", runs=[_xor_run(20)])
    rows = experiment_report.summarise([("float64", result)])
    md = experiment_report.markdown(rows, {}, "note")
    html = experiment_report.page(rows, [], [], {})
    assert "## First divergence" in md and "step 9, phase update, layer `hidden`" in md, md
    assert "First divergence" in html and "hidden/kernel" in html
