"""The one place a pair of twins is built: a NumPy model and its Keras twin holding the same weights.

``build_twins(spec, dtype, seed)`` builds from a registered spec;
``twins_from_layers`` from raw ``(class_name, kwargs, name)`` configs (the
Keras side may get its own configs where a textbook variant differs). The
NumPy side is initialised from the ``weights`` stream of ``seed``; its
weights are copied into Keras and read back; seeded Dropout layers replay
Keras's masks. A graph spec is built as a ``numpy_models.Model`` and its
Keras twin is ``parity.convert.to_keras`` of it (weights copied by name, read
back). Keras is imported on first use.

``shared_twins`` is ``build_twins`` built once per process for the checks:
building a Keras model costs 50-250 ms, restoring its variables about 1 ms.
"""
import copy
from collections import OrderedDict

import numpy as np

import numpy_models
from numpy_models import losses
from numpy_models.registry import layer_from_config
from parity import random_streams
from parity.convert import to_keras
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
    if not spec.is_graph:
        return twins_from_layers(spec.layer_tuples(), spec.input_shape, dtype, seed)
    np_model = numpy_twin(spec, dtype, seed)
    k_model = to_keras(np_model)
    install_keras_masks(np_model)
    return np_model, k_model


def numpy_twin(spec, dtype, seed=0, stream="weights"):
    """The NumPy model of ``spec`` (Sequential or graph), initialised from the ``stream`` of ``seed``."""
    if not spec.is_graph:
        return numpy_models.build_sequential(spec.layer_tuples(), spec.input_shape, dtype,
                                             random_streams.seed_for(stream, seed))
    return numpy_graph(spec, dtype, np.random.default_rng(random_streams.seed_for(stream, seed)))


def numpy_graph(spec, dtype, rng):
    """A ``numpy_models.Model`` from a graph spec; each layer is built from ``rng`` in call order."""
    tensors, layers = {"input": numpy_models.Input(spec.input_shape, name="input", dtype=dtype)}, {}
    last = "input"
    for entry in spec.layers:
        args = [tensors[name] for name in entry.inputs or (last,)]
        args = args if len(args) > 1 else args[0]
        if entry.name not in layers:  # a repeated name calls the same layer again (shared weights)
            layers[entry.name] = layer_from_config(entry.class_name, entry.kwargs, entry.name)
            layers[entry.name].dtype = dtype
            layers[entry.name].build([a.shape for a in args] if isinstance(args, list) else args.shape, rng=rng)
        out = layers[entry.name](args)
        last = out.node.name
        tensors[last] = out
    return numpy_models.Model(tensors["input"], tensors[last], name=spec.id)


_SHARED = OrderedDict()  # key -> (pristine NumPy twin, Keras twin, [(variable, initial value)])
SHARED_CAPACITY = 4  # pytest-xdist's loadgroup runs a spec's checks together (parity.checks.testing)


def shared_twins(spec, dtype, seed=0):
    """``build_twins(spec, dtype, seed)``, with the Keras twin built once per process and reset on reuse.

    Every call gets a fresh copy of the NumPy twin as built and the cached Keras
    twin with every variable (weights, moving statistics, seed-generator states)
    restored bit for bit to its value after ``build_twins``: the same numbers as a
    fresh build, for callers that neither compile nor restructure the model.
    """
    key = (spec.id, repr(spec.layers), tuple(spec.input_shape), dtype, seed)
    return kept_twins(_SHARED, key, SHARED_CAPACITY, lambda: build_twins(spec, dtype, seed), lambda k: k.variables)


def kept_twins(cache, key, capacity, build, variables):
    """``build()``'s (NumPy twin, Keras twin), kept in ``cache`` (an OrderedDict of at most ``capacity``) under
    ``key``: a repeat gets a copy of the NumPy twin as built and the kept Keras twin with ``variables(keras
    twin)`` restored bit for bit to their values when it was kept."""
    if key in cache:
        cache.move_to_end(key)
        pristine, k_model, initial = cache[key]
        for variable, value in initial:
            variable.assign(value)
        return copy.deepcopy(pristine), k_model
    np_model, k_model = build()
    cache[key] = (copy.deepcopy(np_model), k_model, [(v, v.numpy().copy()) for v in variables(k_model)])
    if len(cache) > capacity:
        cache.popitem(last=False)
    return np_model, k_model


def clear_shared():
    """Forget the shared twins (after switching a variant on: they were built under the switches before)."""
    _SHARED.clear()


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
