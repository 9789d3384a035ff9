"""What every model shares, Sequential or functional: weights by Keras name, npz files, summary.

A model is a ``Layer`` (so it can be called inside another model) whose
``params``/``grads``/``state`` are flat dicts over its layers, keyed
"layer/weight"; a nested model adds its own name in front ("block/conv/kernel").
"""
import os

import numpy as np

from numpy_models._validation import standardize_dtype
from numpy_models.base import Layer


class ModelBase(Layer):
    """Base of ``Sequential`` and ``Model``; subclasses set ``self.layers``."""

    def _init_model(self, name, dtype):
        if not isinstance(name, str) or not name or "/" in name:
            raise ValueError(f"Model: name must be a non-empty string without '/'. Received: name={name!r}")
        self.name = name
        self.dtype = standardize_dtype(dtype, f"{type(self).__name__} '{name}'") if dtype else None
        self.trainable, self.built, self._cache = True, False, None
        self.compute_input_grad = True
        self.input_shape = self.output_shape = None
        self._inbound_nodes = []

    def _who(self):
        return f"{type(self).__name__} '{self.name}'"

    def get_layer(self, name):
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(f"{self._who()}: no layer named {name!r}. Layers: {[l.name for l in self.layers]}")

    # -- weights ----------------------------------------------------------------
    def _flat(self, attr):
        return {f"{l.name}/{k}": v for l in self.layers for k, v in getattr(l, attr).items()}

    @property
    def params(self):
        return self._flat("params")

    @property
    def grads(self):
        return self._flat("grads")

    @property
    def state(self):
        return self._flat("state")

    @property
    def weight_names(self):
        return [f"{l.name}/{n}" for l in self.layers for n in l.weight_names]

    @property
    def weights(self):
        """All weights, trainable and not, keyed "layer/weight" in Keras order."""
        return {k: self._weight(k) for k in self.weight_names}

    def _weight(self, key):
        first, rest = key.split("/", 1)
        return self.get_layer(first)._weight(rest)

    def set_weight(self, key, value):
        first, rest = key.split("/", 1)
        self.get_layer(first).set_weight(rest, value)

    def _require_built(self):
        if not self.built:
            raise RuntimeError(f"{self._who()}: call build(input_shape) before using the model.")

    def get_weights(self):
        self._require_built()
        return [w.copy() for w in self.weights.values()]

    def set_weights(self, weights):
        """Set all weights from a list in Keras order; the model takes their dtype."""
        self._require_built()
        expected = [(k, v.shape) for k, v in self.weights.items()]
        if len(weights) != len(expected):
            raise ValueError(f"{self._who()}: expected {len(expected)} weight arrays {[k for k, _ in expected]}. "
                             f"Received: {len(weights)} arrays")
        arrays = [np.asarray(w) for w in weights]
        dtypes = {a.dtype.name for a in arrays}
        if len(dtypes) > 1:
            raise TypeError(f"{self._who()}: all weights must share one float dtype. Received: dtypes={sorted(dtypes)}")
        for (key, shape), a in zip(expected, arrays, strict=True):
            if a.shape != shape:
                raise ValueError(f"Layer '{key.rsplit('/', 1)[0]}': weight '{key}' expects shape {shape}. "
                                 f"Received: shape={a.shape}")
        if dtypes and dtypes != {self.dtype}:
            self.cast(dtypes.pop())
        for (key, _), a in zip(expected, arrays, strict=True):
            self.set_weight(key, a)

    def cast(self, dtype):
        """Switch the model (weights and computation) to ``dtype``."""
        self.dtype = standardize_dtype(dtype, self._who())
        for layer in self.layers:
            layer.cast(self.dtype)

    # -- files --------------------------------------------------------------------
    def save_weights(self, path):
        """Write every weight to an ``.npz`` keyed "layer/weight" (Keras names)."""
        self._require_built()
        with open(path, "wb") as f:
            np.savez(f, **self.weights)

    def load_weights(self, path):
        """Read an ``.npz`` written by ``save_weights``; names, shapes and dtypes must all match."""
        self._require_built()
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{self._who()}: no weights file. Received: path={str(path)!r}")
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except Exception as exc:  # zipfile/pickle/format errors all mean the same to a user
            raise ValueError(f"{self._who()}: not a readable .npz weights file ({type(exc).__name__}: {exc}). "
                             f"Received: path={str(path)!r}") from None
        expected = self.weights
        missing, extra = sorted(set(expected) - set(arrays)), sorted(set(arrays) - set(expected))
        if missing or extra:
            raise ValueError(f"{self._who()}: weights file does not match the model: missing {missing}, "
                             f"unexpected {extra}. Received: path={str(path)!r}")
        for key, current in expected.items():
            a = arrays[key]
            if a.shape != current.shape or a.dtype != current.dtype:
                raise ValueError(f"{self._who()}: weight '{key}' expects shape {current.shape} and dtype "
                                 f"{current.dtype}. Received: shape={a.shape}, dtype={a.dtype}")
        for key in expected:
            self.set_weight(key, arrays[key])

    # -- regularization, inference ------------------------------------------------
    def regularization_loss(self):
        return sum((layer.regularization_loss() for layer in self.layers), 0.0)

    def add_regularization_gradients(self):
        for layer in self.layers:
            layer.add_regularization_gradients()

    def predict(self, x, batch_size=None):
        """Inference-mode forward, optionally in batches."""
        if batch_size is None:
            return self.forward(x)
        many = isinstance(x, (list, tuple))
        xs = list(x) if many else [x]
        batches = [[a[i:i + batch_size] for a in xs] for i in range(0, len(xs[0]), batch_size)]
        parts = [self.forward(b if many else b[0]) for b in batches]
        if isinstance(parts[0], list):
            return [np.concatenate(p) for p in zip(*parts, strict=True)]
        return np.concatenate(parts)

    def kink_signature(self):
        """Every layer's branch signature (ReLU sides, max-pool winners), for gradient checkers."""
        return [s for layer in self.layers for s in getattr(layer, "kink_signature", lambda: [])()]
