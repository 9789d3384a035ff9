"""A functional Model as a Keras-like config, and its summary table (``registry.model_from_config`` rebuilds it).

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
