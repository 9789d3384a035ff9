"""The CNN and gradient-checker speedups change no number (issue 17): NumPy only.

- the per-sample bias add is the plain broadcast add, bit for bit;
- max-pool backward without the zero fill (windows that tile the input) and with it
  (gaps, overlaps, remainders) routes each window's gradient to its first maximum;
- the checker's suffix evaluations (a stack's parameters probed from their own layer
  on) and its early end of probes that straddle a kink give the very report the
  full evaluations give.
"""
import numpy as np
import pytest

import numpy_models as nm
from numpy_models._fast import add_bias_per_sample
from parity import gradcheck
from parity.gradcheck import checker
from parity.gradcheck.suffix import chain_layers


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("contiguous", [True, False], ids=["contiguous", "strided"])
def test_bias_per_sample_is_the_broadcast_add_bit_for_bit(dtype, contiguous):
    rng = np.random.default_rng(0)
    z = rng.standard_normal((3 * 20, 6)).astype(dtype)
    bias = rng.standard_normal(6).astype(dtype)
    if not contiguous:
        z = np.asfortranarray(z)
    expected = z + bias
    add_bias_per_sample(z, bias, 3)
    np.testing.assert_array_equal(z, expected)


def _first_max_reference(x, pool, stride, dout):
    """dx by a loop over windows: each window's gradient to its first maximum in row-major order."""
    dx = np.zeros_like(x)
    for n in range(x.shape[0]):
        for i in range(dout.shape[1]):
            for j in range(dout.shape[2]):
                for c in range(x.shape[3]):
                    window = x[n, i * stride:i * stride + pool, j * stride:j * stride + pool, c]
                    r, q = np.unravel_index(np.argmax(window), window.shape)  # argmax: the first maximum
                    dx[n, i * stride + r, j * stride + q, c] += dout[n, i, j, c]
    return dx


@pytest.mark.parametrize("hw, pool, stride", [((6, 8), 2, 2), ((7, 9), 2, 2), ((7, 7), 1, 2), ((7, 7), 2, 3),
                                              ((8, 8), 3, 2)],
                         ids=["tiled", "remainder", "gaps-pool1", "gaps", "overlapping"])
def test_max_pool_backward_routes_to_the_first_maximum(hw, pool, stride):
    rng = np.random.default_rng(1)
    x = np.maximum(rng.standard_normal((2,) + hw + (3,)), 0)  # ReLU outputs: many tied zeros
    layer = nm.MaxPooling2D(pool, strides=stride)
    y = layer.forward(x)
    dout = rng.integers(-9, 10, y.shape).astype(x.dtype)  # integers: overlapping windows' sums are exact in any order
    np.testing.assert_array_equal(layer.backward(dout), _first_max_reference(x, pool, stride, dout))


def _small_lenet():
    model = nm.Sequential([nm.Conv2D(3, 3, activation="relu", name="c1"), nm.MaxPooling2D(2, name="p1"),
                           nm.Conv2D(4, 3, activation="relu", name="c2"), nm.Flatten(name="f"),
                           nm.Dense(5, activation="tanh", name="d"), nm.Dense(3, activation="softmax", name="o")])
    return model.build((None, 12, 12, 1), seed=0)


def test_suffix_evaluations_give_the_report_of_full_evaluations(monkeypatch):
    model = _small_lenet()
    x = np.maximum(np.random.default_rng(2).standard_normal((4, 12, 12, 1)), 0)
    fast = gradcheck(model, x)
    monkeypatch.setattr(checker, "objectives_by_layer", lambda *args: ({}, args[-1]))  # every probe: the full forward
    full = gradcheck(model, x)
    assert repr(fast) == repr(full)
    assert fast.ok


def test_only_a_plain_stack_is_evaluated_by_suffixes():
    assert chain_layers(_small_lenet()) is not None
    assert chain_layers(nm.Dense(3)) is None
