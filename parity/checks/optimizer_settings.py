"""Optimizer settings the suite checks: every Keras optimizer and a handful of settings each.

Settings include a high learning rate, clipping, weight decay and schedules;
every run starts at step 1, so the first bias-correction steps are covered.
"""
from dataclasses import dataclass

from numpy_models import optimizers


@dataclass(frozen=True)
class OptimizerSetting:
    id: str
    class_name: str
    kwargs: dict


def _s(id_, cls, **kwargs):
    return OptimizerSetting(id_, cls, kwargs)


EXP = ("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 5, "decay_rate": 0.5})
COS = ("CosineDecay", {"initial_learning_rate": 0.01, "decay_steps": 15, "alpha": 0.1})
PIECE = ("PiecewiseConstantDecay", {"boundaries": [5, 10], "values": [0.1, 0.05, 0.01]})

OPTIMIZER_SETTINGS = {s.id: s for s in [
    _s("sgd", "SGD"),
    _s("sgd_high_lr", "SGD", learning_rate=1.0),
    _s("sgd_momentum", "SGD", learning_rate=0.05, momentum=0.9),
    _s("sgd_nesterov", "SGD", learning_rate=0.05, momentum=0.9, nesterov=True),
    _s("sgd_weight_decay_clipnorm", "SGD", learning_rate=0.1, weight_decay=0.01, clipnorm=1.0),
    _s("sgd_exponential_decay", "SGD", learning_rate=EXP),
    _s("sgd_piecewise_constant", "SGD", learning_rate=PIECE, momentum=0.5),
    _s("rmsprop", "RMSprop"),
    _s("rmsprop_centered_momentum", "RMSprop", learning_rate=0.01, rho=0.8, momentum=0.9, centered=True),
    _s("rmsprop_clipvalue", "RMSprop", learning_rate=0.01, clipvalue=0.5),
    _s("adagrad", "Adagrad"),
    _s("adagrad_high_lr", "Adagrad", learning_rate=0.5, initial_accumulator_value=0.01),
    _s("adadelta", "Adadelta"),
    _s("adadelta_lr1", "Adadelta", learning_rate=1.0, rho=0.9),
    _s("adam", "Adam"),
    _s("adam_high_lr", "Adam", learning_rate=0.1),
    _s("adam_amsgrad", "Adam", learning_rate=0.01, amsgrad=True),
    _s("adam_global_clipnorm", "Adam", learning_rate=0.01, global_clipnorm=1.0),
    _s("adam_cosine_decay", "Adam", learning_rate=COS),
    _s("adamw", "AdamW"),
    _s("adamw_strong_decay", "AdamW", learning_rate=0.01, weight_decay=0.1),
    _s("nadam", "Nadam"),
    _s("nadam_high_lr", "Nadam", learning_rate=0.05, beta_2=0.99),
    _s("adamax", "Adamax"),
    _s("adamax_high_lr", "Adamax", learning_rate=0.1),
]}


def resolved_kwargs(setting, make_schedule):
    """``setting.kwargs`` with a ``("ScheduleName", kwargs)`` learning rate built by ``make_schedule(name, kwargs)``.

    The one rule for both twins: a learning rate given as a (name, kwargs)
    pair is a schedule; anything else is passed through.
    """
    kwargs = dict(setting.kwargs)
    lr = kwargs.get("learning_rate")
    if isinstance(lr, tuple):
        kwargs["learning_rate"] = make_schedule(*lr)
    return kwargs


def _numpy_schedule(name, kwargs):
    return getattr(optimizers.schedules, name)(**kwargs)


def numpy_optimizer(setting):
    """The NumPy optimizer of ``setting``."""
    return optimizers.get(setting.class_name, **resolved_kwargs(setting, _numpy_schedule))


def keras_optimizer(setting, dtype):
    """The Keras optimizer of ``setting``, its variables and slots in ``dtype``."""
    from keras_models.optimizers import build_optimizer, schedule  # imports TensorFlow

    return build_optimizer(setting.class_name, resolved_kwargs(setting, schedule), dtype)
