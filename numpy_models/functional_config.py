"""A functional Model as a Keras-like config, back again, and its summary table.

Parity: ``keras.Model.get_config()`` for Functional models: ``layers`` in
Keras order, each with ``class_name``, ``config``, ``name`` and
``inbound_nodes`` (``{"args": [history]}``, a list of histories for merge
layers; a history is ``[layer name, node index, tensor index]`` counted within
this model), plus ``input_layers`` and ``output_layers``.
"""


def _model_nodes(model):
    """{node: index among the layer's nodes that belong to this model} (Keras renumbers the same way)."""
    counts, index = {}, {}
    for layer in model.layers:
        for node in layer._inbound_nodes:
            if node.is_input or node in model._nodes:
                index[node] = counts.get(layer, 0)
                counts[layer] = index[node] + 1
    return index


def _history(tensor, index):
    layer, node_index, tensor_index = tensor._keras_history
    return [layer.name, index[layer._inbound_nodes[node_index]], tensor_index]


def get_config(model):
    index = _model_nodes(model)
    layers = []
    for layer in model.layers:
        nodes = [n for n in layer._inbound_nodes if n in index and not n.is_input]
        inbound = [{"args": [[_history(t, index) for t in n.inputs] if n.list_input else _history(n.inputs[0], index)]}
                   for n in nodes]
        class_name = "Functional" if type(layer).__name__ == "Model" else type(layer).__name__
        layers.append({"class_name": class_name, "config": layer.get_config(), "name": layer.name,
                       "inbound_nodes": inbound})
    return {"name": model.name, "trainable": model.trainable, "layers": layers,
            "input_layers": [_history(t, index) for t in model.inputs],
            "output_layers": [_history(t, index) for t in model.outputs]}


def _make_layer(entry):
    from numpy_models.functional import Model
    from numpy_models.registry import layer_from_config
    from numpy_models.sequential import Sequential
    from numpy_models.symbolic import Input

    class_name, config = entry["class_name"], dict(entry["config"])
    if class_name == "InputLayer":
        return Input(tuple(config["batch_shape"][1:]), name=config["name"], dtype=config.get("dtype"))
    if class_name == "Functional":
        return Model.from_config(config)
    if class_name == "Sequential":
        return Sequential.from_config(config)
    name = config.pop("name")
    return layer_from_config(class_name, config, name)


def from_config(config):
    """Rebuild the graph: create every layer, then replay its calls once their inputs exist."""
    from numpy_models.functional import Model
    from numpy_models.symbolic import KerasTensor

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


def summary_lines(model):
    """Keras's summary table: Layer (type), Output Shape, Param #, Connected to."""
    index = _model_nodes(model)
    widths = (28, 22, 10, 30)
    head = ("Layer (type)", "Output Shape", "Param #", "Connected to")
    rule = "-" * sum(widths)
    lines = [f'Model: "{model.name}"', rule, _row(head, widths), "=" * sum(widths)]
    for layer in model.layers:
        nodes = [n for n in layer._inbound_nodes if n in index]
        sources = [f"{h[0]}[{h[1]}][{h[2]}]" for n in nodes for h in (_history(t, index) for t in n.inputs)]
        count = sum(v.size for v in layer.params.values()) + sum(v.size for v in layer.state.values())
        shape = nodes[0].outputs[0].shape if nodes else layer.output_shape
        lines.append(_row((f"{layer.name} ({_type_name(layer)})", str(shape), str(count),
                           ", ".join(sources) or "-"), widths))
    total = sum(v.size for v in model.weights.values())
    trainable = sum(v.size for v in model.params.values())
    lines += [rule, f" Total params: {total}", f" Trainable params: {trainable}",
              f" Non-trainable params: {total - trainable}"]
    return lines


def _type_name(layer):
    return "Functional" if type(layer).__name__ == "Model" else type(layer).__name__


def _row(cells, widths):
    cells = [str(c).ljust(w) if i != 2 else str(c).rjust(w - 2) + "  "  # Param # is right-aligned
             for i, (c, w) in enumerate(zip(cells, widths, strict=True))]
    return "".join(cells)
