"""Symbolic tensors, nodes and ``Input``: how a functional graph is recorded.

Calling a layer on a ``KerasTensor`` (or a list of them, for merge layers)
builds the layer for the tensor's shape, records a ``Node`` (the layer, the
tensors it consumed and the ones it produced) and returns new symbolic
tensors. ``Model(inputs, outputs)`` walks these nodes back from its outputs.

Parity: ``keras.Input`` / ``keras.KerasTensor`` (``shape`` with a None batch
axis, ``dtype``, ``_keras_history = (layer, node_index, tensor_index)``) and
Keras's ``Node``; a layer called several times has several nodes (a shared
layer). Weights are created when the layer is first called, from a generator
seeded by the layer's name, so the same graph gives the same numbers.
"""
import zlib

import numpy as np



class KerasTensor:
    """A placeholder for an array: its shape (batch axis None), dtype and producer."""

    def __init__(self, shape, dtype, history, name=None):
        self.shape = tuple(shape)
        self.dtype = dtype
        self._keras_history = history  # (layer, node_index, tensor_index)
        self.name = name

    @property
    def node(self):
        layer, node_index, _ = self._keras_history
        return layer._inbound_nodes[node_index]

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"


class Node:
    """One call of ``layer`` on ``inputs`` (KerasTensors) giving ``outputs``."""

    def __init__(self, layer, inputs, outputs, list_input=False):
        self.layer, self.inputs, self.outputs = layer, list(inputs), list(outputs)
        self.list_input = list_input  # the layer was called on a list (merge layers)
        self.index = len(layer._inbound_nodes)
        layer._inbound_nodes.append(self)

    @property
    def is_input(self):
        return getattr(self.layer, "is_input_layer", False)

    @property
    def parents(self):
        return [t.node for t in self.inputs]

    @property
    def name(self):
        """The node's label in reports: the layer name, with ``@k`` for the k-th call of a shared layer."""
        return self.layer.name if self.index == 0 else f"{self.layer.name}@{self.index}"


def is_symbolic(x):
    if isinstance(x, KerasTensor):
        return True
    return isinstance(x, (list, tuple)) and len(x) > 0 and all(isinstance(t, KerasTensor) for t in x)


def _seeded_rng(layer):
    """Deterministic initial weights: a generator seeded by the layer's name."""
    return np.random.default_rng(zlib.crc32(layer.name.encode()))


def call_symbolic(layer, inputs):
    """Record ``layer(inputs)``: build on first call, check shapes on later ones, return the output tensor(s)."""
    tensors = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    multi = isinstance(inputs, (list, tuple))
    shapes = [t.shape for t in tensors] if multi else tensors[0].shape
    if not hasattr(layer, "_inbound_nodes"):
        layer._inbound_nodes = []
    if not layer.built:
        layer.dtype = layer.dtype or tensors[0].dtype
        layer.build(shapes, rng=_seeded_rng(layer))
    else:
        _check_reuse(layer, shapes)
    out_shapes = layer.compute_output_shape(shapes)
    many = getattr(layer, "multiple_outputs", False)
    outs = [KerasTensor(s, layer.dtype, (layer, len(layer._inbound_nodes), i))
            for i, s in enumerate(out_shapes if many else [out_shapes])]
    Node(layer, tensors, outs, list_input=multi)
    return outs if many else outs[0]


def _check_reuse(layer, shapes):
    """A shared layer's later calls must fit the weights built by its first call."""
    def compatible(a, b):
        return len(a) == len(b) and all(x is None or y is None or x == y for x, y in zip(a, b, strict=True))
    expected = layer.input_shape
    pairs = list(zip(expected, shapes, strict=False)) if isinstance(shapes, list) else [(expected, shapes)]
    if isinstance(shapes, list) != isinstance(expected, list) or not all(compatible(a, b) for a, b in pairs):
        raise ValueError(f"{layer._who()}: a shared layer must be called on inputs of the shape it was built for "
                         f"{expected}. Received: input_shape={shapes}")
