"""NumPy reference implementations of Keras layers, losses and optimizers.

Pure NumPy (and SciPy special functions): this package never imports
TensorFlow or Keras.
"""
from numpy_models import activations, initializers, losses, optimizers, regularizers
from numpy_models.base import Layer
from numpy_models.convolutional import Conv2D
from numpy_models.core import Activation, Dense, Flatten
from numpy_models.normalization import BatchNormalization
from numpy_models.pooling import AveragePooling2D, GlobalAveragePooling2D, MaxPooling2D
from numpy_models.regularization import Dropout
from numpy_models.registry import LAYERS, build_sequential
from numpy_models.sequential import Sequential

__all__ = ["Activation", "AveragePooling2D", "BatchNormalization", "Conv2D", "Dense", "Dropout", "Flatten",
           "GlobalAveragePooling2D", "MaxPooling2D", "Layer", "LAYERS", "Sequential", "activations",
           "build_sequential", "initializers", "losses", "optimizers", "regularizers"]
from numpy_models.convolutional1d import Conv1D  # noqa: E402
from numpy_models.depthwise import DepthwiseConv2D  # noqa: E402
from numpy_models.separable import SeparableConv2D  # noqa: E402
from numpy_models.transposed import Conv2DTranspose  # noqa: E402

__all__ += ["Conv1D", "Conv2DTranspose", "DepthwiseConv2D", "SeparableConv2D"]
