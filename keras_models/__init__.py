"""Keras twins built from the same layer configs as the NumPy models.

Stock Keras only: this package translates configs into ``keras.layers`` calls
and differentiates them with the running backend's autodiff (``autodiff``: TensorFlow,
JAX or PyTorch, fixed per process by ``KERAS_BACKEND``); it holds no math of its own. It owns
Keras's global state: every helper runs in the model's dtype (``keras_dtype``).
"""
from keras_models.build import build_sequential, keras_dtype, model_dtype
from keras_models.runtime import forward, forward_backward, loss_and_gradients, weight_keys
from keras_models.tracing import trace_any_batch
from keras_models.training import (build_callback, build_loss, callbacks_epoch_end, compile_model, evaluate,
                                   learning_rate, train_on_batch)

__all__ = ["build_callback", "build_loss", "callbacks_epoch_end", "learning_rate", "build_sequential", "compile_model", "evaluate", "forward", "forward_backward",
           "keras_dtype", "loss_and_gradients", "model_dtype", "trace_any_batch", "train_on_batch", "weight_keys"]
