"""parity.verify reads Keras's variables a list at a time (``keras_models.runtime.read_values``, one operation),
never one ``.numpy()`` per variable per step: a snapshot after every step, the slot and weight comparisons, the
optimizer's repro payload."""
import numpy as np
import pytest

keras = pytest.importorskip("keras")

from keras_models.build import keras_dtype  # noqa: E402
from parity.verify import api, optimizer_repro, training  # noqa: E402


@pytest.fixture
def run():
    with keras_dtype("float64"):
        model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, activation="relu", name="d1"),
                                  keras.layers.Dropout(0.3, seed=1), keras.layers.Dense(3, name="d2")])
        model.compile(loss="mse", optimizer=keras.optimizers.Adam(0.01))
    rng = np.random.default_rng(0)
    run = training.start(model, api._twin(model, None), [rng.normal(size=(6, 5))], [rng.normal(size=(6, 3))])
    yield run
    training.finish(run)


@pytest.fixture
def single_reads(monkeypatch, run):
    """Calls of a Keras variable's own ``.numpy()`` (one eager read each) from here on."""
    variable_class = next(c for c in type(run.k_model.variables[0]).__mro__ if "numpy" in vars(c))
    calls, numpy = [], variable_class.numpy
    monkeypatch.setattr(variable_class, "numpy", lambda self: calls.append(self.path) or numpy(self))
    return calls


def test_steps_comparisons_and_repro_read_no_variable_alone(run, single_reads):
    training.run_steps(run, 3)
    comparisons = training.state_comparisons(run, 2) + sum(training.replay_step(run, 3).values(), [])
    optimizer_repro.payload(run, 2, "d1/kernel")
    assert single_reads == []
    assert {c.tensor for c in comparisons if c.kind == "slot"} >= {"d1/kernel", "d2/bias"}  # slots were compared
