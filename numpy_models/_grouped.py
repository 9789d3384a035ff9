"""Grouped convolution as one batched GEMM over groups.

Channels split into ``groups`` contiguous blocks; group g reads input channels
[g*Cg, (g+1)*Cg) and writes filters [g*Fg, (g+1)*Fg), as TF/Keras do. A
depthwise convolution is the special case groups = C_in, Cg = 1.

Shapes (KK = kh*kw, M = N*OH*OW, C = G*Cg, F = G*Fg):
    cols (M, KK*C) with columns in (kh, kw, C) order (the im2col of Conv2D)
    kernel (kh, kw, Cg, F) -> per-group matrices (G, KK*Cg, Fg)
"""
import numpy as np


def group_columns(cols, kk, groups):
    """(M, KK*C) im2col -> (G, M, KK*Cg): one contiguous GEMM operand per group (a copy)."""
    m = cols.shape[0]
    cg = cols.shape[1] // (kk * groups)
    return np.ascontiguousarray(cols.reshape(m, kk, groups, cg).transpose(2, 0, 1, 3)).reshape(groups, m, kk * cg)


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
    dz3 = dz2.reshape(-1, groups, f // groups).transpose(1, 0, 2)  # (G, M, Fg)
    dk = np.matmul(gcols.transpose(0, 2, 1), dz3)  # (G, KK*Cg, Fg)
    return np.ascontiguousarray(dk.reshape(groups, kh * kw, cg, f // groups).transpose(1, 2, 0, 3)).reshape(kernel_shape)


def offset_blocks(dz2, kernel, groups):
    """Gradient reaching each kernel offset's input slice: (KK, M, C) = per-group dz_g @ kernel_g^T."""
    kh, kw, cg, f = kernel.shape
    dz3 = dz2.reshape(-1, groups, f // groups).transpose(1, 0, 2)  # (G, M, Fg)
    dcols = np.matmul(dz3, group_kernel(kernel, groups).transpose(0, 2, 1))  # (G, M, KK*Cg)
    m = dz2.shape[0]
    return np.ascontiguousarray(dcols.reshape(groups, m, kh * kw, cg).transpose(2, 1, 0, 3)).reshape(kh * kw, m, -1)
