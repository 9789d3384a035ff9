"""Embedding: integer indices look up rows of a trainable matrix.

Parity: ``keras.layers.Embedding``: ``ops.take(embeddings, cast(x, int32), 0)``.
Float inputs are truncated toward zero (TF's cast), negative indices count
from the end (``ops.take``), anything outside [-input_dim, input_dim) is an
error (TF's gather on CPU raises too). The gradient to ``embeddings`` sums the
upstream rows of repeated indices (what TF's IndexedSlices become when made
dense); the input gets a zero gradient (Keras: none; indices are not
differentiable).
"""
import numpy as np

from numpy_models import initializers
from numpy_models._validation import refuse
from numpy_models.base import Layer, serialize_regularizer
from numpy_models.core import _ser_init


class Embedding(Layer):
    """``y[..., :] = embeddings[x[...]]``.

    Args:
        input_dim: vocabulary size (indices 0 .. input_dim - 1).
        output_dim: embedding size.
        embeddings_initializer: Keras default "uniform" (U[-0.05, 0.05]).
        embeddings_regularizer: a regularizer identifier or None.
        embeddings_constraint, mask_zero=True, weights, lora_rank, lora_alpha,
        quantization_config: refused.
    Shapes: x (N, ...) integer-valued -> y (N, ..., output_dim); embeddings (input_dim, output_dim).
    """

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, weights=None, lora_rank=None, lora_alpha=None,
                 quantization_config=None, name=None, dtype=None, trainable=True):
        super().__init__(name=name, dtype=dtype, trainable=trainable)
        refuse(self._who(), embeddings_constraint=embeddings_constraint, mask_zero=mask_zero, weights=weights,
               lora_rank=lora_rank, lora_alpha=lora_alpha, quantization_config=quantization_config)
        for arg, value in (("input_dim", input_dim), ("output_dim", output_dim)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{self._who()}: {arg} must be a positive integer. Received: {arg}={value!r}")
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self.embeddings_initializer = "random_uniform" if embeddings_initializer == "uniform" else embeddings_initializer
        initializers.get(self.embeddings_initializer, self._who())
        self.embeddings_regularizer = embeddings_regularizer

    def build(self, input_shape, rng=None):
        self.dtype = self.dtype or "float32"
        self.add_weight("embeddings", (self.input_dim, self.output_dim), self.embeddings_initializer, rng,
                        regularizer=self.embeddings_regularizer)
        super().build(input_shape, rng)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def _indices(self, x):
        idx = x.astype(np.int64)  # truncates toward zero, as TF's cast
        bad = (idx < -self.input_dim) | (idx >= self.input_dim)
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(f"{self._who()}: indices must lie in [0, {self.input_dim}). "
                             f"Received: input{list(where)}={float(x[where]):g}")
        return np.where(idx < 0, idx + self.input_dim, idx)

    def call(self, x, training=False):
        idx = self._indices(x)
        self._cache = (idx, x.shape)
        return self.params["embeddings"][idx]

    def backward_call(self, dout):
        idx, x_shape = self._cache
        grad = np.zeros_like(self.params["embeddings"])
        np.add.at(grad, idx.ravel(), dout.reshape(-1, self.output_dim))  # repeated indices accumulate
        self.grads["embeddings"] = grad
        return np.zeros(x_shape, dtype=dout.dtype)

    def kink_signature(self):
        """The looked-up rows: a finite-difference step that changes an index is a jump, not a slope."""
        return [] if self._cache is None else [self._cache[0]]

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim,
                "embeddings_initializer": _ser_init(self.embeddings_initializer),
                "embeddings_regularizer": serialize_regularizer(self, "embeddings"), "mask_zero": False}
