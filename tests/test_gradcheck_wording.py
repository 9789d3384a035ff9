"""The gradient checker's report says what it means (walkthrough 25): a wrong-shape dx is no "parameter",
the relative error's label shows a division, a float32 layer's "kinks" are its round-off."""
import numpy as np

from parity import gradcheck
from tests import textbook_layers as tb


def _affine(cls=tb.Affine):
    rng = np.random.default_rng(0)
    return cls(rng.standard_normal((4, 3)), rng.standard_normal(3)), rng.standard_normal((5, 4))


class _DxTooNarrow(tb.Affine):
    def backward(self, dout):
        return super().backward(dout)[:, :2]


class _Float32Affine(tb.Affine):
    def forward(self, x):
        return super().forward(x).astype(np.float32)


def test_a_wrong_shape_dx_is_named_as_dx_against_the_input():
    result = gradcheck(*_affine(_DxTooNarrow))
    error = result["dx"].gradient_error
    assert not result.ok and "has shape (5, 2), the input x has shape (5, 4)" in error and "parameter" not in error


def test_the_relative_error_label_shows_the_division():
    text = str(gradcheck(*_affine()))
    assert "(= max_abs / " in text and ", the largest |gradient|)" in text and "failing=0.0% of the sampled" in text


def test_a_float32_layer_s_kinks_are_called_round_off():
    result = gradcheck(*_affine(_Float32Affine))
    (error,) = [e for e in result.errors if "silent downcast" in e]
    assert "listed as kinks below are that round-off" in error, str(result)
