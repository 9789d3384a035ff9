"""Scalar parameters (a learnable scale) are checked like any other, never skipped (walkthrough 25).

- a 0-d array with a NumPy-scalar gradient (``np.sum(...)``) is checked; a 0-d gradient 10x wrong fails;
- a Python float attribute ``self.w`` with a gradient ``self.dw``, or a float in a ``params`` dict, is held as a
  0-d array in the checked copy: checked, and a gradient 10x wrong fails naming it;
- a network whose ``params`` holds a float is refused by name, saying how to store it.
"""
import numpy as np
import pytest

from parity import gradcheck, gradcheck_net

WRONG = 10.0  # the planted bug: the scalar's gradient 10x too large


class _Scale:
    """y = w x with w stored as ``kind``: "float" (self.w), "0d" (a 0-d array) or "dict" (params["w"])."""

    def __init__(self, kind, factor=1.0):
        self.kind, self.factor = kind, factor
        if kind == "dict":
            self.params, self.grads = {"w": 2.0}, {}
        else:
            self.w, self.dw = (2.0 if kind == "float" else np.array(2.0)), None

    def _w(self):
        return self.params["w"] if self.kind == "dict" else self.w

    def forward(self, x):
        self.x = x
        return self._w() * x

    def backward(self, dout):
        grad = self.factor * np.sum(dout * self.x)  # an np.float64 scalar
        grad = float(grad) if self.kind == "float" else grad
        if self.kind == "dict":
            self.grads["w"] = grad
        else:
            self.dw = grad
        return self._w() * dout


def _x():
    return np.random.default_rng(0).standard_normal((5, 4))


KINDS = ["float", "0d", "dict"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_correct_scalar_parameter_is_checked(kind):
    result = gradcheck(_Scale(kind), _x())
    assert result.ok and [p.name for p in result.params] == ["w", "dx"], str(result)
    assert result["w"].shape == () and result["w"].checked == 1


@pytest.mark.parametrize("kind", KINDS)
def test_a_wrong_scalar_gradient_fails_naming_it(kind):
    result = gradcheck(_Scale(kind, WRONG), _x())
    assert result.failed == ["w"], str(result)
    assert result["w"].likely_cause.value == pytest.approx(WRONG)


def test_a_float_held_as_an_array_is_noted():
    result = gradcheck(_Scale("float"), _x())
    assert any("_Scale.w held as 0-d float64" in n for n in result.notes), str(result)


class _ScaleNet:
    def __init__(self, w):
        self.params = {"w": w}

    def loss(self, x, t):
        return 0.5 * float(np.sum((self.params["w"] * x - t) ** 2))

    def gradient(self, x, t):
        return {"w": np.sum((self.params["w"] * x - t) * x)}


def test_a_network_holding_a_float_parameter_is_refused_by_name():
    with pytest.raises(ValueError, match=r"params\['w'\] is a float, not an array.*np.array\(2.0\)"):
        gradcheck_net(_ScaleNet(2.0), _x(), _x())


def test_a_network_holding_a_0d_parameter_is_checked():
    assert gradcheck_net(_ScaleNet(np.array(2.0)), _x(), np.zeros((5, 4))).ok
