"""Stock Keras optimizers built from (class name, kwargs), and their slot variables by Keras name."""
import keras

from keras_models.build import keras_dtype

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


def _learning_rate(value):
    """A float, or ("ScheduleName", kwargs) -> keras.optimizers.schedules.ScheduleName(**kwargs)."""
    if isinstance(value, (tuple, list)):
        name, kwargs = value
        return getattr(keras.optimizers.schedules, name)(**kwargs)
    return value


def build_optimizer(class_name, kwargs, dtype):
    """A Keras optimizer whose learning-rate variable and slots are ``dtype``."""
    kwargs = dict(kwargs)
    if "learning_rate" in kwargs:
        kwargs["learning_rate"] = _learning_rate(kwargs["learning_rate"])
    with keras_dtype(dtype):
        return getattr(keras.optimizers, class_name)(**kwargs)


def apply_gradients(optimizer, variables, grads):
    """One Keras step; ``variables`` and ``grads`` are parallel lists."""
    with keras_dtype(variables[0].dtype):
        optimizer.apply_gradients(zip(grads, variables, strict=True))


def slots(optimizer, keyed_variables):
    """{slot name: {key: array}} for the optimizer's per-variable state."""
    out = {}
    for slot, attribute in SLOT_ATTRIBUTES[type(optimizer).__name__].items():
        per_variable = getattr(optimizer, attribute, None) or []
        if per_variable:
            out[slot] = {key: per_variable[optimizer._get_variable_index(v)].numpy() for key, v in keyed_variables}
    return out
