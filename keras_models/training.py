"""Keras's own loss, compile, train and evaluate steps, each in the model's dtype.

``train_on_batch``/``test_on_batch``/``predict_on_batch`` run the same
compiled steps as fit()/evaluate()/predict() without their per-call
data-adapter and callback overhead (~30 ms each), which would dominate short
runs (docs/performance.md).
"""
import keras
import numpy as np

from keras_models.build import keras_dtype, model_dtype
from keras_models.tracing import run_traced


def build_loss(class_name, kwargs, dtype):
    """``keras.losses.<class_name>(**kwargs)`` computing in ``dtype``."""
    with keras_dtype(dtype):
        return getattr(keras.losses, class_name)(**kwargs)


def compile_model(model, optimizer, loss):
    """Compile with accuracy as the metric, in the model's dtype."""
    with keras_dtype(model_dtype(model)):
        model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])


def train_on_batch(model, x, y):
    """One training step; returns the loss Keras reports (pre-update weights, regularization included)."""
    with keras_dtype(model_dtype(model)):
        logs = run_traced(model, "train", x, y)
        if logs is None:
            logs = model.train_on_batch(x, y, return_dict=True)
        return float(logs["loss"])


def build_callback(class_name, kwargs, model):
    """``keras.callbacks.<class_name>(**kwargs)`` attached to the compiled ``model`` (as fit() attaches it)."""
    callback = getattr(keras.callbacks, class_name)(**kwargs)
    callback.set_model(model)
    return callback


def learning_rate(model):
    """The rate the compiled model's optimizer will use next, as a float (read once per epoch: a variable's own
    ``numpy()`` costs half of ``convert_to_numpy``'s dispatch, for the same value)."""
    rate = model.optimizer.learning_rate  # the variable, or a schedule's value at the current step
    if isinstance(rate, keras.Variable):
        return float(rate.numpy())
    return float(keras.ops.convert_to_numpy(rate))


def callbacks_epoch_end(model, callbacks, epoch, logs):
    """``on_epoch_end`` of Keras callbacks, in the model's dtype (ReduceLROnPlateau assigns the rate)."""
    with keras_dtype(model_dtype(model)):
        for callback in callbacks:
            callback.on_epoch_end(epoch, logs)


def evaluate(model, x, y, batch=1000):
    """(mean loss incl. penalties, weighted like evaluate(), and the predictions) over chunks of ``batch``."""
    probs, total = [], 0.0
    with keras_dtype(model_dtype(model)):
        for i in range(0, len(x), batch):
            loss, chunk = _test_and_predict(model, x[i:i + batch], y[i:i + batch])
            total += loss * len(x[i:i + batch])
            probs.append(chunk)
    return total / len(x), np.concatenate(probs)


def _test_and_predict(model, x, y):
    """The loss ``test_on_batch`` reports and ``predict_on_batch``'s predictions, in one traced call if there is one."""
    traced = run_traced(model, "test", x, y)
    if traced is None:
        logs = model.test_on_batch(x, y, return_dict=True)
        return float(logs["loss"]), np.asarray(model.predict_on_batch(x))
    logs, predictions = traced
    return float(logs["loss"]), np.asarray(predictions)
