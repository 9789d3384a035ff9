"""Grouped convolution as one batched GEMM over groups.

Channels split into ``groups`` contiguous blocks; group g reads input channels
[g*Cg, (g+1)*Cg) and writes filters [g*Fg, (g+1)*Fg), as TF/Keras do. A
depthwise convolution is the special case groups = C_in, Cg = 1.

Shapes (KK = kh*kw, M = N*OH*OW, C = G*Cg, F = G*Fg):
    cols (M, KK*C) with columns in (kh, kw, C) order (the im2col of Conv2D)
    kernel (kh, kw, Cg, F) -> per-group matrices (G, KK*Cg, Fg)
"""
import numpy as np


def group_columns(view, groups):
    """Window view (N, OH, OW, KH, KW, C) -> (G, M, KK*Cg): one contiguous GEMM operand per group, one copy."""
    n, oh, ow, kh, kw, c = view.shape
    per_group = view.reshape(n, oh, ow, kh, kw, groups, c // groups).transpose(5, 0, 1, 2, 3, 4, 6)
    return np.ascontiguousarray(per_group).reshape(groups, n * oh * ow, kh * kw * (c // groups))


def group_kernel(kernel, groups):
    """(kh, kw, Cg, F) -> (G, KK*Cg, Fg)."""
    kh, kw, cg, f = kernel.shape
    per = kernel.reshape(kh * kw, cg, groups, f // groups).transpose(2, 0, 1, 3)
    return per.reshape(groups, kh * kw * cg, f // groups)


def forward(gcols, kernel, groups):
    """z (M, F) = per-group gcols[g] @ kernel_g, filters of group g contiguous."""
    z = np.matmul(gcols, group_kernel(kernel, groups))  # (G, M, Fg)
    return z.transpose(1, 0, 2).reshape(gcols.shape[1], -1)


def kernel_grad(gcols, dz2, kernel_shape, groups):
    """dkernel (kh, kw, Cg, F) = per-group gcols[g]^T @ dz_g."""
    kh, kw, cg, f = kernel_shape
    dz3 = _per_group(dz2, groups)
    dk = np.matmul(gcols.transpose(0, 2, 1), dz3)  # (G, KK*Cg, Fg)
    per_offset = dk.reshape(groups, kh * kw, cg, f // groups).transpose(1, 2, 0, 3)  # (KK, Cg, G, Fg)
    return np.ascontiguousarray(per_offset).reshape(kernel_shape)


def offset_blocks(dz2, kernel, groups, out_nhw):
    """Gradient reaching each kernel offset's input slice, per group: dz_g @ kernel_g^T.

    Returns (KK, N, OH, OW, G, Cg), to scatter into a (N, H, W, G, Cg) buffer; made contiguous because
    the scatter's strided adds are 3x slower on the transposed view than the copy costs.
    """
    kh, kw, cg, _ = kernel.shape
    dcols = np.matmul(_per_group(dz2, groups), group_kernel(kernel, groups).transpose(0, 2, 1))  # (G, M, KK*Cg)
    return np.ascontiguousarray(dcols.reshape((groups,) + tuple(out_nhw) + (kh * kw, cg)).transpose(4, 1, 2, 3, 0, 5))


def _per_group(dz2, groups):
    """(M, F) -> contiguous (G, M, Fg): NumPy's batched matmul only calls BLAS on contiguous-enough operands."""
    return np.ascontiguousarray(dz2.reshape(dz2.shape[0], groups, -1).transpose(1, 0, 2))


def block_diagonal(kernel, groups):
    """(kh, kw, Cg, F) -> the equivalent dense (kh, kw, C, F) kernel, zero outside each group's block.

    For a few groups one dense GEMM with G times the flops is faster than regrouping the
    columns (a transposing copy with a short contiguous run of Cg): see Conv2D's DENSE_GROUPS.
    """
    kh, kw, cg, f = kernel.shape
    dense = np.zeros((kh, kw, groups, cg, groups, f // groups), dtype=kernel.dtype)
    g = np.arange(groups)
    dense[:, :, g, :, g, :] = kernel.reshape(kh, kw, cg, groups, f // groups).transpose(3, 0, 1, 2, 4)
    return dense.reshape(kh, kw, groups * cg, f)


def diagonal_blocks(dense, groups):
    """Adjoint of ``block_diagonal``: the (kh, kw, Cg, F) kernel gradient from a dense one."""
    kh, kw, c, f = dense.shape
    g = np.arange(groups)
    blocks = dense.reshape(kh, kw, groups, c // groups, groups, f // groups)[:, :, g, :, g, :]  # (G, kh, kw, Cg, Fg)
    return np.ascontiguousarray(blocks.transpose(1, 2, 3, 0, 4)).reshape(kh, kw, c // groups, f)
