"""NumPy reference implementations of Keras layers, losses and optimizers.

Pure NumPy (and SciPy special functions): this package never imports
TensorFlow or Keras.
"""
from numpy_models import activations, conventions, initializers, losses, optimizers, regularizers
from numpy_models.activation_layers import ELU, LeakyReLU, PReLU, ReLU, Softmax
from numpy_models.base import Layer
from numpy_models.embedding import Embedding
from numpy_models.maxout import Maxout
from numpy_models.layer_normalization import LayerNormalization
from numpy_models.pooling1d import (AveragePooling1D, GlobalAveragePooling1D, GlobalMaxPooling1D,
                                    GlobalMaxPooling2D, MaxPooling1D)
from numpy_models.reshaping import Cropping2D, Permute, RepeatVector, Reshape, ZeroPadding2D
from numpy_models.upsampling import UpSampling2D
from numpy_models.convolutional import Conv2D
from numpy_models.convolutional1d import Conv1D
from numpy_models.depthwise import DepthwiseConv2D
from numpy_models.separable import SeparableConv2D
from numpy_models.transposed import Conv2DTranspose
from numpy_models.core import Activation, Dense, Flatten
from numpy_models.normalization import BatchNormalization
from numpy_models.pooling import AveragePooling2D, GlobalAveragePooling2D, MaxPooling2D
from numpy_models.regularization import Dropout, GaussianNoise, SpatialDropout2D
from numpy_models.registry import LAYERS, build_sequential, model_from_config
from numpy_models.sequential import Sequential
from numpy_models.functional import Model
from numpy_models.merging import Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract
from numpy_models.input_layer import Input
from numpy_models.symbolic import KerasTensor

__all__ = ["Activation", "AveragePooling2D", "BatchNormalization", "Conv2D", "Dense", "Dropout", "Flatten",
           "GlobalAveragePooling2D", "MaxPooling2D", "Layer", "LAYERS", "Sequential", "activations",
           "build_sequential", "initializers", "losses", "optimizers", "regularizers"]
__all__ += ["ELU", "LeakyReLU", "PReLU", "ReLU", "Softmax"]
__all__ += ["LayerNormalization"]
__all__ += ["Cropping2D", "Permute", "RepeatVector", "Reshape", "UpSampling2D", "ZeroPadding2D"]
__all__ += ["AveragePooling1D", "GlobalAveragePooling1D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "MaxPooling1D"]
__all__ += ["Embedding"]
__all__ += ["GaussianNoise", "SpatialDropout2D"]
__all__ += ["Maxout"]
__all__ += ["conventions"]
__all__ += ["Add", "Average", "Concatenate", "Input", "KerasTensor", "Maximum", "Minimum", "Model", "Multiply", "model_from_config",
            "Subtract"]
__all__ += ["Conv1D", "Conv2DTranspose", "DepthwiseConv2D", "SeparableConv2D"]
