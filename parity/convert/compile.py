"""A compiled Keras loss and optimizer as their ``numpy_models`` twins, via ``get_config``; refuse the rest by name."""
import inspect
import numbers

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


def keras_loss_config(loss):
    """A Keras loss object's options: its ``get_config`` and the arguments it passes its loss function.

    Parity: Keras 3.15's ``Huber.get_config`` leaves out ``delta`` (kept only in the wrapper's ``_fn_kwargs``):
    read from the config alone, ``Huber(delta=0.5)`` would become delta=1.0.
    """
    accepted = inspect.signature(type(loss)).parameters
    passed = {k: v for k, v in getattr(loss, "_fn_kwargs", {}).items() if k in accepted}
    return {**loss.get_config(), **passed}


def _shown(value):
    """``value`` for an error message: Keras's tracking wrappers as plain dicts and lists, loss objects by class."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_shown(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    return repr(value) if value is None or isinstance(value, (str, numbers.Number)) else f"<{type(value).__name__}>"


def _quoted(names):
    return [f"'{name}'" for name in names]


def _by_output(loss, output_names):
    """The dict's losses in output order, as Keras's ``CompileLoss.build`` reads a dict: keys are the output
    layers' names, every output named (Keras raises at the first fit otherwise)."""
    if output_names is None:
        raise UnsupportedModelError([f"loss: a dict of losses needs a Functional model's output names (a "
                                     f"Sequential has none: Keras fails at the first fit). "
                                     f"Received: loss={_shown(loss)}"])
    if set(loss) != set(output_names):
        raise UnsupportedModelError([f"loss: a dict of losses names every output of the model by its layer name, "
                                     f"{list(output_names)} (Keras raises at the first fit otherwise). "
                                     f"Received: loss={_shown(loss)}"])
    return [loss[name] for name in output_names]


def _one_per_output(items, labels, loss):
    """Refuse an output with no loss (Keras skips it) or nested ones (Keras sums a list): the twin has one each."""
    problems = []
    for label, item in zip(labels, items, strict=True):
        if item is None:
            problems.append(f"loss: output {label} has no loss (None); the twin computes a loss for every output. "
                            f"Received: loss={_shown(loss)}")
        elif isinstance(item, (list, tuple, dict)):
            problems.append(f"loss: output {label} has nested losses {_shown(item)}; the twin computes one loss per "
                            f"output. Received: loss={_shown(loss)}")
    if problems:
        raise UnsupportedModelError(problems)
    return items


def _a_list_per_output(loss, n_outputs):
    """Refuse a list of losses whose length is not the number of outputs (Keras then trains only some outputs)."""
    if n_outputs is not None and len(loss) != n_outputs:
        count = f"{len(loss)} loss{'es' if len(loss) != 1 else ''}"
        raise UnsupportedModelError([f"loss: a list of {count} for a model with {n_outputs} outputs; the twin "
                                     f"computes one loss per output (give one per output, or one loss for all). "
                                     f"Received: loss={_shown(loss)}"])
    return list(loss)


def _same_dtype(loss, dtype):
    """Refuse a Keras loss object made for another dtype than the model's: Keras computes it in its own dtype
    (the floatx when it was made; not in its config), the twin in the model's."""
    own = getattr(loss, "dtype", None)
    if dtype is not None and own is not None and str(own) != str(dtype):
        raise UnsupportedModelError([f"loss {type(loss).__name__}: the Keras loss object computes in {own}, the "
                                     f"model in {dtype}; the twin computes the loss in the model's dtype (make the "
                                     f"loss with dtype='{dtype}', or compile with its name). "
                                     f"Received: loss={_shown(loss)} with dtype={own}"])
    return loss


