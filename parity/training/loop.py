"""Train the NumPy and Keras twins side by side on identical data.

Both start from the same weights (NumPy's initialisation copied into Keras),
see the same batches in the same order (one permutation per epoch,
``random_streams.epoch_order``, used by both; Keras gets it through
``train_on_batch``, so its own shuffling is never involved) and, where the model
has Dropout, the same masks (Keras's SeedGenerator stream replayed in NumPy).
Per step both losses are recorded (pre-update weights, regularization
included, as ``train_on_batch`` reports it); per epoch both sides are evaluated
on the train and test sets in inference mode. Learning-rate callbacks
(``parity.training.callbacks``) run on both sides in ``fit``'s order: Keras's own
callback on the Keras model, its NumPy twin on the NumPy optimizer, each fed its
own twin's logs ("loss", "val_loss", "val_accuracy"; the test set is the validation set).
Float targets make a regression: no accuracy is computed.
"""
import time
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from parity import random_streams
from parity.checks.optimizer_settings import keras_optimizer, numpy_optimizer
from parity.training import drift, reuse
from parity.training.callbacks import keras_callback, numpy_callback
from parity.twins import build_twins, keras_loss, numpy_loss


@dataclass
class TwinHistory:
    step_loss: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    test_loss: list = field(default_factory=list)
    test_acc: list = field(default_factory=list)
    seconds: list = field(default_factory=list)  # training time per epoch
    learning_rate: list = field(default_factory=list)  # the rate in use during each epoch
    test_probabilities: np.ndarray = None
    final_weights: dict = None  # {"layer/weight": array} after the last step


@dataclass
class TrainingRun:
    name: str
    dataset: str
    dtype: str
    epochs: int
    batch_size: int
    optimizer: str
    numpy: TwinHistory
    keras: TwinHistory
    task: str = "classification"  # or "regression" (float targets; with MSE, test_loss is the test MSE)
    callbacks: str = ""
    divergence: dict = None  # where the twins first leave tolerance (``parity.training.drift.locate``), if they do
    spec: object = None  # the ModelSpec trained (``backend_conventions.run_conventions`` measures on it)


def _targets(loss_name, labels, num_outputs, dtype):
    if labels.dtype.kind == "f":  # a regression's real-valued targets, one column per output
        return labels.reshape(len(labels), -1).astype(dtype)
    if loss_name == "BinaryCrossentropy":
        return labels.reshape(-1, 1).astype(dtype)
    if loss_name == "CategoricalCrossentropy":
        return np.eye(num_outputs, dtype=dtype)[labels]
    return labels


def predicted_classes(probabilities):
    """Keras's accuracy rule: one sigmoid output -> strict > 0.5 (BinaryAccuracy), else argmax (first on ties)."""
    if probabilities.shape[-1] == 1:
        return (probabilities[:, 0] > 0.5).astype(np.int64)
    return probabilities.argmax(axis=-1)


def _accuracy(probabilities, labels):
    if labels.dtype.kind == "f":  # regression targets: no accuracy
        return None
    return float(np.mean(predicted_classes(probabilities) == labels))


def _numpy_evaluate(model, loss, x, y, labels, batch=1000):
    """Mean data loss over the set plus the penalty (what Keras's evaluate reports), accuracy, probabilities."""
    probs, total = [], 0.0
    for i in range(0, len(x), batch):
        p = model.forward(x[i:i + batch])
        probs.append(p)
        total += float(model.compute_loss(loss, y[i:i + batch], p)) * len(p)
    probs = np.concatenate(probs)
    return total / len(x), _accuracy(probs, labels), probs


def _keras_evaluate(model, x, y, labels):
    """Keras's own test step per chunk (loss incl. penalties, weighted like evaluate()) and predictions."""
    from keras_models import evaluate  # imports TensorFlow

    loss, probs = evaluate(model, x, y)
    return loss, _accuracy(probs, labels), probs


def build_trained_twins(spec, setting, dtype, seed):
    """NumPy model + optimizer + loss, and the compiled Keras twin with the same weights and masks (kept for the
    next run of the same model and optimizer: ``parity.training.reuse``)."""
    from keras_models import compile_model  # imports TensorFlow

    def build():
        np_model, k_model = build_twins(spec, dtype, seed)
        compile_model(k_model, keras_optimizer(setting, dtype), keras_loss(spec, dtype))
        return np_model, k_model

    np_model, k_model = reuse.compiled_twins(spec, setting, dtype, seed, build)
    return np_model, numpy_optimizer(setting), numpy_loss(spec), k_model


EVALUATIONS_PER_RUN = 20


