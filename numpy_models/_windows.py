"""Sliding windows over NHWC images: padding rules, im2col and its adjoint.

Used by Conv2D and the pooling layers. ``windows`` returns a strided *view*
(N, OH, OW, KH, KW, C) of a padded input with no copy; ``offset_slices``
yields, for every kernel offset, the strided slice of the input it reads, and
``scatter_offsets`` is the adjoint (col2im): it adds each offset's gradient
block back through that slice (KH * KW vectorised adds, never a loop over
pixels or samples).
"""
import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

PADDINGS = ("valid", "same", "symmetric")


def output_and_padding(n, k, s, d, padding):
    """Output size and (before, after) padding along one spatial axis.

    valid: floor((n - d(k-1) - 1) / s) + 1, no padding.
    same (Keras/TF): ceil(n / s); total pad = max((out-1)s + d(k-1) + 1 - n, 0),
        before = total // 2, the extra pixel after (bottom/right).
    symmetric (textbook): p = d(k-1) // 2 on both sides, out = (n + 2p - d(k-1) - 1) // s + 1.
    """
    span = d * (k - 1) + 1
    if padding == "valid":
        return (n - span) // s + 1, (0, 0)
    if padding == "same":
        out = math.ceil(n / s)
        total = max((out - 1) * s + span - n, 0)
        return out, (total // 2, total - total // 2)
    p = (span - 1) // 2
    return (n + 2 * p - span) // s + 1, (p, p)


def pad(x, pads_h, pads_w, value=0.0):
    """Pad the two spatial axes of an NHWC array (a fresh array, filled once)."""
    if pads_h == (0, 0) and pads_w == (0, 0):
        return x
    n, h, w, c = x.shape
    out = np.full((n, h + sum(pads_h), w + sum(pads_w), c), value, dtype=x.dtype)
    out[:, pads_h[0]:pads_h[0] + h, pads_w[0]:pads_w[0] + w, :] = x
    return out


def windows(xp, kernel, strides, dilation, out_hw):
    """Strided view (N, OH, OW, KH, KW, C) of the padded input ``xp``; no copy."""
    n, _, _, c = xp.shape
    sn, sh, sw, sc = xp.strides
    shape = (n, out_hw[0], out_hw[1], kernel[0], kernel[1], c)
    strides_ = (sn, sh * strides[0], sw * strides[1], sh * dilation[0], sw * dilation[1], sc)
    return as_strided(xp, shape=shape, strides=strides_, writeable=False)


def offset_slices(kernel, strides, dilation, out_hw):
    """(index, (rows, cols)) slices of the padded input that each kernel offset (i, j) reads."""
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            r, q = i * dilation[0], j * dilation[1]
            rows = slice(r, r + strides[0] * (out_hw[0] - 1) + 1, strides[0])
            cols = slice(q, q + strides[1] * (out_hw[1] - 1) + 1, strides[1])
            yield i * kernel[1] + j, (rows, cols)


def offset_major_columns(xp, kernel, strides, dilation, out_hw):
    """im2col transposed: (kh*kw*C, N*OH*OW), built from kh*kw slice copies.

    For single-channel input this is several times faster than copying the
    strided window view (whose innermost contiguous run is one element).
    Only valid as a (K, M) matrix when C == 1.
    """
    n, c = xp.shape[0], xp.shape[3]
    out = np.empty((kernel[0] * kernel[1], n, out_hw[0], out_hw[1], c), dtype=xp.dtype)
    for k, (rows, cols) in offset_slices(kernel, strides, dilation, out_hw):
        out[k] = xp[:, rows, cols, :]
    return out.reshape(kernel[0] * kernel[1] * c, -1)


def scatter_offsets(blocks, padded_shape, kernel, strides, dilation):
    """Adjoint of reading the input at every kernel offset.

    ``blocks[k]`` (N, OH, OW, C) is the gradient arriving at offset k; each is
    added to the padded input through one strided slice (kh * kw vectorised
    adds, never a loop over pixels or samples).
    """
    out_hw = blocks.shape[2:4]
    dxp = np.zeros(padded_shape, dtype=blocks.dtype)
    for k, (rows, cols) in offset_slices(kernel, strides, dilation, out_hw):
        dxp[:, rows, cols, :] += blocks[k]
    return dxp


def unpad(xp, pads_h, pads_w, hw):
    return xp[:, pads_h[0]:pads_h[0] + hw[0], pads_w[0]:pads_w[0] + hw[1], :]


def as_pair(value, name, who, minimum=1):
    """Keras accepts an int or a pair for kernel_size / strides / pool_size / dilation_rate."""
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and v >= minimum for v in pair):
        raise ValueError(f"{who}: {name} must be an int or a pair of ints >= {minimum}. Received: {name}={value!r}")
    return tuple(int(v) for v in pair)


def check_padding(padding, who, allowed=PADDINGS):
    if padding not in allowed:
        raise ValueError(f"{who}: padding must be one of {allowed}. Received: padding={padding!r}")
    return padding


def spatial_plan(input_shape, kernel, strides, dilation, padding, who):
    """(out_h, out_w, pads_h, pads_w) for an NHWC input shape, with a clear error when it does not fit."""
    h, w = input_shape[1], input_shape[2]
    if h is None or w is None:
        raise ValueError(f"{who}: needs a concrete input height and width (its windows are planned when it is "
                         f"built); None is a variable size. Received: input_shape={tuple(input_shape)}")
    oh, ph = output_and_padding(h, kernel[0], strides[0], dilation[0], padding)
    ow, pw = output_and_padding(w, kernel[1], strides[1], dilation[1], padding)
    if oh <= 0 or ow <= 0:
        span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True))
        raise ValueError(
            f"{who}: a window of {kernel[0]}x{kernel[1]} (dilation {dilation}, span {span[0]}x{span[1]}) does not fit "
            f"an input of {h}x{w} with padding='{padding}'. Received: input_shape={tuple(input_shape)}")
    return oh, ow, ph, pw


def check_data_format(data_format, who):
    data_format = data_format or "channels_last"
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{who}: data_format must be 'channels_last' or 'channels_first'. Received: {data_format!r}")
    return data_format


class ChannelsFirstMixin:
    """NCHW support by transposition at the layer boundary; the math stays NHWC (textbook variant)."""

    def _nhwc(self, shape):
        return (shape[0], shape[2], shape[3], shape[1]) if self.data_format == "channels_first" else tuple(shape)

    def _from_nhwc_shape(self, shape):
        return (shape[0], shape[3], shape[1], shape[2]) if self.data_format == "channels_first" else tuple(shape)

    def _to_nhwc(self, x):
        return x.transpose(0, 2, 3, 1) if self.data_format == "channels_first" else x

    def _from_nhwc(self, y):
        return y.transpose(0, 3, 1, 2) if self.data_format == "channels_first" else y
