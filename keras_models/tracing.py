"""Trace a compiled model's train and test steps once for every batch size (TensorFlow only).

``train_on_batch`` and ``test_on_batch`` run a ``tf.function`` built with
``reduce_retracing=True``: it is traced for the first batch's exact shape, and
traced again, with the batch dimension relaxed to ``None``, at the first batch
of another size (a training set's ragged last batch, an evaluation's last
chunk). Each trace builds the whole step's graph (about a second for a small
CNN on one core). Tracing the relaxed signature up front leaves one trace per
step function: every later call, whatever its batch size, matches it.

Each step is then one graph call: the metrics reset ``train_on_batch`` does
eagerly (four variable assigns, as long as the step itself for a small model)
is traced with it, and the test step returns ``predict_on_batch``'s predictions
beside its logs.

Parity: the relaxed graph holds the same ops as the exact-shape one; training
and evaluation through it were measured bit-identical (float32 and float64:
an MLP with BatchNormalization and Dropout, the LeNet and ResNet digits CNNs;
every log, variable and prediction against Keras's own ``*_on_batch``),
and ``parity report``'s numbers are unchanged (benchmarks/report_identity.py).
"""
import keras
import numpy as np

from keras_models.build import keras_dtype, model_dtype

# On the model itself, {kind: (Keras's step function it was traced from, input specs, concrete function)}: the
# entries refer back to the model (the step's closure holds it), so they must live and die with it.
_ATTRIBUTE = "_parity_traced_steps"
# The test step first: the first trace of a step that creates variables (the metrics, built on first use) is traced
# again without them (tf.function's variable lifting); the test step's trace is the cheaper one to repeat.
_KINDS = ("test", "train")


def _step_function(function):
    """The ``tf.function`` behind Keras's ``train_function``/``test_function``, or None if not found.

    Keras (``backend/tensorflow/trainer.py``, ``_make_function``) keeps it in
    the returned closure as ``one_step_on_data``, wrapped by ``functools.wraps``.
    """
    code, closure = getattr(function, "__code__", None), getattr(function, "__closure__", None)
    if code is None or not closure:
        return None
    cell = dict(zip(code.co_freevars, closure, strict=True)).get("one_step_on_data")
    step = getattr(cell.cell_contents, "__wrapped__", None) if cell is not None else None
    return step if hasattr(step, "get_concrete_function") else None


def _any_batch(array):
    import tensorflow as tf  # only reached on the TensorFlow backend

    array = np.asarray(array)
    return tf.TensorSpec((None,) + array.shape[1:], tf.as_dtype(array.dtype))


def _reset_then(model, steps):
    """A ``tf.function`` that resets the metrics, then runs the concrete ``steps`` on ``(x, y)``: the whole of a
    ``train_on_batch``/``test_on_batch`` (and a ``predict_on_batch`` beside the test step) as one graph call.

    Parity: the reset assigns the zeros Keras's eager ``reset_metrics`` assigns; the steps are the concrete
    functions traced from Keras's own, called unchanged (tests/test_tracing.py: losses, weights and predictions
    bit-identical to Keras's own ``train_on_batch``/``test_on_batch``/``predict_on_batch``).
    """
    import tensorflow as tf  # only reached on the TensorFlow backend

    @tf.function(autograph=False)
    def reset_then_steps(x, y):
        model.reset_metrics()
        outputs = tuple(step(x, y) for step in steps)
        return outputs if len(outputs) > 1 else outputs[0]

    return reset_then_steps


def _trace(model, kind, specs):
    """(Keras's step function, the one-call function) for ``kind``, or None where Keras's step is not found."""
    getattr(model, f"make_{kind}_function")()
    function = getattr(model, f"{kind}_function")
    traced = _step_function(function)
    if traced is None:
        return None
    step = traced.get_concrete_function((*specs, None))  # builds the metrics first: the reset must see them all
    steps = [lambda x, y: step((x, y, None))]
    if kind == "test":
        model.make_predict_function()
        if not hasattr(model.predict_function, "get_concrete_function"):
            return None
        predict = model.predict_function.get_concrete_function([specs[:1]])  # predict_on_batch passes [(x,)]
        steps.append(lambda x, y: predict([(x,)]))
    return function, _reset_then(model, steps).get_concrete_function(*specs)


def trace_any_batch(model, x, y):
    """Trace ``model``'s train and test steps for batches shaped like ``x``/``y`` of any length.

    Returns whether both were traced; on another backend, a model run eagerly,
    or a Keras whose step functions are not where this looks, nothing is done
    and Keras traces as it always does (the same numbers, one more trace).
    A model traced before for the same compile and input types keeps its traces.

    Shapes: x (N, ...) inputs, y (N, ...) targets; N is free.
    """
    if keras.backend.backend() != "tensorflow" or model.run_eagerly:
        return False
    specs = (_any_batch(x), _any_batch(y))
    traced = {}
    with keras_dtype(model_dtype(model)):
        for kind in _KINDS:
            kept = getattr(model, _ATTRIBUTE, {}).get(kind)
            if kept is not None and kept[1] == specs and kept[0] is getattr(model, f"{kind}_function"):
                traced[kind] = kept
                continue
            function_and_call = _trace(model, kind, specs)
            if function_and_call is not None:
                traced[kind] = (function_and_call[0], specs, function_and_call[1])
    object.__setattr__(model, _ATTRIBUTE, traced)  # past Keras's attribute tracking: not a layer, weight or metric
    return len(traced) == 2


def run_traced(model, kind, x, y):
    """What ``model``'s ``kind`` ("train" or "test") step returns on one batch, through the one-call function
    ``trace_any_batch`` traced: the logs for "train", (logs, predictions) for "test"; None where there is none for
    these arrays (the caller runs Keras's own ``train_on_batch``/``test_on_batch``/``predict_on_batch``).

    Parity: what ``train_on_batch``/``test_on_batch`` run, without their per-call Python: the metrics reset, then
    the same concrete step on the same arrays (and for "test", ``predict_on_batch``'s concrete function).
    """
    function, specs, call = getattr(model, _ATTRIBUTE, {}).get(kind, (None, None, None))
    if function is None or function is not getattr(model, f"{kind}_function"):  # none, or the model was recompiled
        return None
    x, y = np.asarray(x), np.asarray(y)
    if not all(_any_batch(a) == spec for spec, a in zip(specs, (x, y), strict=True)):
        return None
    return call_concrete(call, x, y)


def call_concrete(concrete, *arrays):
    """``concrete(*arrays)`` for a concrete function of positional tensors whose specs ``arrays`` are known to
    match: its flat call, without the per-call binding of the arguments to its signature (about 100 us of Python
    per call, a third of a small model's whole step). Where TensorFlow has no flat call, the public call.

    Parity: the same function on the same tensors; only the argument checking is skipped, which the callers do
    once up front (tests/test_tracing.py compares both calls bit for bit).
    """
    import tensorflow as tf  # only reached on the TensorFlow backend

    flat = getattr(concrete, "_call_flat", None)  # TensorFlow's own path once the signature is bound
    if flat is None:
        return concrete(*arrays)
    return flat([tf.convert_to_tensor(a) for a in arrays], concrete.captured_inputs)
