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


def _layer_names(tensors):
    return [t._keras_history[0].name for t in tensors]


def _target_shapes(loss, shape):
    """The target shapes ``loss`` accepts for an output of ``shape``: class indices for the sparse loss."""
    if type(loss).__name__ == "SparseCategoricalCrossentropy":
        return [shape[:-1], shape[:-1] + (1,)]
    return [shape]


def _fits(shape, expected):
    """Does ``shape`` match ``expected``, whose None dimensions (a variable size) match any size?"""
    return len(shape) == len(expected) and all(e is None or e == d for d, e in zip(shape, expected, strict=True))


def _check_rows(what, given, expected, names):
    """Refuse a wrong count or shape of user arrays (Keras's own error comes later, deep in a traceback)."""
    if len(given) != len(expected):
        raise ValueError(f"{what}: the model has {len(expected)} {'inputs' if what == 'x' else 'outputs'} "
                         f"({', '.join(names)}), so {what} needs {len(expected)} arrays. Received: {len(given)} arrays")
    for i, (a, shapes, name) in enumerate(zip(given, expected, names, strict=True)):
        label = what if len(given) == 1 else f"{what}_{i}"
        if not any(_fits(a.shape, shape) for shape in shapes):
            rows = "rows" if what == "x" else "as many rows as x"
            raise ValueError(f"{label} (for '{name}') must have shape {' or '.join(map(str, shapes))} ({rows}, "
                             f"then the model's shape). Received: {label}.shape={a.shape}")


def arrays(k_model, losses, dtype, x=None, y=None, batch=None, seed=0):
    """(xs, ys, douts): lists, one array per model input / output, ``batch`` rows (default all, or 4 if random).

    The user's x and y are checked whole (as many rows, the model's shapes) before ``batch`` cuts them.
    """
    if x is None:
        rng = generator("batch_inputs", seed)
        xs = [rng.standard_normal(s).astype(dtype) for s in _shapes(k_model.inputs, batch or DEFAULT_BATCH)]
    else:
        xs = [np.asarray(a, dtype=dtype) for a in _as_list(x)]
        _check_rows("x", xs, [[s] for s in _shapes(k_model.inputs, len(xs[0]))], _layer_names(k_model.inputs))
    losses = losses if isinstance(losses, (list, tuple)) else [losses] * len(k_model.outputs)
    if y is not None:
        ys = [np.asarray(a, dtype=dtype) for a in _as_list(y)]
        _check_rows("y", ys, [_target_shapes(l, s) for l, s in zip(losses, _shapes(k_model.outputs, len(xs[0])),
                                                                      strict=True)], _layer_names(k_model.outputs))
    xs = [a[:batch] for a in xs]
    out_shapes = _shapes(k_model.outputs, len(xs[0]))
    if y is None:
        rng = generator("batch_targets", seed)
        ys = [_target(l, s, rng, dtype) for l, s in zip(losses, out_shapes, strict=True)]
    else:
        ys = [a[:batch] for a in ys]
    rng = generator("upstream_gradient", seed)
    return xs, ys, [rng.standard_normal(s).astype(dtype) for s in out_shapes]
