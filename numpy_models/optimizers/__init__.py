"""Optimizers with Keras names, arguments, defaults and slot names, plus textbook variants.

``optimizer.update(params, grads)`` updates ``params`` in place; both are dicts
keyed "layer/weight" (``model.params`` / ``model.grads``).
"""
from numpy_models.optimizers import schedules
from numpy_models.optimizers.base import Optimizer
from numpy_models.optimizers.keras_rules import (SGD, Adadelta, Adagrad, Adam, Adamax, AdamW, Nadam,
                                                 RMSprop)
from numpy_models.optimizers.textbook import (TEXTBOOK, TextbookAdaGrad, TextbookAdam, TextbookMomentum,
                                              TextbookNesterov, TextbookRMSprop)

KERAS_OPTIMIZERS = {c.__name__: c for c in (SGD, RMSprop, Adagrad, Adadelta, Adam, AdamW, Nadam, Adamax)}
ALL = {**KERAS_OPTIMIZERS, **TEXTBOOK}


def get(name, **kwargs):
    """An optimizer by class name (case-insensitive for Keras names), e.g. get("adam", learning_rate=0.01)."""
    lookup = {k.lower(): v for k, v in ALL.items()}
    cls = ALL.get(name) or lookup.get(str(name).lower())
    if cls is None:
        raise ValueError(f"Unknown optimizer. Expected one of {sorted(ALL)}. Received: {name!r}")
    return cls(**kwargs)


__all__ = ["ALL", "KERAS_OPTIMIZERS", "Optimizer", "SGD", "RMSprop", "Adagrad", "Adadelta", "Adam", "AdamW",
           "Nadam", "Adamax", "TextbookMomentum", "TextbookNesterov", "TextbookAdaGrad", "TextbookRMSprop",
           "TextbookAdam", "get", "schedules"]
