"""parity.verify: a saved Functional model passes; planted divergences are found at their layer, step and phase."""
import json
import subprocess
import sys

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from keras_models.build import keras_dtype  # noqa: E402
from parity import from_keras, tolerance, verify  # noqa: E402
from parity.verify.cli import write  # noqa: E402
from tests.graph_models import residual_inception_model  # noqa: E402
from tests.perturbed_optimizers import PERTURBATION, SlotBump, UpdateBump  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")  # verify uses fresh ones


@pytest.fixture(scope="module", params=["float64", "float32"])
def saved(request, tmp_path_factory):
    path = tmp_path_factory.mktemp(request.param) / "net.keras"
    keras.utils.set_random_seed(0)
    with keras_dtype(request.param):
        residual_inception_model().save(path)
    return request.param, path


@pytest.fixture(scope="module")
def saved64(tmp_path_factory):
    path = tmp_path_factory.mktemp("perturbed") / "net.keras"
    keras.utils.set_random_seed(0)
    with keras_dtype("float64"):
        residual_inception_model().save(path)
    return path


def test_saved_functional_model_passes_layers_gradients_and_ten_adam_steps(saved):
    dtype, path = saved
    result = verify(path, steps=10, substitute=True)
    assert result.passed, str(result)
    assert result.settings["optimizer"] == "Adam" and len(result.steps) == 10
    assert {r["rtol"] for r in result.gradients} == {tolerance(dtype).rtol}
    assert len(result.layers) == len(result.substitute_layers) == 21  # every node, the shared layer's two calls too
    assert {"divergence"} <= set(json.loads(result.to_json())) and set(result.tables()) >= {"layers", "steps"}


def _perturbed_twin(path, layer="b3"):
    twin = from_keras(path)
    twin.get_layer(layer).params["kernel"][...] += PERTURBATION
    return twin


