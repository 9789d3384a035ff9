"""Banded im2col: one GEMM row per B adjacent output pixels, so convolutions with few filters run near BLAS speed.

The textbook im2col GEMM (N*OH*OW, kh*kw*C) @ (kh*kw*C, F) is skinny when F is
small (LeNet: 6 and 12 filters) and BLAS runs it at a tenth of its peak. Here
each GEMM row holds the kh x U input patch that B adjacent outputs of one output
row read (U = (B-1)*sw + (kw-1)*dw + 1 columns), and the kernel becomes a banded
(kh*U*C, B*F) matrix: the kernel at B shifted positions, zero elsewhere.

    z (N*OH*OW/B, B*F) = patches (N*OH*OW/B, kh*U*C) @ band (kh*U*C, B*F)

The GEMM does U/kw times the textbook multiply-adds (the zeros add exact zeros),
but is wider and runs 2-4x faster; its rows are already NHWC output rows, and
the patch copy holds U/(B*kw) of the textbook one's values, in contiguous runs
of U*C values instead of kw*C. B = 1 is the textbook im2col.

The input gradient uses bands of half an output row (or a whole one): each GEMM
row is the gradient of the kh x U input patch of B outputs, added back with
kh * OW/B slice adds (``input_grad``) instead of kh*kw GEMMs of size (F, C).

Measured single-threaded on LeNet (batch 128): conv1 (C=1, F=6) forward and
kernel gradient 2.9 -> 1.3 ms; conv2 (C=6, F=12) input gradient 1.46 -> 0.86 ms.
"""
import functools

import numpy as np
from numpy.lib.stride_tricks import as_strided

# Bands of B outputs until B*F reaches this many GEMM columns; measured single-threaded on LeNet (forward
# plus kernel gradient): conv1 (F=6) 1.26 ms at B=4, 1.30 at B=6..8, 1.71 at B=2; conv2 (F=12) 1.06 at B=2..4.
MIN_GEMM_COLUMNS = 24
# A band does U/kw times the textbook multiply-adds; beyond this factor the textbook GEMMs win (LeNet's
# conv2 input gradient, one band per row, wastes 2.4x and is still 1.8x faster).
MAX_WASTE = 3.0
# The input gradient adds each GEMM row's patch back: at most this many blocks per output row keep the adds few.
MAX_BLOCKS = 2


def span(positions, kernel_w, stride_w, dilation_w):
    """Input columns read by ``positions`` adjacent outputs: U = (B-1)*sw + (kw-1)*dw + 1."""
    return (positions - 1) * stride_w + (kernel_w - 1) * dilation_w + 1


@functools.lru_cache(maxsize=256)  # asked several times per step for the same layer geometry
def band_width(out_w, filters, kernel_w, stride_w, dilation_w):
    """B: the smallest divisor of OW giving MIN_GEMM_COLUMNS GEMM columns within MAX_WASTE; else 1 (textbook)."""
    if filters >= MIN_GEMM_COLUMNS:
        return 1
    fits = (b for b in range(2, out_w + 1) if out_w % b == 0 and b * filters >= MIN_GEMM_COLUMNS)
    return next((b for b in fits if _waste(b, kernel_w, stride_w, dilation_w) <= MAX_WASTE), 1)


def _waste(positions, kernel_w, stride_w, dilation_w):
    """Multiply-adds of a band over the textbook im2col's: U / kw (the band's zeros)."""
    return span(positions, kernel_w, stride_w, dilation_w) / kernel_w


def patches(xp, kernel_hw, strides, dilation, out_hw, positions):
    """(N*OH*OW/B, kh*U*C): every block's kh x U input patch, one GEMM row each.

    Two copies with long contiguous runs instead of one with runs of U*C values
    (LeNet conv1: 0.46 -> 0.25 ms): first each block's U columns of every input
    row, as (N, OW/B, H, U*C); then from it the kh rows of each patch, which are
    adjacent there (one run of kh*U*C values when the dilation is 1).
    """
    xp = np.ascontiguousarray(xp)  # a row's (U, C) values as one run (NCHW input arrives transposed)
    n, h, w, c = xp.shape
    # Strides from the shape, not xp.strides: NumPy calls an array with a size-1 axis contiguous whatever that
    # axis's stride is (x[..., None] has 0; an NCHW view with C=1 has H*W items), and no copy is made.
    sc = xp.itemsize
    sw, sh, sn = c * sc, w * c * sc, h * w * c * sc
    u = span(positions, kernel_hw[1], strides[1], dilation[1])
    blocks = out_hw[1] // positions
    shape = (n, blocks, h, u * c)
    columns = np.ascontiguousarray(as_strided(xp, shape=shape, strides=(sn, sw * strides[1] * positions, sh, sc),
                                              writeable=False))
    tn, tb, th, tc = columns.strides
    shape = (n, out_hw[0], blocks, kernel_hw[0], u * c)
    view = as_strided(columns, shape=shape, strides=(tn, th * strides[0], tb, th * dilation[0], tc), writeable=False)
    return view.reshape(-1, kernel_hw[0] * u * c)  # copies: the patches overlap


