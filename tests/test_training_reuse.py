"""parity.training.reuse: a run on kept, reset twins computes exactly what a run on freshly built twins does."""
import numpy as np
import pytest

from parity.checks.optimizer_settings import OptimizerSetting
from parity.specs import SPECS
from parity.training import reuse
from parity.training.datasets import load_digits, logic_gate
from parity.training.experiments import _deep_mlp
from parity.training.loop import train_both

HISTORY = ("step_loss", "train_loss", "train_acc", "test_loss", "test_acc", "learning_rate")
MOMENTUM = OptimizerSetting("sgd_momentum", "SGD", {"learning_rate": 0.5, "momentum": 0.9})
ADAM = OptimizerSetting("adam", "Adam", {"learning_rate": 0.003})


def _assert_same_run(fresh, reused):
    for twin in ("numpy", "keras"):
        a, b = getattr(fresh, twin), getattr(reused, twin)
        for name in HISTORY:
            assert getattr(a, name) == getattr(b, name), f"{twin} {name}"
        np.testing.assert_array_equal(a.test_probabilities, b.test_probabilities)
        assert a.final_weights.keys() == b.final_weights.keys()
        for key in a.final_weights:
            np.testing.assert_array_equal(a.final_weights[key], b.final_weights[key])


def _small_digits():
    d = load_digits()
    d.x_train, d.y_train = d.x_train[:150], d.y_train[:150]
    return d.flattened()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_second_gate_on_the_kept_neuron_matches_a_fresh_build(dtype):
    reuse.clear()
    train_both("AND", SPECS["logic_gate_neuron"], MOMENTUM, logic_gate("AND"), 30, 4, dtype)  # leaves slots moved
    reused = train_both("XOR", SPECS["logic_gate_neuron"], MOMENTUM, logic_gate("XOR"), 30, 4, dtype)
    reuse.clear()
    fresh = train_both("XOR", SPECS["logic_gate_neuron"], MOMENTUM, logic_gate("XOR"), 30, 4, dtype)
    _assert_same_run(fresh, reused)


def test_dropout_batchnorm_and_adam_state_are_reset_too():
    """Seed-generator states, moving statistics, Adam's moments and iterations: all back to before step 1."""
    spec, data = _deep_mlp(64, "bn_dropout_l2"), _small_digits()
    reuse.clear()
    first = train_both("first", spec, ADAM, data, 2, 32, "float32")
    reused = train_both("again", spec, ADAM, data, 2, 32, "float32")
    _assert_same_run(first, reused)


def test_another_optimizer_gets_its_own_twins():
    reuse.clear()
    sgd = OptimizerSetting("sgd", "SGD", {"learning_rate": 0.5})
    train_both("AND", SPECS["logic_gate_neuron"], sgd, logic_gate("AND"), 2, 4, "float64")
    train_both("AND", SPECS["logic_gate_neuron"], MOMENTUM, logic_gate("AND"), 2, 4, "float64")
    assert len(reuse._KEPT) == 2


def test_switching_a_variant_forgets_the_kept_twins():
    """``clear_shared`` (called after a variant is switched on) also empties the caches ``kept_twins`` filled."""
    from parity.twins import clear_shared, kept_twins

    cache = reuse._KEPT
    kept_twins(cache, "key", 2, lambda: ("numpy twin", "keras twin"), lambda k_model: [])
    assert "key" in cache
    clear_shared()
    assert not cache
