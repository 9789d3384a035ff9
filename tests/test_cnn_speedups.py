"""The CNN and gradient-checker speedups change no number (issue 17): NumPy only.

- the per-sample bias add is the plain broadcast add, bit for bit;
- max-pool backward without the zero fill (windows that tile the input) and with it
  (gaps, overlaps, remainders) routes each window's gradient to its first maximum;
- the banded convolution GEMMs (B outputs per GEMM row, half-row input gradient)
  give the textbook im2col's numbers at the table's round-off tolerance;
- the checker's suffix evaluations (a stack's parameters probed from their own layer
  on) and its early end of probes that straddle a kink give the very report the
  full evaluations give.
"""
import numpy as np
import pytest

import numpy_models as nm
from numpy_models import _banded
from numpy_models._fast import add_bias_per_sample
from parity import compare, gradcheck, tolerance
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
@pytest.mark.parametrize("values", ["relu", "small-integers"])
def test_max_pool_backward_routes_to_the_first_maximum(hw, pool, stride, values):
    rng = np.random.default_rng(1)
    if values == "relu":
        x = np.maximum(rng.standard_normal((2,) + hw + (3,)), 0)  # ReLU outputs: many tied zeros
    else:  # ties everywhere, in every arrangement within a window (the 2x2 whole-array path's tie rule)
        x = rng.integers(-2, 3, (4,) + hw + (3,)).astype(float)
    layer = nm.MaxPooling2D(pool, strides=stride)
    y = layer.forward(x)
    dout = rng.integers(-9, 10, y.shape).astype(x.dtype)  # integers: overlapping windows' sums are exact in any order
    np.testing.assert_array_equal(layer.backward(dout), _first_max_reference(x, pool, stride, dout))


# (input hw, channels, Conv2D arguments): LeNet's two convolutions, then strides, dilation, groups,
# 'same' padding and NCHW, each banded (asserted below) in the forward and, but for conv1, the input gradient.
BANDED = {"lenet-conv1": ((28, 28), 1, dict(filters=6, kernel_size=5)),
          "lenet-conv2": ((12, 12), 6, dict(filters=12, kernel_size=5)),
          "stride2": ((13, 17), 2, dict(filters=6, kernel_size=3, strides=2)),
          "dilation2": ((11, 14), 2, dict(filters=6, kernel_size=3, dilation_rate=2)),
          "groups2-same": ((9, 12), 4, dict(filters=8, kernel_size=3, groups=2, padding="same")),
          "channels-first": ((10, 9), 3, dict(filters=6, kernel_size=(3, 2), data_format="channels_first"))}


def _conv_results(kwargs, hw, channels, dtype):
    layer = nm.Conv2D(activation="relu", name="conv", **kwargs)
    shape = (3, channels) + hw if kwargs.get("data_format") == "channels_first" else (3,) + hw + (channels,)
    layer.dtype = dtype
    layer.build((None,) + shape[1:], np.random.default_rng(0))
    rng = np.random.default_rng(1)
    y = layer.call(rng.standard_normal(shape).astype(dtype), training=True)
    dx = layer.backward_call(rng.standard_normal(y.shape).astype(dtype))
    return layer, {"y": y, "dx": dx, **layer.grads}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", list(BANDED))
def test_banded_convolution_gives_the_textbook_numbers(case, dtype, monkeypatch):
    hw, channels, kwargs = BANDED[case]
    layer, banded = _conv_results(kwargs, hw, channels, dtype)
    ow, c_in = layer._plan[1], layer.params["kernel"].shape[2] * layer.groups
    assert layer._positions() > 1
    banded_input_grad = _banded.input_grad_positions(ow, c_in, layer.kernel_size[1], layer.strides[1],
                                                     layer.dilation_rate[1])
    assert bool(banded_input_grad) == (case != "lenet-conv1")  # conv1's whole-row band would waste 3.2x
    monkeypatch.setattr(_banded, "band_width", lambda *args: 1)  # the textbook im2col ...
    monkeypatch.setattr(_banded, "input_grad_positions", lambda *args: 0)  # ... and per-offset input gradient
    _, textbook = _conv_results(kwargs, hw, channels, dtype)
    for name, value in banded.items():
        check = compare(value, textbook[name], name, tolerance(dtype), labels=("banded", "textbook"))
        assert check.passed, check.message()


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


@pytest.mark.parametrize("view", ["x[..., None]", "channels_first, one channel"])
def test_banded_convolution_reads_a_single_channel_view_by_its_shape(view, monkeypatch):
    """A size-1 axis may carry any stride (0 for ``x[..., None]``; H*W items in a transposed NCHW view)."""
    images = np.random.default_rng(2).standard_normal((2, 12, 16)).astype("float32")
    channels_first = view.startswith("channels_first")
    x = images[:, None] if channels_first else images[..., None]
    layer = nm.Conv2D(6, 3, data_format="channels_first" if channels_first else "channels_last", name="conv")
    layer.build((None,) + x.shape[1:], np.random.default_rng(0))
    assert layer._positions() > 1
    dout = np.random.default_rng(3).standard_normal(layer.call(x).shape).astype("float32")
    banded = (layer.call(x, training=True), layer.backward_call(dout), layer.grads["kernel"].copy())
    monkeypatch.setattr(_banded, "band_width", lambda *args: 1)
    textbook = (layer.call(np.ascontiguousarray(x), training=True), layer.backward_call(dout), layer.grads["kernel"])
    for name, a, b in zip(("y", "dx", "kernel"), banded, textbook, strict=True):
        check = compare(a, b, name, tolerance("float32"), labels=("banded", "textbook"))
        assert check.passed, check
