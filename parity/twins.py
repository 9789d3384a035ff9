"""The one place a pair of twins is built: a NumPy model and its Keras twin holding the same weights.

``build_twins(spec, dtype, seed)`` builds from a registered spec;
``twins_from_layers`` from raw ``(class_name, kwargs, name)`` configs (the
Keras side may get its own configs where a textbook variant differs). The
NumPy side is initialised from the ``weights`` stream of ``seed``; its
weights are copied into Keras and read back; seeded Dropout layers replay
Keras's masks. Keras is imported on first use.

``shared_twins`` is ``build_twins`` built once per process for the checks:
building a Keras model costs 50-250 ms, restoring its variables about 1 ms.
"""
import copy
from collections import OrderedDict

import numpy_models
from numpy_models import losses
from parity import random_streams
from parity.weights import numpy_to_keras


def twins_from_layers(layer_configs, input_shape, dtype, seed=0, keras_configs=None, copy_weights=True):
    """(NumPy model, Keras model) from layer configs.

    Args:
        layer_configs: ``[(class_name, kwargs, name), ...]`` for the NumPy twin.
        keras_configs: configs for the Keras twin (default: the same).
        copy_weights: copy the NumPy weights into Keras (False where the
            weight shapes deliberately differ, e.g. per-activation BatchNorm).
    """
    import keras_models  # imports TensorFlow

    np_model = numpy_models.build_sequential(layer_configs, input_shape, dtype,
                                             random_streams.seed_for("weights", seed))
    k_model = keras_models.build_sequential(keras_configs or layer_configs, input_shape, dtype)
    if copy_weights:
        numpy_to_keras(np_model, k_model)
    install_keras_masks(np_model)
    return np_model, k_model


def build_twins(spec, dtype, seed=0):
    """NumPy model initialised from ``seed``, Keras twin holding the same weights and dropout masks."""
    return twins_from_layers(spec.layer_tuples(), spec.input_shape, dtype, seed)


_SHARED = OrderedDict()  # key -> (pristine NumPy twin, Keras twin, [(variable, initial value)])
SHARED_CAPACITY = 4  # pytest-xdist's loadgroup runs a spec's checks together (parity.checks.testing)


def shared_twins(spec, dtype, seed=0):
    """``build_twins(spec, dtype, seed)``, with the Keras twin built once per process and reset on reuse.

    Every call gets a fresh copy of the NumPy twin as built and the cached Keras
    twin with every variable (weights, moving statistics, seed-generator states)
    restored bit for bit to its value after ``build_twins``: the same numbers as a
    fresh build, for callers that neither compile nor restructure the model.
    """
    key = (spec.id, repr(spec.layer_tuples()), tuple(spec.input_shape), dtype, seed)
    if key in _SHARED:
        _SHARED.move_to_end(key)
        pristine, k_model, initial = _SHARED[key]
        for variable, value in initial:
            variable.assign(value)
        return copy.deepcopy(pristine), k_model
    np_model, k_model = build_twins(spec, dtype, seed)
    _SHARED[key] = (copy.deepcopy(np_model), k_model, [(v, v.numpy().copy()) for v in k_model.variables])
    if len(_SHARED) > SHARED_CAPACITY:
        _SHARED.popitem(last=False)
    return np_model, k_model


def install_keras_masks(numpy_model):
    """Give every seeded NumPy Dropout-like layer the random stream of its Keras twin."""
    from keras_models.dropout import REPLAYS  # imports TensorFlow

    for layer in numpy_model.layers:
        kind = type(layer).__name__  # the Keras class name the NumPy layer carries
        if kind in REPLAYS:
            if layer.seed is None:
                raise ValueError(f"Layer '{layer.name}' ({kind}): exact mask replay needs a seed. Received: seed=None")
            layer.mask_fn = REPLAYS[kind](layer)


def numpy_loss(spec):
    """The NumPy loss of ``spec`` (Keras class name and kwargs)."""
    return losses.get(spec.loss[0], **spec.loss[1])


def keras_loss(spec, dtype):
    """The Keras loss of ``spec``, computing in ``dtype``."""
    from keras_models import build_loss  # imports TensorFlow

    return build_loss(spec.loss[0], spec.loss[1], dtype)
