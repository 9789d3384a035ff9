"""``Input`` and the ``InputLayer`` behind it: where a functional graph starts.

Parity: ``keras.Input(shape, name, dtype)`` and ``keras.layers.InputLayer``.
"""
import numpy as np

from numpy_models._validation import standardize_dtype
from numpy_models.base import Layer
from numpy_models.symbolic import KerasTensor, Node


class InputLayer(Layer):
    """The layer behind ``Input``: no weights, one node, no computation."""

    is_input_layer = True

    def __init__(self, batch_shape, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype or "float32")
        self.batch_shape = tuple(batch_shape)
        self.input_shape = self.output_shape = self.batch_shape
        self.built = True
        self._inbound_nodes = []

    def get_config(self):
        return {"batch_shape": list(self.batch_shape), "dtype": self.dtype, "name": self.name}


def Input(shape, name=None, dtype=None):  # noqa: N802 (Keras's name)
    """A symbolic model input of per-sample ``shape`` (no batch axis).

    Shapes: returns a KerasTensor of shape (None,) + shape.
    Parity: keras.Input(shape, name, dtype).
    """
    if not isinstance(shape, (tuple, list)) or not all(d is None or (isinstance(d, (int, np.integer)) and d > 0)
                                                       for d in shape):
        raise ValueError(f"Input: shape must be a tuple of positive integers (or None). Received: shape={shape!r}")
    dtype = standardize_dtype(dtype or "float32", f"Input '{name}'")
    layer = InputLayer((None,) + tuple(int(d) if d is not None else None for d in shape), name=name, dtype=dtype)
    tensor = KerasTensor(layer.batch_shape, dtype, (layer, 0, 0), name=layer.name)
    Node(layer, [], [tensor])
    return tensor
