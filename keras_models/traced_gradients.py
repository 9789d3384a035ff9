"""Keras's loss and its weight gradients, traced once per model, loss and mode, for callers taking many steps.

``keras_models.runtime.loss_and_gradients`` runs the model eagerly under a
``GradientTape``: for a small model most of it is Python overhead per
operation (about 12 ms a call for the LeNet digits CNN). The optimizer checks
take 20 such steps for each of 25 optimizer settings on one shared Keras twin
(``parity.checks.optimizer_checks.check_training_steps``); here the same
computation is traced once for the model, loss and training flag, and every
later step is one graph call.

Parity: the same layer calls, loss, regularizers and tape as
``loss_and_gradients``; run with TensorFlow's graph optimizer off
(``keras_models.optimizers.graph_rewrites_off``) the graph runs the eager
kernels: value and gradients bit-identical, state updates (moving statistics,
dropout seeds) included (tests/test_traced_gradients.py: both dtypes, a Dense
net, a CNN and an MLP with BatchNormalization, Dropout and L2, training and
inference). Except one pass grappler's switch does not reach: TensorFlow's
oneDNN build rewrites a function's graph to fuse a convolution's filter
gradient with its bias gradient, and the fused kernel splits the float32 bias
gradient's sum over the intra-op threads in another order than eager (the
LeNet digits CNN with 2 threads: conv biases differ by an ulp; none with one
thread, as the suite and the sweep's workers run, or with
``TF_ENABLE_ONEDNN_OPTS=0``; measured). Such models stay eager where it applies.
"""
import os

import numpy as np

from keras_models.backend import BACKEND
from keras_models.build import keras_dtype, model_dtype
from keras_models.optimizers import graph_rewrites_off
from keras_models.runtime import _cast, _run_layers, loss_and_gradients, weight_keys
from keras_models.tracing import call_concrete

# On the model itself, {(loss key, training, input specs): concrete function}: the traces hold the model's
# variables and the model holds the traces, so they live and die together.
_ATTRIBUTE = "_parity_traced_loss_gradients"


def loss_gradients_function(model, loss_fn, training=False):
    """``step(x, y_true) -> {"value": float, "grads": {"layer/weight": array}}``: the "value" and "grads" of
    ``loss_and_gradients(model, loss_fn, x, y_true, training)``, traced on TensorFlow; eager on other backends and
    for the float32 convolution models of ``_fused_in_graphs``.

    A trace is kept on the model for the loss's class, config, function arguments and dtype, ``training``, the
    trainable variables and the batch's shapes and dtypes: another step function for the same model and loss
    reuses it.
    """
    if BACKEND != "tensorflow" or _fused_in_graphs(model):
        def eager(x, y_true):
            ref = loss_and_gradients(model, loss_fn, x, y_true, training=training)
            return {"value": ref["value"], "grads": ref["grads"]}
        return eager
    keyed = weight_keys(model)
    return lambda x, y_true: _call(model, loss_fn, training, keyed, x, y_true)


def _fused_in_graphs(model):
    """Whether oneDNN would sum a convolution's bias gradient in another order in a traced graph than eager."""
    convolutions = any("Conv" in type(layer).__name__ for layer in _leaf_layers(model))
    return convolutions and model_dtype(model) != "float64" and _onednn() and _intra_op_threads() != 1


def _onednn():
    """Whether TensorFlow runs oneDNN's ops (private API; where it is missing, assumed on: the model stays eager)."""
    try:
        from tensorflow.python.util import _pywrap_util_port  # only reached on the TensorFlow backend
    except ImportError:
        return True
    return bool(getattr(_pywrap_util_port, "IsMklEnabled", lambda: True)())


def _intra_op_threads():
    """TensorFlow's intra-op thread count as set (0: one per core): its config, else ``TF_NUM_INTRAOP_THREADS``."""
    import tensorflow as tf  # only reached on the TensorFlow backend

    return tf.config.threading.get_intra_op_parallelism_threads() or int(os.environ.get("TF_NUM_INTRAOP_THREADS", 0))


def _leaf_layers(model):  # as parity.twins.leaf_layers: keras_models cannot import parity
    for layer in getattr(model, "layers", ()):
        yield from _leaf_layers(layer) if hasattr(layer, "layers") else [layer]


def _call(model, loss_fn, training, keyed, x, y_true):
    dtype = model_dtype(model)
    x, y_true = _cast(x, dtype), _cast(y_true, dtype)
    with keras_dtype(dtype), graph_rewrites_off():
        value, grads = call_concrete(_concrete(model, loss_fn, training, keyed, x, y_true), x, y_true)
        return {"value": float(value), "grads": {k: np.asarray(g) for (k, _), g in zip(keyed, grads, strict=True)}}


def _concrete(model, loss_fn, training, keyed, x, y_true):
    """The kept trace for these arguments, traced now if there is none."""
    import tensorflow as tf  # only reached on the TensorFlow backend

    specs = tuple(tf.TensorSpec(a.shape, tf.as_dtype(a.dtype)) for a in (x, y_true))
    # a Keras loss computes in its own dtype, not in its config, and Huber with a delta its config leaves out
    key = (type(loss_fn), repr(loss_fn.get_config()), repr(getattr(loss_fn, "_fn_kwargs", None)),
           getattr(loss_fn, "dtype", None), bool(training), tuple(id(v) for _, v in keyed), specs)
    traces = getattr(model, _ATTRIBUTE, None)
    if traces is None:
        traces = {}
        object.__setattr__(model, _ATTRIBUTE, traces)  # past Keras's attribute tracking: not a layer or weight
    if key not in traces:
        traces[key] = _traced(model, loss_fn, training, keyed).get_concrete_function(*specs)
    return traces[key]


def _traced(model, loss_fn, training, keyed):
    """``runtime.loss_and_gradients``'s tape and objective as a ``tf.function`` returning (value, grads)."""
    import tensorflow as tf  # only reached on the TensorFlow backend

    variables = [v for _, v in keyed]

    def loss_gradients(x, y_true):
        with tf.GradientTape() as tape:
            if x.dtype.is_floating:
                tape.watch(x)  # as the eager tape does: the input is a source there
            total = loss_fn(y_true, _run_layers(model, x, training)[-1])
            for penalty in model.losses:
                total = total + penalty
        grads = tape.gradient(total, variables)
        return total, [tf.zeros(v.shape, v.dtype) if g is None else tf.convert_to_tensor(g)  # IndexedSlices densified
                       for v, g in zip(variables, grads, strict=True)]

    return tf.function(loss_gradients, autograph=False)
