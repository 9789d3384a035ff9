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
    assert {c.name for c in failed if c.labels == ("numpy", "finite_diff")} >= {"hidden/kernel[fd]", "output/kernel[fd]"}
    assert all(c.labels[0] == "numpy" for c in failed)  # Keras agrees with finite differences


def test_missing_activation_derivative_is_named(missing_sigmoid_derivative):
    with pytest.raises(ParityError) as info:
        assert_all_passed(check_backward(SPEC, "float64"))
    message = info.value.args[0]
    assert "output/kernel" in message and "FAILED" in message
    assert "at (" in message  # the worst elements come with their indices


def test_first_failing_tensor_is_reported_in_forward_order(missing_sigmoid_derivative):
    failed = [c.name for c in check_backward(SPEC, "float64") if not c.passed]
    assert failed[0] == "dx" and "hidden:output_grad" in failed
    assert "output:output_grad" not in failed  # the output gradient itself is given, so it agrees
    assert np.isfinite([c.max_abs for c in check_backward(SPEC, "float64")]).all()
