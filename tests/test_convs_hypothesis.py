"""Grouped, depthwise, separable, transposed and 1-D convolutions: hypothesis over configurations vs Keras."""
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

import keras_models
import numpy_models as nm
from numpy_models import convolutional
from parity import compare, tolerance
from parity.weights import numpy_to_keras

SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DTYPES = st.sampled_from(["float64", "float32"])


def _agree(layer, input_shape, seed, dtype):
    """One layer, NumPy vs Keras in ``dtype``: output, dx and every weight gradient at the table tolerance."""
    layers = [layer]
    np_model = nm.build_sequential(layers, input_shape, dtype, seed)
    k_model = keras_models.build_sequential(layers, input_shape, dtype)
    numpy_to_keras(np_model, k_model)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2,) + input_shape).astype(dtype)
    y = np_model.forward(x)
    dout = rng.standard_normal(y.shape).astype(dtype)
    dx = np_model.backward(dout)
    ref = keras_models.forward_backward(k_model, x, dout)
    tol = tolerance(dtype)
    checks = [compare(y, ref["outputs"][-1], "output", tol), compare(dx, ref["dx"], "dx", tol)]
    checks += [compare(np_model.grads[k], g, k, tol) for k, g in ref["grads"].items()]
    for c in checks:
        assert c.passed, c.message()
    assert sorted(ref["grads"]) == sorted(np_model.grads)
    assert y.shape == ref["outputs"][-1].shape == (2,) + np_model.output_shape[1:]


def _fits(n, k, s, d, padding):
    return padding != "valid" or n >= d * (k - 1) + 1


@SETTINGS
@given(h=st.integers(3, 9), w=st.integers(3, 9), groups=st.integers(1, 3), cg=st.integers(1, 2),
       fg=st.integers(1, 2), k=st.integers(1, 4), stride=st.integers(1, 3), dilation=st.integers(1, 2),
       padding=st.sampled_from(["valid", "same"]), dtype=DTYPES, seed=st.integers(0, 999))
def test_grouped_conv2d_matches_keras(h, w, groups, cg, fg, k, stride, dilation, padding, dtype, seed):
    assume(stride == 1 or dilation == 1)  # Keras forbids both > 1 for Conv2D
    assume(_fits(h, k, stride, dilation, padding) and _fits(w, k, stride, dilation, padding))
    kwargs = {"filters": groups * fg, "kernel_size": k, "strides": stride, "padding": padding,
              "dilation_rate": dilation, "groups": groups}
    _agree(("Conv2D", kwargs, "conv"), (h, w, groups * cg), seed, dtype)


@SETTINGS
@given(h=st.integers(3, 9), w=st.integers(3, 9), c=st.integers(1, 3), multiplier=st.integers(1, 3),
       kh=st.integers(1, 4), kw=st.integers(1, 4), stride=st.integers(1, 3), dilation=st.integers(1, 2),
       padding=st.sampled_from(["valid", "same"]), separable=st.booleans(), filters=st.integers(1, 4),
       dtype=DTYPES, seed=st.integers(0, 999))
def test_depthwise_and_separable_match_keras(h, w, c, multiplier, kh, kw, stride, dilation, padding, separable,
                                             filters, dtype, seed):
    assume(_fits(h, kh, stride, dilation, padding) and _fits(w, kw, stride, dilation, padding))
    kwargs = {"kernel_size": (kh, kw), "strides": stride, "padding": padding, "dilation_rate": dilation,
              "depth_multiplier": multiplier}
    if separable:
        _agree(("SeparableConv2D", {**kwargs, "filters": filters}, "sep"), (h, w, c), seed, dtype)
    else:
        _agree(("DepthwiseConv2D", kwargs, "dw"), (h, w, c), seed, dtype)


@SETTINGS
@given(h=st.integers(1, 6), w=st.integers(1, 6), c=st.integers(1, 3), filters=st.integers(1, 3),
       kh=st.integers(1, 4), kw=st.integers(1, 4), sh=st.integers(1, 3), sw=st.integers(1, 3),
       padding=st.sampled_from(["valid", "same"]), op=st.data(), dilation=st.integers(1, 2), dtype=DTYPES,
       seed=st.integers(0, 999))
def test_conv2d_transpose_matches_keras(h, w, c, filters, kh, kw, sh, sw, padding, op, dilation, dtype, seed):
    # TF's float64 CPU kernel has no dilated Conv2DBackpropInput; Keras forbids strides and dilation together.
    dilation = 1 if dtype == "float64" or max(sh, sw) > 1 else dilation
    output_padding = op.draw(st.none() | st.tuples(st.integers(0, sh - 1), st.integers(0, sw - 1)))
    if padding == "same" and output_padding is not None:
        # (n-1)s + span%2 + op must conv back to n, else both Keras and NumPy refuse (test_convs_errors.py).
        spans = (dilation * (kh - 1) + 1, dilation * (kw - 1) + 1)
        assume(all(span % 2 + p >= 1 for span, p in zip(spans, output_padding, strict=True)))
    kwargs = {"filters": filters, "kernel_size": (kh, kw), "strides": (sh, sw), "padding": padding,
              "output_padding": output_padding, "dilation_rate": dilation}
    _agree(("Conv2DTranspose", kwargs, "deconv"), (h, w, c), seed, dtype)


@SETTINGS
@given(length=st.integers(2, 12), groups=st.integers(1, 3), cg=st.integers(1, 2), fg=st.integers(1, 2),
       k=st.integers(1, 5), stride=st.integers(1, 3), dilation=st.integers(1, 3),
       padding=st.sampled_from(["valid", "same", "causal"]), dtype=DTYPES, seed=st.integers(0, 999))
def test_conv1d_matches_keras(length, groups, cg, fg, k, stride, dilation, padding, dtype, seed):
    assume(stride == 1 or dilation == 1)
    assume(_fits(length, k, stride, dilation, padding))
    kwargs = {"filters": groups * fg, "kernel_size": k, "strides": stride, "padding": padding,
              "dilation_rate": dilation, "groups": groups}
    _agree(("Conv1D", kwargs, "conv1d"), (length, groups * cg), seed, dtype)


@pytest.mark.parametrize("layer, shape", [
    (("Conv2D", {"filters": 6, "kernel_size": 3, "strides": 2, "padding": "same", "groups": 3}, "conv"), (7, 6, 6)),
    (("DepthwiseConv2D", {"kernel_size": (2, 3), "depth_multiplier": 2, "dilation_rate": 2}, "dw"), (7, 8, 3)),
    (("SeparableConv2D", {"filters": 3, "kernel_size": 3, "strides": 2}, "sep"), (8, 7, 4)),
    (("Conv1D", {"filters": 4, "kernel_size": 3, "padding": "causal", "groups": 2}, "c1"), (9, 4)),
], ids=["conv2d", "depthwise", "separable", "conv1d"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_batched_group_path_matches_keras(layer, shape, dtype, monkeypatch):
    """Few groups take the block-diagonal dense GEMM; force the per-group batched GEMM used for many groups."""
    monkeypatch.setattr(convolutional, "DENSE_GROUPS", 0)
    _agree(layer, shape, 0, dtype)