def numpy_loss(loss, output_names=None, n_outputs=None, dtype=None):
    """One NumPy loss (or a list, one per output) for the compiled Keras ``loss``; None when not compiled.

    A dict of losses (keys: the model's ``output_names``) becomes the list in output order, as Keras reads it.
    ``n_outputs``/``dtype``: the model's, when known (a list must have one loss per output; a loss object must
    compute in the model's dtype).
    """
    if loss is None:
        return None
    if isinstance(loss, dict):
        items = _one_per_output(_by_output(loss, output_names), _quoted(output_names), loss)
        return [numpy_loss(item, dtype=dtype) for item in items]
    if isinstance(loss, (list, tuple)):
        named = output_names is not None and len(output_names) == len(loss)
        labels = _quoted(output_names) if named else [str(i) for i in range(len(loss))]
        items = _one_per_output(_a_list_per_output(loss, n_outputs), labels, loss)
        return [numpy_loss(item, dtype=dtype) for item in items]
    cls = _loss_class(_same_dtype(loss, dtype))
    config = {} if isinstance(loss, str) or not hasattr(loss, "get_config") else keras_loss_config(loss)
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
    """The NumPy twin of a Keras optimizer: same class, same config (its learning-rate schedule too where
    ``numpy_models`` has it; EMA and other schedules refused)."""
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
    schedule = config.get("learning_rate")
    if isinstance(schedule, dict):
        config["learning_rate"], refused = _numpy_schedule(name, schedule)
        problems += refused
    else:
        config["learning_rate"] = float(schedule)  # the value of Keras's variable, as Keras applies it
    if problems:
        raise UnsupportedModelError(problems)
    try:
        return optimizers.KERAS_OPTIMIZERS[name](**config)
    except (TypeError, ValueError) as exc:
        raise UnsupportedModelError([f"optimizer {name}: {exc}"]) from None


# Keras schedules with a NumPy twin (numpy_models.optimizers.schedules, checked step by step against Keras's in the
# optimizer table), and the options the twin implements only at these values.
_SCHEDULES = ("ExponentialDecay", "PiecewiseConstantDecay", "CosineDecay")
_SCHEDULE_FIXED = {"warmup_target": None, "warmup_steps": 0}


def _numpy_schedule(name, serialized):
    """(the NumPy twin of a serialized Keras learning-rate schedule or None, [problems])."""
    cls = serialized.get("class_name")
    if cls not in _SCHEDULES or serialized.get("module") != "keras.optimizers.schedules":
        return None, [f"optimizer {name}: learning_rate schedule {cls} is not implemented in "
                      f"numpy_models.optimizers.schedules (supported: {list(_SCHEDULES)})"]
    config = dict(serialized.get("config", {}))
    config.pop("name", None)
    fixed = {key: config.pop(key, value) for key, value in _SCHEDULE_FIXED.items()}
    problems = [f"optimizer {name}: {cls} {key}={fixed[key]!r} is not supported (only {value!r})"
                for key, value in _SCHEDULE_FIXED.items() if fixed[key] != value]
    if problems:
        return None, problems
    try:
        return getattr(optimizers.schedules, cls)(**config), []
    except (TypeError, ValueError) as exc:
        return None, [f"optimizer {name}: {cls}: {exc}"]


def _flat_weights(loss, weights, output_names):
    """``weights`` flattened as Keras flattens them (``keras.tree``: a dict's values in sorted-key order), after
    reading a dict beside a dict of losses by output name (keys naming no output are ignored, as Keras does)."""
    from keras import tree  # imports TensorFlow

    if isinstance(loss, dict) and isinstance(weights, dict):
        missing = [name for name in output_names if name not in weights]
        if missing:
            raise UnsupportedModelError([f"loss_weights: a dict of loss weights beside a dict of losses names every "
                                         f"output {list(output_names)}; missing {missing} (Keras raises KeyError). "
                                         f"Received: loss_weights={_shown(weights)}"])
        weights = [weights[name] for name in output_names]
    return tree.flatten(weights)


def numpy_loss_weights(loss, weights, output_names, n_outputs):
    """One number per output for the compiled ``loss_weights`` (None when not given), read as Keras's
    ``CompileLoss.build`` reads them.

    Parity: beside a dict of losses a dict of weights is read by output name; otherwise weights are read by
    position, a dict's in sorted-key order (its names are not looked at); one weight beside one loss applies to
    every output; a None weight multiplies nothing (the twin's 1.0 skips the product too).
    """
    if weights is None:
        return None
    flat = _flat_weights(loss, weights, output_names)
    # a dict names outputs: two outputs of one layer share its name and both take its loss
    n_losses = len(output_names) if isinstance(loss, dict) else len(loss) if isinstance(loss, (list, tuple)) else 1
    if len(flat) != n_losses:
        losses_ = f"{n_losses} loss" + ("es" if n_losses != 1 else "")
        raise UnsupportedModelError([f"loss_weights: {len(flat)} weights for {losses_} (Keras raises at the first "
                                     f"fit). Received: loss_weights={_shown(weights)}"])
    if not all(w is None or (isinstance(w, numbers.Real) and not isinstance(w, bool)) for w in flat):
        raise UnsupportedModelError([f"loss_weights: every weight must be a number. "
                                     f"Received: loss_weights={_shown(weights)}"])
    flat = [1.0 if w is None else w for w in flat]
    return flat if isinstance(loss, (list, tuple, dict)) else flat * n_outputs
