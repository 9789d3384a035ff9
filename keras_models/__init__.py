"""Keras twins built from the same layer configs as the NumPy models.

Stock Keras only: this package translates configs into ``keras.layers`` calls
and runs them under ``tf.GradientTape``; it holds no math of its own.
"""
from keras_models.build import build_sequential, keras_dtype
from keras_models.runtime import forward, forward_backward, loss_and_gradients

__all__ = ["build_sequential", "forward", "forward_backward", "keras_dtype", "loss_and_gradients"]