def _taps(band, kernel_w, stride_w, dilation_w, writeable):
    """(B, kh, kw, C, F) view of a (kh, U, C, B, F) band: position p's tap j sits at column p*sw + j*dw."""
    s = band.strides
    shape = (band.shape[3], band.shape[0], kernel_w, band.shape[2], band.shape[4])
    steps = (s[1] * stride_w + s[3], s[0], s[1] * dilation_w, s[2], s[4])
    return as_strided(band, shape=shape, strides=steps, writeable=writeable)


def band_kernel(kernel, positions, stride_w, dilation_w):
    """(kh, kw, C, F) kernel -> (kh*U*C, B*F) banded matrix, zero outside the B shifted copies."""
    kh, kw, c, f = kernel.shape
    u = span(positions, kw, stride_w, dilation_w)
    band = np.zeros((kh, u, c, positions, f), dtype=kernel.dtype)
    _taps(band, kw, stride_w, dilation_w, writeable=True)[...] = kernel  # distinct (p, j) -> distinct cells
    return band.reshape(kh * u * c, positions * f)


def fold_kernel_grad(dband, kernel_shape, positions, stride_w, dilation_w):
    """Adjoint of ``band_kernel``: dkernel[i, j, c, f] = sum over positions p of dband at p's tap j."""
    kh, kw, c, f = kernel_shape
    band = np.ascontiguousarray(dband).reshape(kh, span(positions, kw, stride_w, dilation_w), c, positions, f)
    return _taps(band, kw, stride_w, dilation_w, writeable=False).sum(axis=0)


@functools.lru_cache(maxsize=256)
def input_grad_positions(out_w, channels, kernel_w, stride_w, dilation_w):
    """B for the input gradient (0: use the per-offset GEMMs instead).

    Half an output row per GEMM row when OW is even (at most MAX_BLOCKS adds per kernel row;
    LeNet's conv2: 0.98 -> 0.86 ms against whole rows), else whole rows; only while the per-offset
    GEMMs (F, C) are skinny (C < MIN_GEMM_COLUMNS) and the band's waste is small.
    """
    positions = out_w // MAX_BLOCKS if out_w % MAX_BLOCKS == 0 else out_w
    fits = channels < MIN_GEMM_COLUMNS and _waste(positions, kernel_w, stride_w, dilation_w) <= MAX_WASTE
    return positions if fits else 0


def input_grad(dz, kernel, padded_shape, strides, dilation, positions):
    """dL/d(padded input), the adjoint of ``patches`` @ band: (N*OH*OW/B, B*F) @ band^T, then block adds.

    GEMM row (n, oh, block) is the gradient of the kh x U input patch that block of
    B outputs reads; its kernel row i is added to input row oh*sh + i*dh, columns
    from block*B*sw on (kh * OW/B vectorised adds; blocks overlap when U > B*sw).
    """
    n, oh, ow, f = dz.shape
    kh, kw, c, _ = kernel.shape
    u, blocks, step = span(positions, kw, strides[1], dilation[1]), ow // positions, positions * strides[1]
    band = band_kernel(kernel, positions, strides[1], dilation[1])
    grads = (dz.reshape(-1, positions * f) @ band.T).reshape(n, oh, blocks, kh, u, c)
    dxp = np.zeros(padded_shape, dtype=dz.dtype)
    for i in range(kh):
        rows = slice(i * dilation[0], i * dilation[0] + strides[0] * (oh - 1) + 1, strides[0])
        for b in range(blocks):
            dxp[:, rows, b * step:b * step + u, :] += grads[:, :, b, i]
    return dxp
