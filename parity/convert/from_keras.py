"""``from_keras``: the NumPy twin of a Keras Sequential or Functional model.

The Keras config is translated layer by layer (``support.translate_layer``:
every option checked, all problems collected into one
``UnsupportedModelError``), rebuilt as a ``numpy_models`` graph, and every
weight copied by name and read back bit for bit (``parity.weights``). The
compiled loss (one per output for a list or a dict), loss weights and
optimizer, when present, become ``twin.loss``, ``twin.loss_weights`` and
``twin.optimizer`` (``None`` otherwise).
"""
import os

import numpy as np

import numpy_models as nm
from parity.convert.support import UnsupportedModelError, check_input, dtype_of, translate_layer


def _history(arg):
    if isinstance(arg, dict):
        return list(arg["config"]["keras_history"])
    return [_history(a) for a in arg]


def _io(histories):
    return [histories] if histories and isinstance(histories[0], str) else histories


def _inputs_entry(entry, dtype, problems, shapes=None):
    config = entry["config"]
    problems += check_input(config)
    batch_shape = (shapes or {}).get(config["name"], config["batch_shape"])
    return {"class_name": "InputLayer", "name": entry["name"], "inbound_nodes": [],
            "config": {"batch_shape": list(batch_shape), "dtype": dtype, "name": config["name"]}}


def _layer_entry(entry, dtype, problems):
    class_name, config = entry["class_name"], entry["config"]
    if class_name == "Functional":
        return {"class_name": "Functional", "config": _functional(config, dtype, problems)}
    if class_name == "Sequential":
        return {"class_name": "Sequential", "config": _sequential(config, dtype, problems)[0]}
    kwargs, found = translate_layer(class_name, config)
    problems += found
    return {"class_name": class_name, "config": {**(kwargs or {}), "name": config["name"]}}


def _functional(config, dtype, problems, shapes=None):
    """The NumPy Functional config; ``shapes`` ({input layer name: batch shape}) replaces the inputs' own."""
    layers = []
    for entry in config["layers"]:
        if entry["class_name"] == "InputLayer":
            layers.append(_inputs_entry(entry, dtype, problems, shapes))
            continue
        made = _layer_entry(entry, dtype, problems)
        for node in entry.get("inbound_nodes", []):
            # mask=None is the default; a recorded training flag is overridden by the model-level one
            # whenever Keras 3 Functional runs with training given (fit, predict, the twin's forward).
            if any(v is not None for k, v in node.get("kwargs", {}).items() if k != "training"):
                problems.append(f"{entry['class_name']} '{entry['name']}': call arguments {node['kwargs']} "
                                f"are not supported")
        made.update(name=entry["name"], inbound_nodes=[{"args": [_history(n["args"][0])]}
                                                       for n in entry.get("inbound_nodes", [])])
        layers.append(made)
    io = {}
    for key, what in (("input_layers", "inputs"), ("output_layers", "outputs")):
        if isinstance(config[key], dict):  # the twin's graph takes a tensor or a list (and a dict loss, layer names)
            problems.append(f"Functional '{config['name']}': {what} given as a dict are not supported (use a list). "
                            f"Received: {key}={config[key]!r}")
        io[key] = [] if isinstance(config[key], dict) else _io(config[key])
    return {"name": config["name"], "trainable": True, "layers": layers, **io}


def _sequential(config, dtype, problems):
    """(NumPy Sequential config, input shape or None)."""
    layers, shape = [], config.get("build_input_shape")
    for entry in config["layers"]:
        if entry["class_name"] == "InputLayer":
            problems += check_input(entry["config"])
            shape = entry["config"]["batch_shape"]
            continue
        layers.append(_layer_entry(entry, dtype, problems))
    return {"name": config["name"], "dtype": dtype, "layers": layers}, shape


def _keras_model(model_or_path):
    if isinstance(model_or_path, (str, os.PathLike)):
        from keras_models.functional import load_model
        return load_model(model_or_path)
    if not hasattr(model_or_path, "get_config") or not hasattr(model_or_path, "layers"):
        raise TypeError(f"from_keras: expected a keras.Model or a path to a .keras file. Received: {model_or_path!r}")
    return model_or_path


def variable_inputs(k_model):
    """[(input layer name, batch shape, [indices of its None dimensions])] for the inputs of ``k_model`` whose
    size is not fixed (``keras.Input((None, None, 3))``, ``keras.Input((None,), dtype="int32")``)."""
    found = []
    for tensor in getattr(k_model, "inputs", None) or []:
        shape = tuple(tensor.shape)
        dims = [i for i, d in enumerate(shape) if i and d is None]
        if dims:
            found.append((tensor._keras_history[0].name, shape, dims))
    return found


def _input_names_and_shapes(k_model):
    return [(t._keras_history[0].name, tuple(t.shape)) for t in getattr(k_model, "inputs", None) or []]


def _concrete_shapes(k_model, input_shapes):
    """{input layer name: batch shape} with the None dimensions of each input set from ``input_shapes`` (one
    per-sample shape per input, or one shape for a single input), or None when not given."""
    if input_shapes is None:
        return None
    inputs = _input_names_and_shapes(k_model)
    given = [input_shapes] if all(isinstance(d, (int, np.integer)) for d in input_shapes) else list(input_shapes)
    if len(given) != len(inputs):
        raise ValueError(f"from_keras: input_shapes needs one shape per model input ({len(inputs)}: "
                         f"{', '.join(n for n, _ in inputs)}). Received: input_shapes={input_shapes!r}")
    out = {}
    for (name, shape), want in zip(inputs, given, strict=True):
        want = tuple(want)
        fits = len(want) == len(shape) - 1 and all(
            isinstance(w, (int, np.integer)) and w >= 1 and d in (None, w) for w, d in zip(want, shape[1:], strict=True))
        if not fits:
            raise ValueError(f"from_keras: input_shapes for input '{name}' must be a shape (without the batch "
                             f"dimension) that fits its {shape}: positive sizes, equal where fixed. "
                             f"Received: {want!r}")
        out[name] = (shape[0],) + tuple(int(w) for w in want)
    return out