def _run_repro(directory):
    return subprocess.run([sys.executable, str(directory / "repro.py")], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("substitute", [False, True], ids=["chained", "substitute"])
def test_perturbed_weight_is_reported_at_its_layer_and_reproduced(saved64, substitute, tmp_path):
    result = verify(saved64, steps=2, twin=_perturbed_twin(saved64), substitute=substitute)
    assert not result.passed
    modes = ["chained", "substitute"] if substitute else ["chained"]
    assert {m: result.divergence["layers"][m]["node"] for m in modes} == dict.fromkeys(modes, "b3")
    assert result.divergence["training"]["step"] == 1 and result.divergence["training"]["layer"] == "b3"
    if substitute:  # each layer judged alone: only b3 fails
        assert [r["node"] for r in result.substitute_layers if not r["passed"]] == ["b3"]
    write(result, tmp_path)
    done = _run_repro(tmp_path)
    assert done.returncode == 1 and "b3" in done.stdout and "MISMATCH" in done.stdout, done.stdout + done.stderr


def test_repro_passes_once_the_layer_is_fixed(saved64, tmp_path):
    result = verify(saved64, steps=0, twin=_perturbed_twin(saved64))
    write(result, tmp_path)
    data = dict(np.load(tmp_path / "repro.npz"))
    data["weight_kernel"] = from_keras(saved64).get_layer("b3").params["kernel"]  # the fix: Keras's own kernel
    np.savez(tmp_path / "repro.npz", **data)
    done = _run_repro(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_slot_perturbed_at_step_five_is_reported_at_step_five_phase_slot(saved64, tmp_path):
    twin = from_keras(saved64)
    twin.optimizer.__class__ = SlotBump  # the converted Adam (its exact learning rate), bumped at step 5
    result = verify(saved64, steps=10, twin=twin)
    found = result.divergence["training"]
    assert (found["step"], found["phase"], found["tensor"], found["layer"]) == (5, "slot", "head/kernel", "head"), found
    assert result.bisection[0]["step"] == 10 and len(result.bisection) >= 3  # last step first, then bisection
    md = str(result)
    assert md.splitlines()[0] == f"# parity verify of `{result.model}`: FAILED"
    # probes in the order made: step 10, then 3 (mid of 0..7: the shadow's gradients fail at step 7, below), 5, 4
    assert "## bisection: first failing step 5" in md
    # head/kernel's gradient cancels over the batch: the shadow steps it with Keras's gradients and, with the same
    # slipping optimizer, shows the slip beside Keras's (CONDITIONED_GRADIENT_STATE); the slip moves the shadow's
    # weights, and so its outputs, off Keras's, and its gradients then differ by the share those outputs explain
    # (MSE: near_fit_shares), so head/kernel stays in the shadow, whose own state shows the slip at step 10 too
    shadow = "(the twin's optimizer on Keras's gradients)"
    assert f"| 1 | 10 | FAIL | head/kernel {shadow} |" in md and f"| 3 | 5 | FAIL | head/kernel [momentum] {shadow} |" in md
    assert result.divergence["layers"] == {}  # forward and gradients of the start state still hold
    write(result, tmp_path)
    done = _run_repro(tmp_path)
    assert done.returncode == 1 and "step 5 head/kernel [momentum]" in done.stdout, done.stdout + done.stderr
    assert "MISMATCH" in done.stdout and "could not be imported" not in done.stdout


def test_update_perturbed_at_step_three_is_reported_at_step_three_phase_update(saved64, tmp_path):
    twin = from_keras(saved64)
    twin.optimizer.__class__ = UpdateBump
    result = verify(saved64, steps=6, twin=twin)
    found = result.divergence["training"]
    assert (found["step"], found["phase"], found["tensor"]) == (3, "update", "head/kernel"), found
    write(result, tmp_path)
    done = _run_repro(tmp_path)
    assert done.returncode == 1 and "step 3 head/kernel: " in done.stdout and "MISMATCH" in done.stdout, done.stdout


def _fix_the_optimizer_and_rerun(directory):
    """The optimizer repro.py of a bumped Adam, its class set back to numpy_models' Adam (the fix): it passes."""
    data = dict(np.load(directory / "repro.npz"))
    meta = json.loads(str(data["meta"]))
    data["meta"] = np.array(json.dumps({**meta, "optimizer_class": "numpy_models.optimizers:Adam"}))
    np.savez(directory / "repro.npz", **data)
    done = _run_repro(directory)
    assert done.returncode == 0 and "this step agrees with Keras" in done.stdout, done.stdout + done.stderr


def test_optimizer_repro_passes_once_the_optimizer_is_fixed(saved64, tmp_path):
    twin = from_keras(saved64)
    twin.optimizer.__class__ = SlotBump
    write(verify(saved64, steps=6, twin=twin), tmp_path)
    _fix_the_optimizer_and_rerun(tmp_path)


def test_a_schedules_optimizer_step_is_reproduced_with_its_schedule(tmp_path):
    """A model compiled with a learning-rate schedule: the twin carries it (parity.convert), a slip in its optimizer
    is found at its step, and repro.py rebuilds the schedule: fixed, it agrees with Keras at that step."""
    with keras_dtype("float64"):
        x = keras.Input((4,), name="x")
        model = keras.Model(x, keras.layers.Dense(3, name="head")(keras.layers.Dense(5, activation="tanh")(x)))
    model.compile(loss="mse", optimizer=keras.optimizers.Adam(keras.optimizers.schedules.ExponentialDecay(
        0.05, decay_steps=2, decay_rate=0.5, staircase=True)))
    twin = from_keras(model)
    twin.optimizer.__class__ = SlotBump
    result = verify(model, steps=6, twin=twin)
    assert result.settings["optimizer"] == "SlotBump (ExponentialDecay)"
    found = result.divergence["training"]
    assert (found["step"], found["phase"], found["tensor"]) == (5, "slot", "head/kernel"), found
    write(result, tmp_path)
    done = _run_repro(tmp_path)
    assert done.returncode == 1 and "step 5 head/kernel [momentum]" in done.stdout, done.stdout + done.stderr
    _fix_the_optimizer_and_rerun(tmp_path)


def test_sequential_model_with_softmax_crossentropy_and_sgd_passes():
    with keras_dtype("float64"):
        model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, activation="relu", name="d1"),
                                  keras.layers.Dense(3, activation="softmax", name="d2")])
        model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.SGD(0.1, momentum=0.9))
    result = verify(model, steps=3)
    assert result.passed, str(result)
    assert [r["node"] for r in result.layers] == ["d1", "d2"] and result.settings["loss"] == "CategoricalCrossentropy"


def test_a_twin_with_a_renamed_layer_is_refused_naming_the_layer():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="hidden"), keras.layers.Dense(2, name="out")])
    model.compile(optimizer="sgd", loss="mse")
    twin = from_keras(model)
    twin.layers[0].name = "renamed"
    x, y = np.random.default_rng(0).standard_normal((6, 4)).astype("float32"), np.zeros((6, 2), "float32")
    with pytest.raises(ValueError, match=r"the twin has no layer call named 'hidden'.*Received: twin layer calls "
                                         r"\['out', 'renamed'\]"):
        verify(model, x, y, twin=twin, steps=2)


def test_the_settings_name_each_outputs_loss_and_the_loss_weights():
    """verify.md said 'Adam on list' for a model compiled with a list of losses (walkthrough 2)."""
    from types import SimpleNamespace

    from numpy_models import losses
    from parity.verify.api import _loss_name

    two = [losses.CategoricalCrossentropy(), losses.MeanSquaredError()]
    assert _loss_name(SimpleNamespace(loss=two, loss_weights=[1.0, 0.5])) == \
        "CategoricalCrossentropy, MeanSquaredError (weights 1, 0.5)"
    assert _loss_name(SimpleNamespace(loss=two, loss_weights=None)) == "CategoricalCrossentropy, MeanSquaredError"
    assert _loss_name(SimpleNamespace(loss=two[1])) == "MeanSquaredError"
