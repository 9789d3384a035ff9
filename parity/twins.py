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
Its two sides also come apart, for checks whose NumPy half runs in another
process than their Keras half (``parity.checks.backends``): ``numpy_side``
(no Keras unless masks are replayed), ``twin_data`` (what the Keras twin is
built from, plain data) and ``keras_side`` (the Keras twin from that data).
"""
import copy
from collections import OrderedDict

import numpy as np

import numpy_models
from numpy_models import losses
from numpy_models.registry import layer_from_config
from parity import random_streams
from parity.convert import keras_from_graph, keras_graph, to_keras
from parity.weights import numpy_to_keras, weights_to_keras


def twins_from_layers(layer_configs, input_shape, dtype, seed=0, keras_configs=None, copy_weights=True,
                      keras_model=None):
    """(NumPy model, Keras model) from layer configs.

    Args:
        layer_configs: ``[(class_name, kwargs, name), ...]`` for the NumPy twin.
        keras_configs: configs for the Keras twin (default: the same).
        copy_weights: copy the NumPy weights into Keras (False where the
            weight shapes deliberately differ, e.g. per-activation BatchNorm).
        keras_model: a Keras twin built before from ``keras_configs``, reused
            (its weights overwritten) instead of building another one.
    """
    import keras_models  # imports TensorFlow

    np_model = numpy_models.build_sequential(layer_configs, input_shape, dtype,
                                             random_streams.seed_for("weights", seed))
    k_model = keras_model
    if k_model is None:
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


_SHARED = OrderedDict()  # key -> (Keras twin, [(variable, initial value)])
_NUMPY = OrderedDict()  # (key, masks) -> pristine NumPy twin
_DATA = OrderedDict()  # key -> ``twin_data``
SHARED_CAPACITY = 4  # pytest-xdist's loadgroup runs a spec's checks together (parity.checks.testing)


def _key(spec, dtype, seed):
    return (spec.id, repr(spec.layers), tuple(spec.input_shape), dtype, seed)


def _cached(cache, key, build, capacity=SHARED_CAPACITY):
    """``cache[key]``, built by ``build()`` on a miss; the least recently used entry beyond ``capacity`` dropped."""
    if key not in cache:
        cache[key] = build()
        if len(cache) > capacity:
            cache.popitem(last=False)
    cache.move_to_end(key)
    return cache[key]


def shared_twins(spec, dtype, seed=0):
    """``build_twins(spec, dtype, seed)``, with the Keras twin built once per process and reset on reuse.

    Every call gets a fresh copy of the NumPy twin as built (``numpy_side``) and the
    cached Keras twin (``keras_side``) with every variable restored bit for bit to its
    value after the build: the same numbers as a fresh build, for callers that neither
    compile nor restructure the model.
    """
    k_model = keras_side(spec, dtype, seed, twin_data(spec, dtype, seed))
    return numpy_side(spec, dtype, seed, masks=True), k_model


def numpy_side(spec, dtype, seed=0, masks=False):
    """A fresh copy of the NumPy twin of ``spec`` as built (built once per process).

    ``masks``: seeded Dropout-like layers replay Keras's random streams (``install_keras_masks``:
    imports Keras; the streams are the backend's); without, the twin runs no Keras at all.
    """
    return copy.deepcopy(_pristine(spec, dtype, seed, masks))


def _pristine(spec, dtype, seed, masks):
    def build():
        model = numpy_twin(spec, dtype, seed)
        if masks:
            install_keras_masks(model)
        return model

    return _cached(_NUMPY, _key(spec, dtype, seed) + (masks,), build)


def twin_data(spec, dtype, seed=0):
    """What the Keras twin is built from, as plain data (it crosses to other processes), once per process:
    {"weights": the NumPy twin's weights by name, "graph": its ``parity.convert.keras_graph`` (None for a
    Sequential spec, built from the spec), "output_shape"}."""
    def build():
        model = _pristine(spec, dtype, seed, masks=False)
        return {"weights": {k: np.array(v) for k, v in model.weights.items()},
                "graph": keras_graph(model) if spec.is_graph else None, "output_shape": tuple(model.output_shape)}

    return _cached(_DATA, _key(spec, dtype, seed), build)


def keras_side(spec, dtype, seed, data):
    """The Keras twin of ``spec`` holding ``twin_data``'s weights: built once per process, every variable
    (weights, moving statistics, seed-generator states) reset bit for bit on reuse. No NumPy twin is built."""
    k_model, initial = _cached(_SHARED, _key(spec, dtype, seed), lambda: _keras_twin(spec, dtype, data))
    restore(initial)  # after a fresh build this assigns the values they hold
    return k_model


def _keras_twin(spec, dtype, data):
    if data["graph"] is not None:
        k_model = keras_from_graph(data["graph"], dtype, data["weights"])
    else:
        import keras_models  # imports TensorFlow

        k_model = keras_models.build_sequential(spec.layer_tuples(), spec.input_shape, dtype)
        weights_to_keras(data["weights"], k_model)
    return k_model, initial_values(k_model.variables)


def initial_values(variables):
    """[(Keras variable, a copy of its value now)], for ``restore``."""
    return [(v, v.numpy().copy()) for v in variables]


def restore(initial):
    """Every kept Keras variable back to its kept value, bit for bit."""
    for variable, value in initial:
        variable.assign(value)


_KEPT_CACHES = []  # every cache kept_twins filled: clear_shared forgets them too


def kept_twins(cache, key, capacity, build, variables):
    """``build()``'s (NumPy twin, Keras twin), kept in ``cache`` (an OrderedDict of at most ``capacity``) under
    ``key``: a repeat gets a copy of the NumPy twin as built and the kept Keras twin with ``variables(keras
    twin)`` restored bit for bit to their values when it was kept."""
    if not any(c is cache for c in _KEPT_CACHES):
        _KEPT_CACHES.append(cache)
    def keep():
        np_model, k_model = build()
        return np_model, k_model, initial_values(variables(k_model))

    pristine, k_model, initial = _cached(cache, key, keep, capacity)
    restore(initial)
    return copy.deepcopy(pristine), k_model


def clear_shared():
    """Forget the shared twins (after switching a variant on: they were built under the switches before)."""
    for cache in (_SHARED, _NUMPY, _DATA, *_KEPT_CACHES):
        cache.clear()


def replays_keras_stream(spec, dtype, seed=0):
    """Whether the NumPy twin has a layer that may replay a Keras random stream in training (a
    ``mask_fn``, nested models included): its training-mode numbers then depend on the Keras backend."""
    def walk(layers):
        return any(hasattr(l, "mask_fn") or walk(getattr(l, "layers", ())) for l in layers)

    return walk(_pristine(spec, dtype, seed, masks=False).layers)


def leaf_layers(model):
    """Every layer of ``model`` (NumPy or Keras) that is not itself a model, nested models' layers included."""
    for layer in getattr(model, "layers", ()):
        yield from leaf_layers(layer) if hasattr(layer, "layers") else [layer]


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
