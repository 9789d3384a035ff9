"""Stock Keras optimizers built from (class name, kwargs), their steps, and their slot variables by Keras name."""
import contextlib

import keras
import numpy as np

from keras_models.autodiff import differentiate
from keras_models.backend import BACKEND
from keras_models.build import keras_dtype, model_dtype
from keras_models.runtime import read_values, weight_keys
from keras_models.tracing import call_concrete

# Where each Keras optimizer keeps the per-variable list of a slot (private attributes of Keras 3).
SLOT_ATTRIBUTES = {
    "SGD": {"momentum": "momentums"},
    "RMSprop": {"velocity": "_velocities", "momentum": "_momentums", "average_gradient": "_average_gradients"},
    "Adagrad": {"accumulator": "_accumulators"},
    "Adadelta": {"accumulated_grad": "_accumulated_grads", "accumulated_delta_var": "_accumulated_delta_vars"},
    "Adam": {"momentum": "_momentums", "velocity": "_velocities", "velocity_hat": "_velocity_hats"},
    "AdamW": {"momentum": "_momentums", "velocity": "_velocities", "velocity_hat": "_velocity_hats"},
    "Nadam": {"momentum": "_momentums", "velocity": "_velocities"},
    "Adamax": {"momentum": "_m", "norm": "_u"},
}


def schedule(class_name, kwargs):
    """``keras.optimizers.schedules.<class_name>(**kwargs)``."""
    return getattr(keras.optimizers.schedules, class_name)(**kwargs)


def build_optimizer(class_name, kwargs, dtype):
    """A Keras optimizer whose learning-rate variable and slots are ``dtype``."""
    with keras_dtype(dtype):
        return getattr(keras.optimizers, class_name)(**kwargs)


def apply_gradients(optimizer, model, grads, keyed=None):
    """One Keras step on ``model``'s trainable variables; ``grads`` is {"layer/weight": array}.

    ``keyed`` ([(key, variable)]) names the variables when the model's own layer walk does not
    (nested functional models: ``keras_models.functional.keyed_variables``).
    """
    keyed = weight_keys(model) if keyed is None else keyed
    with keras_dtype(model_dtype(model)):
        optimizer.apply_gradients(list(zip(_gradient_tensors(grads, keyed), [v for _, v in keyed], strict=True)))


def build_for(optimizer, model, keyed=None):
    """Build ``optimizer``'s slots for ``model``'s trainable variables (``keyed`` as in ``apply_gradients``) before its
    first step, as that step would: in the model's dtype, in the optimizer's name scope, the variables in order.
    Its slots then exist to be kept and restored; a ``stepper`` of a built optimizer traces from the first step."""
    keyed = weight_keys(model) if keyed is None else keyed
    with keras_dtype(model_dtype(model)), keras.name_scope(optimizer.name, caller=optimizer):
        optimizer.build([v for _, v in keyed])


def _gradient_tensors(grads, keyed):
    """``grads[key]`` for each (key, variable) as a tensor of the running backend in the variable's dtype (PyTorch's
    optimizers refuse arrays); call in the model's dtype (``keras_dtype``)."""
    return [keras.ops.convert_to_tensor(grads[key], dtype=variable.dtype) for key, variable in keyed]


def stepper(optimizer, model, keyed=None):
    """``step(grads)``: ``apply_gradients(optimizer, model, grads, keyed)``, for callers taking many steps.

    On TensorFlow, steps after the first (eager: Keras builds the optimizer on it) run as one traced call with
    TensorFlow's graph optimizer off (``graph_rewrites_off``): the same kernels as eager execution in the same
    order, bit for bit, at about half the cost (an eager step is mostly Python overhead per operation).
    Each stepper's trace costs memory TensorFlow keeps after the stepper is gone: about 3 MiB in this process
    (the report's 100 optimizer rows: +310 MiB, against +49 MiB eager), freed when the worker process exits.
    """
    keyed = weight_keys(model) if keyed is None else keyed
    if BACKEND != "tensorflow":
        return lambda grads: apply_gradients(optimizer, model, grads, keyed)
    return _TracedSteps(optimizer, model, keyed)


class _TracedSteps:
    def __init__(self, optimizer, model, keyed):
        import tensorflow as tf

        self.optimizer, self.model, self.keyed = optimizer, model, keyed
        variables = [v for _, v in keyed]

        def apply(grads):
            optimizer.apply_gradients(list(zip(grads, variables, strict=True)))

        self._traced, self._concrete = tf.function(apply, autograph=False), None

    def __call__(self, grads):
        if not self.optimizer.built:
            return apply_gradients(self.optimizer, self.model, grads, self.keyed)
        with keras_dtype(model_dtype(self.model)), graph_rewrites_off():
            tensors = _gradient_tensors(grads, self.keyed)  # the variables' own shapes and dtypes, every step
            if self._concrete is None:
                self._concrete = self._traced.get_concrete_function(tensors)
            call_concrete(self._concrete, *tensors)


@contextlib.contextmanager
def graph_rewrites_off():
    """TensorFlow's graph optimizer (grappler) off while a traced function is instantiated and run, then as it was.

    Grappler's rewrites (arithmetic simplification, constant folding, fusion) change results by round-off: 39 of
    the report's 100 optimizer trajectories differed from eager steps with them, none without. The switch is
    process-wide: a function another thread runs inside the window would run without grappler too. This project
    runs TensorFlow work in one thread per process (Dask workers run one task at a time, ``parity.sweep.cluster``;
    pytest-xdist workers are processes).
    """
    import tensorflow as tf

    before = tf.config.optimizer.get_experimental_options().get("disable_meta_optimizer", False)
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    try:
        yield
    finally:
        tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": before})


def slots(optimizer, keyed_variables):
    """{slot name: {key: array}} for the optimizer's per-variable state (read in one go: ``read_values``)."""
    found = {}
    for slot, attribute in SLOT_ATTRIBUTES[type(optimizer).__name__].items():
        per_variable = getattr(optimizer, attribute, None) or []
        if per_variable:
            found[slot] = {key: per_variable[optimizer._get_variable_index(v)] for key, v in keyed_variables}
    values = iter(read_values([v for per_key in found.values() for v in per_key.values()]))
    return {slot: {key: next(values) for key in per_key} for slot, per_key in found.items()}


def descent_path(class_name, kwargs, start, objective, steps, dtype):
    """The points a Keras optimizer visits minimising ``objective(x, y)`` from ``start``, each gradient taken by
    the running backend's own autodiff (``keras_models.autodiff``)."""
    with keras_dtype(dtype):
        point = keras.Variable(np.array(start, dtype=dtype))
        optimizer, path = build_optimizer(class_name, kwargs, dtype), [point.numpy().copy()]

        def forward(_, taps):
            value = objective(point[0], point[1])
            return [value if taps is None else value + taps[0]]

        for _ in range(steps):
            grad = differentiate([point], [], forward, lambda outputs: outputs[0])["grads"][0]
            optimizer.apply_gradients([(keras.ops.convert_to_tensor(grad, dtype=point.dtype), point)])
            path.append(point.numpy().copy())
    return np.array(path)
