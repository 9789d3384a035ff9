"""Convert whole models between Keras and numpy_models: ``from_keras``, ``to_keras``.

Importing this package does not import TensorFlow; the functions do on first use.
"""
from parity.convert.from_keras import from_keras
from parity.convert.support import UnsupportedModelError
from parity.convert.to_keras import keras_from_graph, keras_graph, to_keras

__all__ = ["UnsupportedModelError", "from_keras", "keras_from_graph", "keras_graph", "to_keras"]