def train_both(name, spec, setting, data, epochs, batch_size, dtype, seed=0, progress=False, callbacks=()):
    """Train both twins; returns a ``TrainingRun`` with per-step losses and periodic evaluations.

    Both twins are evaluated on the train and test sets about ``EVALUATIONS_PER_RUN``
    times (every epoch for short runs or with ``callbacks``) and always after the last epoch.
    ``callbacks``: ``CallbackSetting``s built on both sides (learning-rate plans).
    A run whose step losses drift past its ``training`` tolerance is replayed up to that step to find where the
    twins first leave tolerance (``TrainingRun.divergence``; runs with callbacks are not replayed).
    """
    from keras_models import trace_any_batch, train_on_batch  # imports TensorFlow

    data = data.astype(dtype)
    np_model, optimizer, loss, k_model = build_trained_twins(spec, setting, dtype, seed)
    steps_per_epoch = -(-len(data.x_train) // batch_size)
    start = None if callbacks else drift.capture(np_model, optimizer, loss, k_model, epochs * steps_per_epoch)
    outputs = np_model.output_shape[-1]
    y_train = _targets(spec.loss[0], data.y_train, outputs, dtype)
    y_test = _targets(spec.loss[0], data.y_test, outputs, dtype)
    trace_any_batch(k_model, data.x_train, y_train)  # one trace for the ragged last batch and every chunk too
    ours, theirs = TwinHistory(), TwinHistory()
    np_cbs, k_cbs = _attach_callbacks(callbacks, optimizer, k_model, dtype)
    evaluators = ((ours, lambda x, y, l: _numpy_evaluate(np_model, loss, x, y, l), np_cbs, None),
                  (theirs, lambda x, y, l: _keras_evaluate(k_model, x, y, l), k_cbs, k_model))
    for epoch in tqdm(range(epochs), desc=name, disable=not progress, leave=False):
        _begin_epoch(epoch, np_cbs, k_cbs, ours, theirs, optimizer, k_model, dtype)
        order = random_streams.epoch_order(seed, epoch, len(data.x_train))
        spent = [0.0, 0.0]
        for first in range(0, len(order), batch_size):  # drift.batch_indices replays the same batches
            idx = order[first:first + batch_size]
            xb, yb = data.x_train[idx], y_train[idx]
            t0 = time.perf_counter()
            ours.step_loss.append(drift.numpy_step(np_model, loss, optimizer, xb, yb))
            t1 = time.perf_counter()
            theirs.step_loss.append(train_on_batch(k_model, xb, yb))
            spent[0] += t1 - t0
            spent[1] += time.perf_counter() - t1
            drift.record(start, len(ours.step_loss), np_model, optimizer, loss)  # outside the timed step
        ours.seconds.append(spent[0])
        theirs.seconds.append(spent[1])
        if (epoch + 1) % max(1, epochs // EVALUATIONS_PER_RUN) and epoch != epochs - 1 and not callbacks:
            continue
        for hist, evaluate, cbs, keras_twin in evaluators:
            tr_loss, tr_acc, _ = evaluate(data.x_train, y_train, data.y_train)
            te_loss, te_acc, probs = evaluate(data.x_test, y_test, data.y_test)
            hist.train_loss.append(tr_loss)
            hist.train_acc.append(tr_acc)
            hist.test_loss.append(te_loss)
            hist.test_acc.append(te_acc)
            hist.test_probabilities = probs
            _end_epoch(epoch, cbs, hist, len(data.x_train), batch_size, keras_twin)
    ours.final_weights = {k: v.copy() for k, v in np_model.params.items()}
    theirs.final_weights = {f"{lay.name}/{v.name}": v.numpy() for lay in k_model.layers
                            for v in lay.trainable_weights}
    run = TrainingRun(name, data.name, dtype, epochs, batch_size, f"{setting.class_name}{setting.kwargs}", ours, theirs,
                      "regression" if data.y_train.dtype.kind == "f" else "classification",
                      "; ".join(c.describe() for c in callbacks), spec=spec)
    if start is not None and drift.first_step_over(ours.step_loss, theirs.step_loss, dtype) is not None:
        run.divergence = drift.locate(start, data.x_train, y_train, seed, batch_size,
                                      (ours.step_loss, theirs.step_loss), dtype)
    return run


def _attach_callbacks(callbacks, optimizer, k_model, dtype):
    """Both twins of every callback, after ``on_train_begin`` (as ``fit`` starts them)."""
    np_cbs = [numpy_callback(c, optimizer, dtype) for c in callbacks]
    k_cbs = [keras_callback(c, k_model) for c in callbacks]
    for cb in np_cbs + k_cbs:
        cb.on_train_begin()
    return np_cbs, k_cbs


def _begin_epoch(epoch, np_cbs, k_cbs, ours, theirs, optimizer, k_model, dtype):
    """Callbacks' ``on_epoch_begin``, then record the rate each twin will train this epoch with."""
    from keras_models import learning_rate  # imports TensorFlow

    for cb in np_cbs + k_cbs:
        cb.on_epoch_begin(epoch)
    ours.learning_rate.append(float(optimizer.current_learning_rate(dtype)))
    theirs.learning_rate.append(learning_rate(k_model))


def _end_epoch(epoch, cbs, hist, n_train, batch_size, k_model=None):
    """``on_epoch_end`` with ``fit``'s logs: loss = batch-size-weighted mean step loss, val_* = test set.

    ``k_model`` is given for the Keras twin's callbacks (run in its dtype by ``keras_models``)."""
    from keras_models import callbacks_epoch_end  # imports TensorFlow

    if not cbs:
        return
    sizes = np.diff(np.append(np.arange(0, n_train, batch_size), n_train))
    loss = float(np.dot(hist.step_loss[-len(sizes):], sizes) / n_train)
    logs = {"loss": loss, "val_loss": hist.test_loss[-1]}
    if hist.test_acc[-1] is not None:
        logs["val_accuracy"] = hist.test_acc[-1]
    if k_model is not None:
        callbacks_epoch_end(k_model, cbs, epoch, logs)
        return
    for cb in cbs:
        cb.on_epoch_end(epoch, logs)


def step_drift(run):
    """Relative difference of the two step-loss curves at every step."""
    return drift.relative_drift(run.numpy.step_loss, run.keras.step_loss)
