"""Run a Keras model forward and backward with the backend's own autodiff (``keras_models.autodiff``).

Layers are called one by one so every layer's output, and the gradient with
respect to it, can be compared with the NumPy twin. Calling the layers in
order is exactly what ``keras.Sequential.call`` does; the last layer's output
keeps its cached logits, so Keras's logits path for cross-entropies still
applies (TensorFlow; the other backends have no such path).
"""
import keras
import numpy as np

from keras_models.autodiff import differentiate
from keras_models.backend import BACKEND
from keras_models.build import keras_dtype, model_dtype


def _run_layers(model, x, training, taps=None):
    outputs = []
    h = x
    for i, layer in enumerate(model.layers):
        h = layer(h, training=training)
        if taps is not None:
            h = h + taps[i]  # JAX differentiates with respect to the (zero) tap: dL/d(output of layer i)
        outputs.append(h)
    return outputs


def weight_keys(model):
    """(key "layer/weight", variable) for every trainable variable, in model order."""
    return [(f"{layer.name}/{v.name}", v) for layer in model.layers for v in layer.trainable_weights]


def read_values(variables):
    """Each variable's value as a NumPy array (a copy), all read by one operation on TensorFlow.

    Reading a variable alone costs about 70 us of eager overhead; the optimizer checks read every
    parameter and slot after every step. An identity copies the bits.
    """
    variables = list(variables)
    if BACKEND != "tensorflow" or not variables:
        return [v.numpy() for v in variables]
    import tensorflow as tf

    return [np.array(t) for t in tf.identity_n([v.value for v in variables])]


def forward(model, x, training=False):
    """Per-layer outputs as NumPy arrays (last one is the model output)."""
    with keras_dtype(model_dtype(model)):
        xt = keras.ops.convert_to_tensor(_cast(x, model_dtype(model)))
        return [keras.ops.convert_to_numpy(o) for o in _run_layers(model, xt, training)]


def _cast(x, dtype):
    """Float inputs in the model's dtype; integer inputs (Embedding indices) unchanged."""
    x = np.asarray(x)
    return x.astype(dtype) if x.dtype.kind == "f" else x


def _gradients(model, x, training, objectives):
    """Run the model layer by layer once and differentiate each of ``objectives(outputs)``: a result per objective."""
    dtype = model_dtype(model)
    with keras_dtype(dtype):
        keyed = weight_keys(model)
        refs = differentiate([v for _, v in keyed], [_cast(x, dtype)],
                             lambda xs, taps: _run_layers(model, xs[0], training, taps), list(objectives),
                             state=model.non_trainable_variables)
    return [_named(ref, keyed, x, dtype) for ref in refs]


def _named(ref, keyed, x, dtype):
    dx = ref["dxs"][0]
    return {
        "outputs": ref["outputs"],
        "value": ref["value"],
        "dx": np.zeros(np.shape(x), dtype) if dx is None else dx,  # None: integer inputs (Embedding)
        "grads": {k: np.zeros(v.shape, v.dtype) if g is None else g  # None: variable does not influence the target
                  for (k, v), g in zip(keyed, ref["grads"], strict=True)},
        "output_grads": ref["output_grads"],
    }


def _upstream(model, dout):
    """The objective ``sum(output * dout)``."""
    with keras_dtype(model_dtype(model)):
        dout_t = keras.ops.convert_to_tensor(np.asarray(dout, dtype=model_dtype(model)))
    return lambda outs: keras.ops.sum(outs[-1] * dout_t)


def _loss(model, loss_fn, y_true):
    """The objective ``loss_fn(y_true, output) + sum(model.losses)``."""
    dtype = model_dtype(model)
    with keras_dtype(dtype):
        y_t = keras.ops.convert_to_tensor(_cast(y_true, dtype))

    def objective(outs):
        total = loss_fn(y_t, outs[-1])
        for penalty in model.losses:
            total = total + penalty
        return total
    return objective


def forward_backward(model, x, dout, training=False):
    """Gradients of ``sum(output * dout)``: the vector-Jacobian product for upstream ``dout``."""
    return _gradients(model, x, training, [_upstream(model, dout)])[0]


def loss_and_gradients(model, loss_fn, x, y_true, training=False):
    """Gradients of ``loss_fn(y_true, output) + sum(model.losses)`` (regularizers), as fit() does.

    ``loss_fn`` must have been created for the model's dtype (``keras_models.build_loss``).
    """
    return _gradients(model, x, training, [_loss(model, loss_fn, y_true)])[0]


def backward_and_loss(model, x, dout, loss_fn, y_true, training=False):
    """(``forward_backward(model, x, dout)``, ``loss_and_gradients(model, loss_fn, x, y_true)``) from one
    forward pass: the same numbers as the two calls on the same model state, one forward fewer."""
    return tuple(_gradients(model, x, training, [_upstream(model, dout), _loss(model, loss_fn, y_true)]))
