"""Small vectorised helpers chosen by measurement (benchmarks/bench.py)."""
import functools

import numpy as np


def column_sums(a):
    """Sum over rows of a 2-D array as one BLAS GEMV.

    ``a.sum(axis=0)`` on a tall, narrow float32 array (73728 x 6 in LeNet's
    first conv) takes ~1.4 ms; ``ones @ a`` ~0.15 ms, and is as accurate
    (measured error <= 2e-8 of sum(|a|) up to 1e6 rows, same as pairwise).
    """
    return np.ones(a.shape[0], dtype=a.dtype) @ a


def add_bias_per_sample(z, bias, samples):
    """``z += bias`` in place for ``z`` holding ``samples`` rows of pixels x channels, same rounding.

    Broadcasting a 6-channel bias over (73728, 6) runs NumPy's inner loop 6
    elements at a time (~0.35 ms in LeNet's first conv); adding the bias tiled
    over one sample's pixels to a (samples, pixels * channels) view runs it over
    thousands (~0.1 ms). Each element still gets exactly one float add.
    """
    if not z.flags.c_contiguous:  # a reshape would copy: the add must land in z itself
        z += bias
        return
    flat = z.reshape(samples, -1)
    flat += np.tile(bias, flat.shape[1] // bias.shape[0])


def channel_sums(a, width):
    """Column sums of (M, F) pixel rows as a GEMV over rows of ``width`` pixels, then a short fold.

    ``column_sums`` on LeNet's (73728, 6) conv1 gradient runs BLAS on 6 columns
    (0.13 ms); the same numbers as (3072, 24*6) take 0.03 ms. Same accuracy class
    (partial sums of 3072 then of 24 terms instead of one of 73728).
    """
    rows, channels = a.shape
    if rows % width or not a.flags.c_contiguous:
        return column_sums(a)
    return column_sums(a.reshape(rows // width, width * channels)).reshape(width, channels).sum(axis=0)


@functools.lru_cache(maxsize=16)
def zeros(shape, dtype):
    """A read-only array of zeros, shared by every caller asking for the same shape and dtype.

    ``np.maximum(x, zeros)`` runs NumPy's contiguous SIMD loop: 0.06 ms on LeNet's
    (128, 24, 24, 6) conv1 output, against 0.16 ms for ``np.maximum(x, 0)``.
    """
    array = np.zeros(shape, dtype=dtype)
    array.flags.writeable = False
    return array
