"""The layer protocol every NumPy layer follows.

``build(input_shape, rng)`` creates the weights, ``forward(x, training)``
computes and caches what backward needs, ``backward(dout)`` fills ``grads`` and
returns ``dx``. Three dicts hold the arrays under Keras weight names:
``params`` (trainable), ``grads`` (same keys) and ``state`` (non-trainable,
e.g. BatchNormalization's moving statistics).

Public ``forward``/``backward`` validate their inputs and then call the
subclass's ``call``/``backward_call``; a ``Sequential`` validates once at the
model boundary and calls those directly.
"""
import collections
import re

import numpy as np

from numpy_models import initializers, regularizers
from numpy_models._validation import as_float_array, check_shape, standardize_dtype
from numpy_models.symbolic import call_symbolic, is_symbolic

_NAME_COUNTS = collections.Counter()


def _auto_name(cls_name):
    """Keras-style default names: dense, dense_1, dense_2, ..."""
    base = re.sub(r"(?<!^)(?=[A-Z][a-z])", "_", cls_name).lower().replace("2_d", "2d")
    count = _NAME_COUNTS[base]
    _NAME_COUNTS[base] += 1
    return base if count == 0 else f"{base}_{count}"


class Layer:
    def __init__(self, name=None, dtype=None, trainable=True):
        if name is not None and (not isinstance(name, str) or "/" in name or not name):
            raise ValueError(f"{type(self).__name__}: name must be a non-empty string without '/'. Received: name={name!r}")
        self.name = name or _auto_name(type(self).__name__)
        self.dtype = standardize_dtype(dtype, self._who()) if dtype is not None else None
        self.trainable = trainable
        self.params, self.grads, self.state = {}, {}, {}
        self.regularizers = {}  # weight name -> Regularizer
        self.built = False
        self.input_shape = None
        self.output_shape = None
        self._cache = None
        # False while a model trains its first layer: dx is then not needed (Keras skips it too).
        self.compute_input_grad = True

    def _who(self):
        return f"Layer '{getattr(self, 'name', '?')}' ({type(self).__name__})"

    def passes_input_through(self):
        """True when the last ``call`` returned its input unchanged.

        Parity: Keras then returns the very same tensor, so on TensorFlow a cross-entropy after it still reads
        the ``_keras_logits`` of the softmax/sigmoid before it (measured: linear Activation, Dropout and
        GaussianNoise at rate/stddev 0 or at inference; not Dropout/GaussianNoise adding noise in training).
        """
        return False

    # -- building -------------------------------------------------------------
    def build(self, input_shape, rng=None):
        """Create weights for ``input_shape`` (batch dimension first, may be None)."""
        self.dtype = self.dtype or "float32"
        self.input_shape = (None,) + tuple(input_shape)[1:]
        self.output_shape = self.compute_output_shape(self.input_shape)
        self.built = True

    def add_weight(self, name, shape, initializer, rng, trainable=True, regularizer=None):
        init = initializers.get(initializer, f"{self._who()} weight '{name}'")
        value = init(shape, dtype=self.dtype, rng=rng)
        (self.params if trainable else self.state)[name] = value
        if trainable:
            self.grads[name] = np.zeros_like(value)
        reg = regularizers.get(regularizer, f"{self._who()} weight '{name}'")
        if reg is not None:
            self.regularizers[name] = reg
        return value

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    # -- computing ------------------------------------------------------------
    def __call__(self, inputs, training=False):
        """On KerasTensors: record a graph node (``numpy_models.symbolic``); on arrays: ``forward``."""
        if is_symbolic(inputs):
            return call_symbolic(self, inputs)
        return self.forward(inputs, training=training)

    def forward(self, x, training=False):
        """Validate ``x`` (shape, dtype, finiteness), build if needed, then ``call``."""
        if not self.built:
            self.dtype = self.dtype or (np.asarray(x).dtype.name if np.asarray(x).dtype.kind == "f" else "float32")
            self.build(np.shape(x))
        x = as_float_array(x, self.dtype, self._who())
        check_shape(x, self.input_shape, self._who())
        y = self.call(x, training=training)
        self._last_output_shape = y.shape
        return y

    def backward(self, dout):
        """Validate ``dout`` against the last forward's output, then ``backward_call``."""
        if self._cache is None or not hasattr(self, "_last_output_shape"):
            raise RuntimeError(f"{self._who()}: backward() called before forward().")
        dout = as_float_array(dout, self.dtype, self._who(), "dout")
        check_shape(dout, self._last_output_shape, self._who(), "dout")
        return self.backward_call(dout)

    def call(self, x, training=False):
        raise NotImplementedError

    def backward_call(self, dout):
        raise NotImplementedError

    # -- regularization -------------------------------------------------------
    def regularization_loss(self):
        """Sum of the penalties of this layer's regularized weights (Keras ``layer.losses``)."""
        return sum((reg(self.params[n]) for n, reg in self.regularizers.items()), 0.0)

    def add_regularization_gradients(self):
        for n, reg in self.regularizers.items():
            self.grads[n] += reg.gradient(self.params[n])

    # -- weights --------------------------------------------------------------
    @property
    def weight_names(self):
        """Keras order: trainable weights first, then non-trainable."""
        return list(self.params) + list(self.state)

    def get_weights(self):
        return [self._weight(n).copy() for n in self.weight_names]

    def _weight(self, name):
        return self.params[name] if name in self.params else self.state[name]

    def set_weights(self, weights):
        """Copy ``weights`` (Keras order) in; shapes must match exactly."""
        names = self.weight_names
        if len(weights) != len(names):
            raise ValueError(
                f"{self._who()}: expected {len(names)} weights {names}. Received: {len(weights)} arrays"
            )
        for n, w in zip(names, weights, strict=True):
            self.set_weight(n, w)

    def set_weight(self, name, value):
        current = self._weight(name)
        value = np.asarray(value)
        if value.shape != current.shape:
            raise ValueError(
                f"{self._who()}: weight '{name}' expects shape {current.shape}. "
                f"Received: shape={value.shape}"
            )
        if value.dtype.name != self.dtype:
            raise TypeError(
                f"{self._who()}: weight '{name}' expects dtype {self.dtype}. "
                f"Received: dtype={value.dtype}"
            )
        current[...] = value  # in place: model.params views stay valid

    def cast(self, dtype):
        """Switch every weight (and future computation) to ``dtype``."""
        self.dtype = standardize_dtype(dtype, self._who())
        for store in (self.params, self.grads, self.state):
            for n in store:
                store[n] = store[n].astype(self.dtype)

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} output_shape={self.output_shape}>"


def serialize_regularizer(layer, weight):
    return regularizers.serialize(layer.regularizers.get(weight))
