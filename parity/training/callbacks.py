"""Learning-rate callbacks built twice from one setting: NumPy's twin and Keras's own callback.

A ``CallbackSetting(class_name, kwargs)`` names a Keras callback
("LearningRateScheduler", "ReduceLROnPlateau") and its arguments; the same
kwargs (and the same schedule object) go to ``numpy_models.callbacks`` and to
``keras.callbacks``, so a run can show both twins change their rate at the same epochs.
"""
from dataclasses import dataclass

from numpy_models import callbacks

CALLBACKS = ("LearningRateScheduler", "ReduceLROnPlateau")


@dataclass(frozen=True)
class CallbackSetting:
    class_name: str
    kwargs: dict

    def __post_init__(self):
        if self.class_name not in CALLBACKS:
            raise ValueError(f"Unknown learning-rate callback. Expected one of {CALLBACKS}. "
                             f"Received: class_name={self.class_name!r}")

    def describe(self):
        return f"{self.class_name}({', '.join(f'{k}={v!r}' for k, v in self.kwargs.items())})"


def numpy_callback(setting, optimizer, dtype):
    """The NumPy twin, attached to ``optimizer`` whose Keras rate variable is ``dtype``."""
    callback = getattr(callbacks, setting.class_name)(**setting.kwargs)
    callback.set_optimizer(optimizer, dtype)
    return callback


def keras_callback(setting, keras_model):
    """Keras's own callback, attached to the compiled ``keras_model`` (as ``fit`` would attach it)."""
    from keras_models import build_callback  # imports TensorFlow

    return build_callback(setting.class_name, setting.kwargs, keras_model)
