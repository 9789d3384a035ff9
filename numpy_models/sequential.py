"""Sequential: a stack of layers with forward, backward and loss handling.

``params``, ``grads`` and ``state`` are flat dicts keyed ``"layer/weight"``
whose values are the layers' own arrays, so ``optimizer.update(model.params,
model.grads)`` updates the model in place.
"""
import numpy as np

from numpy_models._validation import as_float_array, check_shape
from numpy_models.model_base import ModelBase


class Sequential(ModelBase):
    """A linear stack of NumPy layers.

    Args:
        layers: list of layers (unique names).
        name: model name.
        dtype: 'float32' (default) or 'float64'; every layer is built in it.
    Parity: keras.Sequential. ``get_weights``/``set_weights`` use Keras's order.
    A special case of the functional graph: ``build`` also records the linear
    graph (``inputs``, ``outputs``), and a Sequential can be called as a layer
    inside a ``Model``; its own forward/backward walk the list directly.
    """

    def __init__(self, layers=None, name="sequential", dtype=None):
        self._init_model(name, dtype)
        self.layers = []
        for layer in layers or []:
            self.add(layer)
        self.built = False

    def add(self, layer):
        if not hasattr(layer, "forward") or not hasattr(layer, "backward"):
            raise TypeError(f"Sequential '{self.name}': expected a layer with forward/backward. Received: {layer!r}")
        if any(l.name == layer.name for l in self.layers):
            raise ValueError(f"Sequential '{self.name}': duplicate layer name. Received: name={layer.name!r}")
        self.layers.append(layer)

    # -- building ---------------------------------------------------------------
    def build(self, input_shape, seed=None, rng=None):
        """Build every layer; ``input_shape`` includes the batch axis, e.g. (None, 784)."""
        self.dtype = self.dtype or "float32"
        rng = rng if rng is not None else np.random.default_rng(seed)
        shape = (None,) + tuple(input_shape)[1:]
        self.input_shape = shape
        for layer in self.layers:
            layer.dtype = self.dtype
            layer.build(shape, rng)
            shape = layer.output_shape
        self.output_shape = shape
        self.built = True
        self._record_graph()
        return self

    def compute_output_shape(self, input_shape):
        return self.output_shape

    def _record_graph(self):
        """The linear graph Input -> layer_0 -> ... (what keras.Sequential builds too)."""
        from numpy_models.functional import map_graph
        from numpy_models.input_layer import Input

        h = Input(self.input_shape[1:], name=f"{self.name}_input", dtype=self.dtype)
        self.inputs = [h]
        for layer in self.layers:
            h = layer(h)
        self.outputs = [h]
        self._nodes = map_graph(self.inputs, self.outputs)[0]

    # -- computing --------------------------------------------------------------
    def forward(self, x, training=False, return_activations=False):
        """Run every layer. With ``return_activations`` also return each layer's output."""
        self._require_built()
        x = as_float_array(x, self.dtype, f"Sequential '{self.name}'")
        check_shape(x, self.input_shape, f"Sequential '{self.name}'")
        outputs = []
        for layer in self.layers:
            x = layer.call(x, training=training)
            outputs.append(x)
        self._output_shape_seen = x.shape
        return (x, outputs) if return_activations else x

    def call(self, x, training=False):
        """Forward as a layer of an enclosing model: keeps every layer's cache for ``backward_call``."""
        for layer in self.layers:
            x = layer.call(x, training=training)
        self._cache = [layer._cache for layer in self.layers]
        return x

    def backward_call(self, dout):
        for layer, cache in zip(self.layers, self._cache, strict=True):
            layer._cache = cache
        return self._backward_from(len(self.layers) - 1, dout, False, start_at_logits=False)

    def backward(self, dout, return_output_grads=False):
        """Backpropagate ``dout`` = dL/d(model output); fills grads, returns dx.

        With ``return_output_grads`` also return dL/d(output of each layer).
        """
        if not hasattr(self, "_output_shape_seen"):
            raise RuntimeError(f"Sequential '{self.name}': backward() called before forward().")
        dout = as_float_array(dout, self.dtype, f"Sequential '{self.name}'", "dout")
        check_shape(dout, self._output_shape_seen, f"Sequential '{self.name}'", "dout")
        return self._backward_from(len(self.layers) - 1, dout, return_output_grads, start_at_logits=False)

    def _backward_from(self, index, grad, return_output_grads, start_at_logits):
        output_grads = [None] * len(self.layers)
        if not start_at_logits:
            output_grads[index] = grad
        for i in range(index, -1, -1):
            layer = self.layers[i]
            if i == index and start_at_logits:
                grad = layer.backward_preactivation(grad)
            else:
                grad = layer.backward_call(grad)
            if i > 0:
                output_grads[i - 1] = grad
        return (grad, output_grads) if return_output_grads else grad

    # -- as the output layer of an enclosing model ---------------------------------
    # Keras's cross-entropy reads the cached logits of a nested model's output as of any softmax/sigmoid output.
    def _read_index(self):
        """Index of the layer whose output the loss sees: the last, back through layers that returned their
        input (the same tensor in Keras, cached logits and all). Uses the layers' current caches."""
        i = len(self.layers) - 1
        while i > 0 and self.layers[i].passes_input_through():
            i -= 1
        return i

    def _restore_caches(self):
        for layer, cache in zip(self.layers, self._cache, strict=True):
            layer._cache = cache

    @property
    def activation(self):
        """The read layer's activation (a cross-entropy after this model reads through to its logits)."""
        if self._cache is not None:
            self._restore_caches()
        return getattr(self.layers[self._read_index()], "activation", None)

    @property
    def logits(self):
        """The read layer's logits in this model's last ``call``."""
        self._restore_caches()
        return self.layers[self._read_index()].logits

    def backward_preactivation(self, dz):
        self._restore_caches()
        return self._backward_from(self._read_index(), dz, False, start_at_logits=True)

    # -- losses -----------------------------------------------------------------
    def _logits_for(self, loss):
        """(index, logits) of the read layer when Keras would read its logits for ``loss``, else (None, None)."""
        i = self._read_index()
        if hasattr(loss, "uses_logits_of") and loss.uses_logits_of(getattr(self.layers[i], "activation", None)):
            return i, self.layers[i].logits
        return None, None

    def regularization_loss(self):
        return sum((layer.regularization_loss() for layer in self.layers), 0.0)

    def compute_loss(self, loss, y_true, y_pred, sample_weight=None):
        """Data loss (Keras's logits path where it applies) plus regularization penalties.

        ``y_pred`` must be the output of this model's last ``forward``.
        """
        _, logits = self._logits_for(loss)
        if logits is not None:
            value = loss.logits_value_and_gradient(y_true, logits, sample_weight)[0]
        else:
            value = loss(y_true, y_pred, sample_weight)
        return value + self.regularization_loss()

    def backward_loss(self, loss, y_true, y_pred, sample_weight=None, return_output_grads=False,
                      need_input_grad=True):
        """Backward from ``compute_loss``: fills grads (incl. regularizers), returns dx.

        ``need_input_grad=False`` (a training step) lets the first layer skip dx
        and returns None, as Keras's train step does.
        """
        index, logits = self._logits_for(loss)
        first = self.layers[0]
        first.compute_input_grad = need_input_grad
        try:
            if logits is not None:
                _, grad = loss.logits_value_and_gradient(y_true, logits, sample_weight)
                result = self._backward_from(index, grad, return_output_grads, start_at_logits=True)
            else:
                grad = loss.gradient(y_true, y_pred, sample_weight)
                result = self._backward_from(len(self.layers) - 1, grad, return_output_grads, start_at_logits=False)
        finally:
            first.compute_input_grad = True
        for layer in self.layers:
            layer.add_regularization_gradients()
        return result

    def get_config(self):
        """Keras's Sequential config: name, dtype, layers, and ``build_input_shape`` once built (so that
        ``model_from_config`` gives a built model, as ``keras.Sequential.from_config`` does)."""
        config = {"name": self.name, "dtype": self.dtype,
                  "layers": [{"class_name": type(l).__name__, "config": l.get_config()} for l in self.layers]}
        if self.built:
            config["build_input_shape"] = list(self.input_shape)
        return config

    def summary(self):
        rows = [f"{l.name:<24}{type(l).__name__:<22}{str(l.output_shape):<20}{sum(v.size for v in l.params.values())}"
                for l in self.layers]
        return "\n".join([f"Model: {self.name} ({self.dtype})"] + rows)

