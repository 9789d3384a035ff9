"""Textbook (NCHW) <-> Keras (NHWC) layout conversions for weights and data.

Deep Learning from Scratch style CNNs keep images as (N, C, H, W), conv kernels
as (out, in, kh, kw) and flatten in (C, H, W) order; Keras keeps (N, H, W, C),
(kh, kw, in, out) and flattens in (H, W, C) order. So besides transposing the
kernel and the data, the rows of the first Dense kernel after Flatten must be
permuted from CHW to HWC order -- forgetting that is the classic silent bug.
"""
import numpy as np


def images_to_nhwc(x):
    """(N, C, H, W) -> (N, H, W, C)."""
    return np.ascontiguousarray(np.asarray(x).transpose(0, 2, 3, 1))


def conv_kernel_from_textbook(w):
    """(out, in, kh, kw) -> Keras (kh, kw, in, out)."""
    return np.ascontiguousarray(np.asarray(w).transpose(2, 3, 1, 0))


def conv_kernel_to_textbook(k):
    """Keras (kh, kw, in, out) -> (out, in, kh, kw)."""
    return np.ascontiguousarray(np.asarray(k).transpose(3, 2, 0, 1))


def dense_rows_chw_to_hwc(w, chw):
    """Permute the rows of a Dense kernel fed by a (C, H, W)-order Flatten to (H, W, C) order."""
    c, h, width = chw
    w = np.asarray(w)
    if w.shape[0] != c * h * width:
        raise ValueError(f"Dense kernel after Flatten must have {c}*{h}*{width}={c * h * width} rows for a "
                         f"(C, H, W)=({c}, {h}, {width}) feature map. Received: kernel.shape={w.shape}")
    return np.ascontiguousarray(w.reshape(c, h, width, -1).transpose(1, 2, 0, 3).reshape(c * h * width, -1))
