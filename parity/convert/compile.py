"""A compiled Keras loss and optimizer as their ``numpy_models`` twins, via ``get_config``; refuse the rest by name."""
from numpy_models import losses, optimizers
from parity.convert.support import UnsupportedModelError

# Optimizer options the NumPy optimizers implement only at these values.
_OPTIMIZER_FIXED = {"use_ema": False, "loss_scale_factor": None, "gradient_accumulation_steps": None}
_OPTIMIZER_IGNORED = ("name", "ema_momentum", "ema_overwrite_frequency")
_LOSS_FIXED = {"axis": -1, "ignore_class": None, "dtype": None}


def _loss_class(loss):
    """The NumPy loss class behind a Keras loss object, function or name."""
    if isinstance(loss, str):
        key = loss
    elif callable(loss) and not hasattr(loss, "get_config"):
        key = getattr(loss, "__name__", repr(loss))
    else:
        key = type(loss).__name__ if type(loss).__name__ in losses.CLASSES else loss.get_config().get("name")
    cls = losses.CLASSES.get(key) or losses.ALIASES.get(key)
    if cls is None:
        raise UnsupportedModelError([f"loss {key!r}: not implemented in numpy_models.losses "
                                     f"(supported: {sorted(losses.CLASSES)})"])
    return cls


def numpy_loss(loss):
    """One NumPy loss (or a list, one per output) for the compiled Keras ``loss``; None when not compiled."""
    if loss is None:
        return None
    if isinstance(loss, (list, tuple)):
        return [numpy_loss(item) for item in loss]
    if isinstance(loss, dict):
        raise UnsupportedModelError([f"loss {loss!r}: losses given as a dict are not supported (use a list)"])
    cls = _loss_class(loss)
    config = {} if isinstance(loss, str) or not hasattr(loss, "get_config") else dict(loss.get_config())
    config.pop("name", None)
    problems = [f"loss {cls.__name__}: {k}={config.pop(k)!r} (only {v!r} is supported)"
                for k, v in _LOSS_FIXED.items() if k in config and config[k] != v]
    for k in _LOSS_FIXED:
        config.pop(k, None)
    if problems:
        raise UnsupportedModelError(problems)
    try:
        return cls(**config)
    except (TypeError, ValueError) as exc:
        raise UnsupportedModelError([f"loss {cls.__name__}: options {sorted(config)} ({exc})"]) from None


def numpy_optimizer(optimizer):
    """The NumPy twin of a Keras optimizer: same class, same config (schedules and EMA refused)."""
    name = type(optimizer).__name__
    if name not in optimizers.KERAS_OPTIMIZERS:
        raise UnsupportedModelError([f"optimizer {name}: not implemented in numpy_models.optimizers "
                                     f"(supported: {sorted(optimizers.KERAS_OPTIMIZERS)})"])
    config, problems = dict(optimizer.get_config()), []
    for key, value in _OPTIMIZER_FIXED.items():
        if config.pop(key, value) != value:
            problems.append(f"optimizer {name}: {key} is not supported (only {value!r})")
    for key in _OPTIMIZER_IGNORED:
        config.pop(key, None)
    if isinstance(config.get("learning_rate"), dict):
        problems.append(f"optimizer {name}: learning_rate schedule {config['learning_rate'].get('class_name')} "
                        f"is not carried over")
    if problems:
        raise UnsupportedModelError(problems)
    config["learning_rate"] = float(config["learning_rate"])  # the value of Keras's variable, as Keras applies it
    try:
        return optimizers.KERAS_OPTIMIZERS[name](**config)
    except (TypeError, ValueError) as exc:
        raise UnsupportedModelError([f"optimizer {name}: {exc}"]) from None
