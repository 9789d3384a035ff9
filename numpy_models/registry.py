"""Layer classes by Keras class name, and building layers and models from their configs.

Parity: Keras resolves ``class_name`` through its serialisation registry; here ``LAYERS`` is that registry,
and ``model_from_config`` rebuilds a ``Model.get_config()`` / ``Sequential.get_config()`` (nested models too).
"""
from numpy_models import activation_layers, embedding, layer_normalization, maxout, pooling1d, reshaping, upsampling
from numpy_models import convolutional, core, normalization, pooling, regularization
from numpy_models import convolutional1d, depthwise, merging, separable, transposed
from numpy_models.functional import Model
from numpy_models.input_layer import Input
from numpy_models.sequential import Sequential
from numpy_models.symbolic import KerasTensor

LAYERS = {cls.__name__: cls for cls in (
    core.Dense, core.Activation, core.Flatten, convolutional.Conv2D, pooling.MaxPooling2D,
    pooling.AveragePooling2D, pooling.GlobalAveragePooling2D, normalization.BatchNormalization,
    regularization.Dropout)}
LAYERS.update({cls.__name__: cls for cls in (
    activation_layers.ReLU, activation_layers.LeakyReLU, activation_layers.PReLU, activation_layers.ELU,
    activation_layers.Softmax, layer_normalization.LayerNormalization, reshaping.ZeroPadding2D, reshaping.Cropping2D,
    reshaping.Reshape, reshaping.Permute, reshaping.RepeatVector, upsampling.UpSampling2D, pooling1d.MaxPooling1D,
    pooling1d.AveragePooling1D, pooling1d.GlobalMaxPooling1D, pooling1d.GlobalMaxPooling2D,
    pooling1d.GlobalAveragePooling1D, embedding.Embedding, regularization.SpatialDropout2D,
    regularization.GaussianNoise, maxout.Maxout)})
LAYERS.update({cls.__name__: cls for cls in (
    merging.Add, merging.Subtract, merging.Multiply, merging.Average, merging.Maximum, merging.Minimum,
    merging.Concatenate)})
LAYERS.update({cls.__name__: cls for cls in (
    depthwise.DepthwiseConv2D, separable.SeparableConv2D, transposed.Conv2DTranspose, convolutional1d.Conv1D)})


def layer_from_config(class_name, kwargs, name):
    if class_name not in LAYERS:
        raise ValueError(f"Unknown layer class for layer '{name}'. Expected one of {sorted(LAYERS)}. Received: class_name={class_name!r}")
    try:
        return LAYERS[class_name](**kwargs, name=name)
    except TypeError as exc:
        raise TypeError(f"Layer '{name}' ({class_name}): invalid arguments {sorted(kwargs)}: {exc}") from None


def build_sequential(layer_configs, input_shape, dtype="float32", seed=0, name="sequential"):
    """Build a NumPy Sequential from ``[(class_name, kwargs, name), ...]``."""
    layers = [layer_from_config(c, kw, n) for c, kw, n in layer_configs]
    return Sequential(layers, name=name, dtype=dtype).build((None,) + tuple(input_shape), seed=seed)


def model_from_config(config):
    """Rebuild a model from ``get_config()``: a Functional config (``layers`` with ``inbound_nodes``) or a
    Sequential one. Parity: ``keras.Model.from_config`` / ``keras.Sequential.from_config``."""
    if "input_layers" in config:
        return _functional_from_config(config)
    return _sequential_from_config(config)


def _sequential_from_config(config):
    layers = []
    for entry in config["layers"]:
        kwargs = dict(entry["config"])
        layers.append(_make_layer({"class_name": entry["class_name"], "config": kwargs}))
    model = Sequential(layers, name=config["name"], dtype=config.get("dtype"))
    shape = config.get("build_input_shape")  # built with seed 0: fresh weights, as Keras's, but the same every time
    return model.build(tuple(shape), seed=0) if shape else model


def _make_layer(entry):
    class_name, config = entry["class_name"], dict(entry["config"])
    if class_name == "InputLayer":
        return Input(tuple(config["batch_shape"][1:]), name=config["name"], dtype=config.get("dtype"))
    if class_name == "Functional":
        return _functional_from_config(config)
    if class_name == "Sequential":
        return _sequential_from_config(config)
    name = config.pop("name")
    return layer_from_config(class_name, config, name)


def _functional_from_config(config):
    """Rebuild the graph: create every layer, then replay its calls once their inputs exist."""
    tensors, pending = {}, []
    for entry in config["layers"]:
        made = _make_layer(entry)
        if isinstance(made, KerasTensor):
            tensors[(entry["name"], 0, 0)] = made
        else:
            pending += [(made, node_index, node["args"][0]) for node_index, node in enumerate(entry["inbound_nodes"])]
    while pending:
        ready = next((p for p in pending if _available(p[2], tensors)), None)
        if ready is None:
            raise ValueError(f"Model config '{config['name']}': layer calls whose inputs never appear: "
                             f"{sorted({p[0].name for p in pending})}")
        pending.remove(ready)
        layer, node_index, args = ready
        inputs = [tensors[tuple(h)] for h in args] if isinstance(args[0], list) else tensors[tuple(args)]
        outs = layer(inputs)
        for i, t in enumerate(outs if isinstance(outs, list) else [outs]):
            tensors[(layer.name, node_index, i)] = t
    pick = [tensors[tuple(h)] for h in config["output_layers"]]
    ins = [tensors[tuple(h)] for h in config["input_layers"]]
    return Model(ins if len(ins) > 1 else ins[0], pick if len(pick) > 1 else pick[0], name=config["name"])


def _available(args, tensors):
    histories = args if isinstance(args[0], list) else [args]
    return all(tuple(h) in tensors for h in histories)
