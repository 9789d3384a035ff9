"""The data a verify runs on: the user's arrays, or random inputs and targets suited to the loss.

Random arrays come from ``parity.random_streams`` (inputs: "batch_inputs",
targets: "batch_targets", upstream gradients: "upstream_gradient"), so the same
seed gives the same numbers.
"""
import numpy as np

from parity.random_streams import generator

DEFAULT_BATCH = 4


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _shapes(tensors, batch):
    return [(batch,) + tuple(t.shape[1:]) for t in tensors]


def _target(loss, shape, rng, dtype):
    """A target of ``shape`` that ``loss`` accepts: one-hot, class indices, 0/1, or standard normal."""
    name = type(loss).__name__
    if name == "CategoricalCrossentropy":
        return np.eye(shape[-1], dtype=dtype)[rng.integers(0, shape[-1], shape[:-1])]
    if name == "SparseCategoricalCrossentropy":
        return rng.integers(0, shape[-1], shape[:-1]).astype(dtype)
    if name == "BinaryCrossentropy":
        return rng.integers(0, 2, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def arrays(k_model, losses, dtype, x=None, y=None, batch=None, seed=0):
    """(xs, ys, douts): lists, one array per model input / output, ``batch`` rows (default all, or 4 if random)."""
    if x is None:
        rng = generator("batch_inputs", seed)
        xs = [rng.standard_normal(s).astype(dtype) for s in _shapes(k_model.inputs, batch or DEFAULT_BATCH)]
    else:
        xs = [np.asarray(a, dtype=dtype)[:batch] for a in _as_list(x)]
    n = xs[0].shape[0]
    out_shapes = _shapes(k_model.outputs, n)
    if y is None:
        rng = generator("batch_targets", seed)
        losses = losses if isinstance(losses, (list, tuple)) else [losses] * len(out_shapes)
        ys = [_target(l, s, rng, dtype) for l, s in zip(losses, out_shapes, strict=True)]
    else:
        ys = [np.asarray(a, dtype=dtype)[:n] for a in _as_list(y)]
    rng = generator("upstream_gradient", seed)
    return xs, ys, [rng.standard_normal(s).astype(dtype) for s in out_shapes]
