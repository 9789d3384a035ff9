"""``to_keras``: a stock Keras model with the NumPy model's graph and identical weights.

The NumPy config becomes a graph description for ``keras_models.functional``
(which builds it with stock Keras layers); NumPy-only textbook variants
(``per_activation``, ``inverted=False``, symmetric padding, channels_first,
textbook initializers/regularizers) are refused. Weights are then copied by
name and read back bit for bit.
"""
from parity.convert.support import KERAS_LACKS, NUMPY_ONLY, RULES, UnsupportedModelError


def _identifier_problem(option, value):
    name = value.get("class_name") if isinstance(value, dict) else value
    return f"{option}={name!r} is a NumPy textbook variant" if isinstance(name, str) and "extbook" in name else None


def _keras_kwargs(class_name, config, problems):
    kwargs = {k: v for k, v in config.items() if k not in ("name", "dtype")}
    who = f"{class_name} '{config.get('name')}'"
    if class_name not in RULES:
        problems.append(f"{who}: a NumPy layer with no stock Keras class (convertible: {sorted(RULES)})")
        return kwargs
    for option, supported in {**NUMPY_ONLY, **KERAS_LACKS.get(class_name, {})}.items():
        if option in kwargs and kwargs.pop(option) != supported:
            problems.append(f"{who}: {option}={config[option]!r} has no stock Keras equivalent")
    if kwargs.get("data_format") not in (None, "channels_last"):
        problems.append(f"{who}: data_format={kwargs['data_format']!r} (the twin converts only channels_last)")
    if kwargs.get("padding") == "symmetric":
        problems.append(f"{who}: padding='symmetric' has no stock Keras equivalent")
    problems += [f"{who}: {p}" for p in (_identifier_problem(k, v) for k, v in kwargs.items()) if p]
    return kwargs


def _layer(entry, problems):
    class_name, config = entry["class_name"], entry["config"]
    if class_name == "Functional":
        return class_name, _graph(config, problems)
    if class_name == "Sequential":
        return class_name, _sequential(config, problems)
    return class_name, _keras_kwargs(class_name, config, problems)


def _graph(config, problems):
    layers = []
    for entry in config["layers"]:
        if entry["class_name"] == "InputLayer":
            layers.append({"class_name": "InputLayer", "name": entry["name"], "calls": [],
                           "kwargs": {"shape": entry["config"]["batch_shape"][1:]}})
            continue
        class_name, kwargs = _layer(entry, problems)
        layers.append({"class_name": class_name, "name": entry["name"], "kwargs": kwargs,
                       "calls": [node["args"][0] for node in entry["inbound_nodes"]]})
    return {"name": config["name"], "layers": layers, "inputs": config["input_layers"],
            "outputs": config["output_layers"]}


def _sequential(config, problems, input_shape=None):
    layers = [(e["class_name"], _layer(e, problems)[1], e["config"]["name"]) for e in config["layers"]]
    graph = {"name": config["name"], "layers": layers, "sequential": True}
    if input_shape is not None:
        graph["input_shape"] = list(input_shape[1:])
    return graph


def to_keras(np_model):
    """A stock ``keras.Model``/``keras.Sequential`` equal to ``np_model``, weights copied bit for bit.

    Raises:
        UnsupportedModelError listing every NumPy-only option that stock Keras lacks.
    """
    return keras_from_graph(keras_graph(np_model), np_model.dtype, np_model.weights)


def keras_graph(np_model):
    """The graph description ``keras_models.functional.build_functional`` builds ``np_model``'s Keras twin from
    (plain data: it crosses to other processes).

    Raises:
        UnsupportedModelError listing every NumPy-only option that stock Keras lacks.
    """
    import numpy_models as nm

    problems = []
    if isinstance(np_model, nm.Sequential):
        if not np_model.built:
            raise ValueError(f"to_keras: Sequential '{np_model.name}' is not built. Received: built=False")
        graph = _sequential(np_model.get_config(), problems, np_model.input_shape)
    elif isinstance(np_model, nm.Model):
        graph = _graph(np_model.get_config(), problems)
    else:
        raise TypeError(f"to_keras: expected a numpy_models Model or Sequential. Received: {np_model!r}")
    if problems:
        raise UnsupportedModelError(problems)
    return graph


def keras_from_graph(graph, dtype, weights):
    """The Keras model of a ``keras_graph`` description, holding ``weights`` ({"layer/weight": array}, read back)."""
    from keras_models.functional import build_functional
    from parity.weights import weights_to_keras

    k_model = build_functional(graph, dtype)
    weights_to_keras(weights, k_model)
    return k_model
