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
    """A target of ``shape`` that ``loss`` accepts: one-hot, class indices, 0/1, |standard normal| (MSLE's
    targets are >= 0: it clips the rest to its epsilon) or standard normal."""
    name = type(loss).__name__
    if name == "CategoricalCrossentropy":
        return np.eye(shape[-1], dtype=dtype)[rng.integers(0, shape[-1], shape[:-1])]
    if name == "SparseCategoricalCrossentropy":
        return rng.integers(0, shape[-1], shape[:-1]).astype(dtype)
    if name == "BinaryCrossentropy":
        return rng.integers(0, 2, shape).astype(dtype)
    if name == "MeanSquaredLogarithmicError":
        return np.abs(rng.standard_normal(shape)).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def _numbers(what, arrays, dtype):
    """The user's arrays in ``dtype``; one naming the array and its dtype when it holds no numbers (strings)."""
    out = []
    for i, a in enumerate(arrays):
        a = np.asarray(a)
        if a.dtype.kind not in "biuf":
            label = what if len(arrays) == 1 else f"{what}_{i}"
            raise ValueError(f"{label} must hold numbers (bool, integer or float); it holds {a.dtype} values. "
                             f"Received: {label}.dtype={a.dtype}")
        out.append(a.astype(dtype))
    return out


def tensor_names(tensors):
    """The layer names of a Keras model's input or output tensors."""
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


def _check_labels(ys, losses, outputs, names):
    """Refuse class indices a sparse loss cannot take (TensorFlow's own error is a 70-line traceback): a fraction, or
    a value outside [0, classes), the output's last dimension."""
    for i, (a, loss, out, name) in enumerate(zip(ys, losses, outputs, names, strict=True)):
        classes = out.shape[-1]
        if type(loss).__name__ != "SparseCategoricalCrossentropy" or classes is None or not a.size:
            continue
        label = "y" if len(ys) == 1 else f"y_{i}"
        what = (f"{label} (for '{name}') holds class indices for {type(loss).__name__}: whole numbers in "
                f"[0, {classes}) (the output has {classes} classes)")
        for bad, problem in (((a != np.round(a)), "not whole"), (((a < 0) | (a >= classes)), "outside the range")):
            where = np.argwhere(bad)
            if len(where):
                first = tuple(int(j) for j in where[0])
                raise ValueError(f"{what}; {len(where)} of {a.size} are {problem}. Received: "
                                 f"{label}[{', '.join(map(str, first))}]={a[first]:g} (values in [{a.min():g}, "
                                 f"{a.max():g}])")


def twin_input_shapes(k_model, x):
    """The per-sample input shapes to build the twin for: None when every input of ``k_model`` has a fixed size,
    x's when one has dimensions of variable size (x checked against the model's shapes first). Without x such a
    model is refused: random inputs need a size, and a twin with a convolution is built for one."""
    from parity.convert.from_keras import variable_inputs, variable_words

    variable = variable_inputs(k_model)
    if not variable:
        return None
    if x is None:
        raise ValueError(f"{variable_words(variable)}: random inputs need a concrete size. Pass data of the size "
                         "to verify on (--data d.npz, or parity.verify(model, x, y)): the twin is built on its shape. "
                         "Received: no data")
    xs = [np.asarray(a) for a in _as_list(x)]
    _check_rows("x", xs, [[s] for s in _shapes(k_model.inputs, len(xs[0]))], tensor_names(k_model.inputs))
    return [tuple(a.shape[1:]) for a in xs]


def arrays(k_model, losses, dtype, x=None, y=None, batch=None, seed=0):
    """(xs, ys, douts): lists, one array per model input / output, ``batch`` rows (default all, or 4 if random).

    The user's x and y are checked whole (as many rows, the model's shapes) before ``batch`` cuts them.
    """
    if x is None:
        rng = generator("batch_inputs", seed)
        xs = [rng.standard_normal(s).astype(dtype) for s in _shapes(k_model.inputs, batch or DEFAULT_BATCH)]
    else:
        xs = _numbers("x", _as_list(x), dtype)
        _check_rows("x", xs, [[s] for s in _shapes(k_model.inputs, len(xs[0]))], tensor_names(k_model.inputs))
    losses = losses if isinstance(losses, (list, tuple)) else [losses] * len(k_model.outputs)
    if y is not None:
        ys = _numbers("y", _as_list(y), dtype)
        _check_rows("y", ys, [_target_shapes(l, s) for l, s in zip(losses, _shapes(k_model.outputs, len(xs[0])),
                                                                      strict=True)], tensor_names(k_model.outputs))
        _check_labels(ys, losses, k_model.outputs, tensor_names(k_model.outputs))
    if batch is not None and batch > len(xs[0]):
        raise ValueError(f"batch: {batch} rows asked for, but x has {len(xs[0])}. Received: batch={batch}")
    xs = [a[:batch] for a in xs]
    out_shapes = _shapes(k_model.outputs, len(xs[0]))
    if y is None:
        rng = generator("batch_targets", seed)
        ys = [_target(l, s, rng, dtype) for l, s in zip(losses, out_shapes, strict=True)]
    else:
        ys = [a[:batch] for a in ys]
    rng = generator("upstream_gradient", seed)
    return xs, ys, [rng.standard_normal(s).astype(dtype) for s in out_shapes]


def check_indices(graph, xs, names):
    """Refuse indices out of range for an Embedding fed by a model input before either model runs (TensorFlow's
    own error is a long traceback). ``graph``: the twin as a graph (``layers.as_graph``); ``names``: the input
    layers' names. Negative indices down to -input_dim count from the end, as Keras's ``ops.take``."""
    fed = {id(t): (x, name) for t, x, name in zip(graph.inputs, xs, names, strict=True)}
    for node in graph._nodes:
        if type(node.layer).__name__ != "Embedding":
            continue
        for t in node.inputs:
            if id(t) in fed:
                _check_range(node.layer, *fed[id(t)], len(xs))


def _check_range(layer, x, name, n_inputs):
    n = layer.input_dim
    idx = np.asarray(x).astype(np.int64)  # truncates toward zero, as the layers' cast
    bad = np.argwhere((idx < -n) | (idx >= n))
    if len(bad):
        where = tuple(int(i) for i in bad[0])
        label = "x" if n_inputs == 1 else f"x for '{name}'"
        raise ValueError(f"Layer '{layer.name}' (Embedding, input_dim={n}) takes indices in [0, {n}) (negative ones "
                         f"from -{n} count from the end); {label} holds {np.count_nonzero((idx < -n) | (idx >= n))} "
                         f"outside. Received: {label}{list(where)}={float(np.asarray(x)[where]):g}")
