"""Run a Keras model forward and backward with ``tf.GradientTape``.

Layers are called one by one inside the tape so every layer's output, and the
gradient with respect to it, can be compared with the NumPy twin. Calling the
layers in order is exactly what ``keras.Sequential.call`` does; the last
layer's output keeps its cached logits, so Keras's logits path for
cross-entropies still applies.
"""
import numpy as np
import tensorflow as tf

from keras_models.build import keras_dtype, model_dtype


def _run_layers(model, x, training):
    outputs = []
    h = x
    for layer in model.layers:
        h = layer(h, training=training)
        outputs.append(h)
    return outputs


def weight_keys(model):
    """(key "layer/weight", variable) for every trainable variable, in model order."""
    return [(f"{layer.name}/{v.name}", v) for layer in model.layers for v in layer.trainable_weights]


def forward(model, x, training=False):
    """Per-layer outputs as NumPy arrays (last one is the model output)."""
    with keras_dtype(model_dtype(model)):
        xt = tf.convert_to_tensor(np.asarray(x, dtype=model_dtype(model)))
        return [o.numpy() for o in _run_layers(model, xt, training)]


def _gradients(model, x, training, objective):
    """Run the model under a tape and differentiate ``objective(outputs)``."""
    dtype = model_dtype(model)
    with keras_dtype(dtype):
        xt = tf.convert_to_tensor(np.asarray(x, dtype=dtype))
        keyed = weight_keys(model)
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(xt)
            outputs = _run_layers(model, xt, training)
            target = objective(outputs)
        grads = tape.gradient(target, [v for _, v in keyed])
        dx = tape.gradient(target, xt)
        output_grads = tape.gradient(target, outputs)
        del tape
    return {
        "outputs": [o.numpy() for o in outputs],
        "value": float(target.numpy()),
        "dx": np.zeros(xt.shape, dtype) if dx is None else dx.numpy(),  # None: integer inputs (Embedding)
        "grads": {k: _dense(g, v) for (k, v), g in zip(keyed, grads, strict=True)},
        "output_grads": [None if g is None else g.numpy() for g in output_grads],
    }


def _dense(grad, variable):
    if grad is None:  # variable does not influence the target
        return np.zeros(variable.shape, dtype=variable.dtype)
    return tf.convert_to_tensor(grad).numpy()


def forward_backward(model, x, dout, training=False):
    """Gradients of ``sum(output * dout)``: the vector-Jacobian product for upstream ``dout``."""
    dtype = model_dtype(model)
    dout_t = tf.constant(np.asarray(dout, dtype=dtype))
    return _gradients(model, x, training, lambda outs: tf.reduce_sum(outs[-1] * dout_t))


def loss_and_gradients(model, loss_fn, x, y_true, training=False):
    """Gradients of ``loss_fn(y_true, output) + sum(model.losses)`` (regularizers), as fit() does.

    ``loss_fn`` must have been created for the model's dtype (``keras_models.build_loss``).
    """
    dtype = model_dtype(model)
    y_t = tf.constant(np.asarray(y_true, dtype=dtype if np.asarray(y_true).dtype.kind == "f" else np.asarray(y_true).dtype))

    def objective(outs):
        total = loss_fn(y_t, outs[-1])
        for penalty in model.losses:
            total = total + penalty
        return total

    return _gradients(model, x, training, objective)
