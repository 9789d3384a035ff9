"""A bug planted in a NumPy layer must make the checks fail, naming the layer and parameter."""
import numpy as np
import pytest

from numpy_models import activations, core
from parity import ParityError, assert_all_passed
from parity.checks import check_backward, check_gradients_three_way, check_loss
from parity.specs import SPECS

SPEC = SPECS["net_2_2_2_sigmoid_mse"]  # square 2x2 kernels: a transposed gradient keeps its shape


@pytest.fixture
def transposed_kernel_gradient(monkeypatch):
    original = core.Dense.backward_preactivation

    def buggy(self, dz):
        dx = original(self, dz)
        self.grads["kernel"] = self.grads["kernel"].T.copy()
        return dx

    monkeypatch.setattr(core.Dense, "backward_preactivation", buggy)


@pytest.fixture
def missing_sigmoid_derivative(monkeypatch):
    forward, _ = activations.ACTIVATIONS["sigmoid"]
    monkeypatch.setitem(activations.ACTIVATIONS, "sigmoid", (forward, lambda x, y, dout: dout.copy()))


@pytest.mark.parametrize("check", [check_backward, check_loss])
def test_transposed_kernel_gradient_is_named(transposed_kernel_gradient, check):
    with pytest.raises(ParityError, match=r"first: (hidden|output)/kernel") as info:
        assert_all_passed(check(SPEC, "float64"))
    assert "bias" not in info.value.args[0].split("\n")[0]


def test_transposed_kernel_gradient_fails_finite_differences_too(transposed_kernel_gradient):
    failed = [c for c in check_gradients_three_way(SPEC) if not c.passed]
    assert {c.tensor for c in failed if c.kind == "finite_difference"} >= {"hidden/kernel", "output/kernel"}
    assert all(c.backend == "numpy" for c in failed)  # Keras agrees with finite differences


def test_missing_activation_derivative_names_the_first_layer_whose_gradient_diverges(missing_sigmoid_derivative):
    with pytest.raises(ParityError, match=r"first: output/kernel") as info:
        assert_all_passed(check_backward(SPEC, "float64"))
    message = info.value.args[0]
    assert "FAILED" in message and "at (" in message  # the worst elements come with their indices


def test_gradients_are_compared_from_the_output_down(missing_sigmoid_derivative):
    order = [(c.tensor, c.kind) for c in check_backward(SPEC, "float64")]
    assert order == [("output/kernel", "param"), ("output/bias", "param"), ("output", "input_grad"),
                     ("hidden/kernel", "param"), ("hidden/bias", "param"), ("hidden", "input_grad")]
    assert all(not c.passed for c in check_backward(SPEC, "float64"))
    assert np.isfinite([c.max_abs for c in check_backward(SPEC, "float64")]).all()


def test_a_bug_in_an_inner_layer_is_named_and_the_layers_above_agree(monkeypatch):
    """A wrong dx from 'hidden' only: the output layer agrees, the first divergence names 'hidden'."""
    original = core.Dense.backward_preactivation

    def buggy(self, dz):
        dx = original(self, dz)
        return -dx if self.name == "hidden" else dx

    monkeypatch.setattr(core.Dense, "backward_preactivation", buggy)
    results = {(c.tensor, c.kind): c.passed for c in check_backward(SPECS["net_2_3_1_sigmoid_mse"], "float64")}
    assert results["output/kernel", "param"] and results["output", "input_grad"] and results["hidden/kernel", "param"]
    assert not results["hidden", "input_grad"]
