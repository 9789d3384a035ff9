"""NumPy reference implementations of Keras layers, losses and optimizers.

Pure NumPy (and SciPy special functions): this package never imports
TensorFlow or Keras.
"""
from numpy_models import activations, initializers, losses, optimizers, regularizers
from numpy_models.base import Layer
from numpy_models.core import Activation, Dense, Flatten
from numpy_models.registry import LAYERS, build_sequential
from numpy_models.sequential import Sequential

__all__ = ["Activation", "Dense", "Flatten", "Layer", "LAYERS", "Sequential", "activations",
           "build_sequential", "initializers", "losses", "optimizers", "regularizers"]