def _build(k_model, dtype, shapes=None):
    """The NumPy graph for ``k_model`` (weights not yet copied), or raise with every problem."""
    problems = []
    config = k_model.get_config()
    if type(k_model).__name__ == "Sequential":
        seq_config, shape = _sequential(config, dtype, problems)
        if shapes:  # a Sequential has one input
            shape = next(iter(shapes.values()))
        if not problems:
            twin = nm.model_from_config(seq_config)
            return twin.build(tuple(shape)) if shape else twin
    elif type(k_model).__name__ == "Functional" or "input_layers" in config:
        graph = _functional(config, dtype, problems, shapes)
        if not problems:
            return nm.model_from_config(graph)
    else:
        problems.append(f"{type(k_model).__name__} '{k_model.name}': subclassed models are not supported "
                        f"(only Sequential and Functional)")
    raise UnsupportedModelError(problems)


def compiled_loss_weights(k_model):
    """The ``loss_weights`` a Keras model was compiled with, as given (Keras keeps them only on its private
    CompileLoss); None when there are none."""
    return getattr(getattr(k_model, "_compile_loss", None), "_user_loss_weights", None)


def compiled_loss(k_model):
    """(NumPy loss or one per output, loss weights one per output or None) for a compiled Keras model.

    Dicts are read by output name as Keras reads them (``parity.convert.compile``); what the twin cannot
    reproduce is refused by name.
    """
    from keras_models import model_dtype  # imports TensorFlow
    from parity.convert.compile import numpy_loss, numpy_loss_weights

    names, loss = getattr(k_model, "output_names", None), getattr(k_model, "loss", None)
    n_outputs = len(k_model.outputs)
    return numpy_loss(loss, names, n_outputs, model_dtype(k_model)), \
        numpy_loss_weights(loss, compiled_loss_weights(k_model), names, n_outputs)


def _built(k_model, dtype, shapes):
    """``_build``; a model with inputs of variable size whose twin needs a concrete one (a convolution plans its
    windows when built) is refused naming the inputs, their None dimensions and ``input_shapes``."""
    try:
        return _build(k_model, dtype, shapes)
    except UnsupportedModelError:
        raise
    except (TypeError, ValueError) as exc:
        variable = variable_inputs(k_model)
        if shapes is not None or not variable:
            raise
        example = ", ".join(str(tuple(32 if d is None else d for d in shape[1:])) for _, shape, _ in variable)
        raise ValueError(f"from_keras: the twin of '{k_model.name}' needs a concrete size for "
                         f"{variable_words(variable)}: {str(exc).rstrip('.')}. Pass input_shapes=[{example}] or the like (one shape "
                         "per input, without the batch dimension); parity verify builds the twin on its data's shape "
                         "(--data, or x)") from exc


def variable_words(variable):
    """"input 'img' (shape (None, None, None, 3): dimensions 1, 2 are None)" for ``variable_inputs``."""
    return "; ".join(f"input '{name}' (shape {shape}: dimension{'s' if len(dims) > 1 else ''} "
                     f"{', '.join(map(str, dims))} {'are' if len(dims) > 1 else 'is'} None)"
                     for name, shape, dims in variable)


def from_keras(model_or_path, dtype=None, with_compiled=True, input_shapes=None):
    """The NumPy twin of a Keras model or ``.keras`` file, weights copied bit for bit.

    Args:
        model_or_path: a ``keras.Sequential``/functional ``keras.Model``, or a path to a saved one.
        dtype: 'float32'/'float64' for the twin; default the Keras model's own weight dtype.
        with_compiled: also convert the compiled loss and optimizer (False: the layers only; ``loss`` and
            ``optimizer`` are then None).
        input_shapes: for inputs of variable size (``keras.Input((None, None, 3))``): one shape per input,
            without the batch dimension (``[(32, 32, 3)]``; a single shape for one input), the twin is built
            for. Only None dimensions may differ from the model's. Default: the model's own shapes (a twin with
            None dimensions runs on any size where its layers allow it: Dense, Embedding, global pooling; one
            with a convolution or a pooling window is refused naming the input and asking for input_shapes).
    Returns:
        numpy_models.Model (or Sequential) with ``loss``/``loss_weights``/``optimizer`` attributes.
    Raises:
        UnsupportedModelError listing every layer/option that cannot be reproduced exactly;
        FileNotFoundError / ValueError for a missing or unreadable file, or input_shapes that do not fit.
    """
    from keras_models import model_dtype
    from parity.convert.compile import numpy_optimizer
    from parity.weights import keras_to_numpy

    k_model = _keras_model(model_or_path)
    own = str(np.dtype(model_dtype(k_model)))
    twin = _built(k_model, own, _concrete_shapes(k_model, input_shapes))
    if not twin.built:
        raise UnsupportedModelError([f"Sequential '{k_model.name}': not built (no input shape)"])
    keras_to_numpy(k_model, twin)
    if dtype is not None and str(np.dtype(dtype)) != own:
        twin.cast(dtype)
    compiled = with_compiled and getattr(k_model, "compiled", False)
    twin.loss, twin.loss_weights = compiled_loss(k_model) if compiled else (None, None)
    twin.optimizer = numpy_optimizer(k_model.optimizer) if compiled and k_model.optimizer is not None else None
    return twin


__all__ = ["UnsupportedModelError", "dtype_of", "from_keras", "variable_inputs"]
