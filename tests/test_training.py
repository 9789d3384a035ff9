"""Training both twins: identical curves in float64, small drift in float32, same batches and masks."""
import numpy as np

from parity import compare
from parity.checks.optimizer_settings import OptimizerSetting
from parity.specs import SPECS
from parity.tolerances import ACCURACY_POINTS, tolerance
from parity.training.datasets import load_digits, logic_gate
from parity.training.experiments import _deep_mlp
from parity.training.loop import step_drift, train_both

SGD = OptimizerSetting("sgd", "SGD", {"learning_rate": 0.1, "momentum": 0.9})


def _small_digits():
    d = load_digits()
    d.x_train, d.y_train = d.x_train[:300], d.y_train[:300]
    return d.flattened()


def test_float64_runs_agree_at_every_step_with_dropout_bn_and_l2():
    run = train_both("deep", _deep_mlp(64, "bn_dropout_l2"), SGD, _small_digits(), 2, 32, "float64")
    assert len(run.numpy.step_loss) == 2 * 10  # 300 samples, batch 32: 10 steps per epoch (last one partial)
    assert step_drift(run).max() <= tolerance("float64", "training").rtol
    np.testing.assert_array_equal(run.numpy.test_probabilities.argmax(1), run.keras.test_probabilities.argmax(1))
    assert compare(np.array(run.numpy.test_loss), np.array(run.keras.test_loss), "test_loss", tolerance("float64")).passed


def test_float32_runs_drift_only_at_round_off_level():
    run = train_both("cnn", SPECS["lenet_digits_8"], SGD, load_digits(), 1, 64, "float32")
    assert step_drift(run).max() <= tolerance("float32", "training").rtol  # measured 2e-7 over this epoch
    assert abs(run.numpy.test_acc[-1] - run.keras.test_acc[-1]) <= ACCURACY_POINTS / 100


def test_single_neuron_cannot_learn_xor():
    run = train_both("xor", SPECS["logic_gate_neuron"], OptimizerSetting("s", "SGD", {"learning_rate": 0.1}),
                     logic_gate("XOR"), 200, 4, "float64")
    assert run.numpy.train_acc[-1] <= 0.75 and run.numpy.train_acc == run.keras.train_acc


def test_graph_twins_train_identically_in_float64():
    """A ResNet graph (identity and projection shortcuts, BatchNormalization) through the same training loop."""
    d = load_digits()
    d.x_train, d.y_train = d.x_train[:256], d.y_train[:256]
    run = train_both("resnet", SPECS["resnet_digits_8"], SGD, d, 1, 64, "float64")
    assert len(run.numpy.step_loss) == 4
    assert step_drift(run).max() <= tolerance("float64", "training").rtol
    np.testing.assert_array_equal(run.numpy.test_probabilities.argmax(1), run.keras.test_probabilities.argmax(1))
