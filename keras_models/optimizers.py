"""Stock Keras optimizers built from (class name, kwargs), and their slot variables by Keras name."""
import keras
import numpy as np

from keras_models.autodiff import differentiate
from keras_models.build import keras_dtype, model_dtype
from keras_models.runtime import read_values, weight_keys

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
    with keras_dtype(model_dtype(model)):  # tensors of the running backend: PyTorch's optimizers refuse arrays
        optimizer.apply_gradients([(keras.ops.convert_to_tensor(grads[key], dtype=variable.dtype), variable)
                                   for key, variable in keyed])


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
