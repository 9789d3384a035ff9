"""Hints: what the model itself (the twin's graph) says about a verify's numbers, as rows of data.

``softmax_one_unit``: a softmax over an axis of size 1 (``Dense(1, activation="softmax")``, or a ``Softmax`` /
``Activation("softmax")`` whose axis has one entry) outputs 1.0 whatever its input, so every gradient through it
is 0 in exact arithmetic; Keras's float32 softmax may give 1 - 2**-24, and a gradient check then compares its
round-off with the twin's exact zeros (max_rel 1). The verdict stands; the hint says why and what to fix.
"""
import numpy_models as nm

from parity.verify.result import SOFTMAX_ONE_UNIT_ADVICE


def _softmax_axes(layer):
    """The axes a layer takes a softmax over (a ``Softmax``'s own; an activation's: the output's last), else ()."""
    if isinstance(layer, nm.Softmax):
        return layer._axes_tuple()
    return (-1,) if getattr(layer, "activation", None) == "softmax" else ()


def _softmax_one_unit(nodes, prefix=""):
    """A hint row per node (nested models' too, named "model/node") taking a softmax over axes of size 1."""
    rows = []
    for node in nodes:
        if hasattr(node.layer, "_nodes"):  # a nested model: its own layers (its `activation` is its last layer's)
            rows += _softmax_one_unit(node.layer._nodes, f"{prefix}{node.name}/")
            continue
        axes = () if node.is_input else _softmax_axes(node.layer)
        shape = node.outputs[0].shape if axes else ()
        if axes and all(shape[a] == 1 for a in axes):  # a softmax keeps its input's shape
            name = prefix + node.name
            rows.append({"kind": "softmax_one_unit", "node": name, "layer": type(node.layer).__name__,
                         "axis": list(axes) if len(axes) > 1 else axes[0],
                         "advice": SOFTMAX_ONE_UNIT_ADVICE.format(node=name, layer=type(node.layer).__name__)})
    return rows


def model_hints(graph):
    """The hint rows of a twin graph (``layers.as_graph``), in its node order."""
    return _softmax_one_unit(graph._nodes)
