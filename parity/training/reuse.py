"""Compiled twins kept for the next run of the same model, optimizer, dtype and seed in this process.

A run's set-up builds both twins, compiles the Keras one and traces its train
and test steps: about a second of graph building even for one neuron. The
logic-gate experiment trains the same neuron with the same optimizer four
times (one per gate); the later runs take the kept Keras twin back instead of
a new one, with every variable restored to its value before the first run's
first step (weights, moving statistics, seed-generator states, the
optimizer's iterations, learning rate and slots; the metrics are reset by
every train and test step), and a copy of the NumPy twin as built.

Parity: the same traced graph from the same starting values computes the same
numbers as a fresh build (tests/test_training_reuse.py).
"""
import copy
from collections import OrderedDict

_KEPT = OrderedDict()  # key -> (NumPy twin as built, compiled Keras twin, [(variable, value before step 1)])
CAPACITY = 2  # an experiment's runs share at most one model at a time


def _key(spec, setting, dtype, seed):
    return (spec.id, repr(spec.layers), tuple(spec.input_shape), repr(spec.loss), setting.class_name,
            repr(sorted(setting.kwargs.items())), dtype, seed)


def compiled_twins(spec, setting, dtype, seed, build):
    """``build()``'s (NumPy twin, compiled Keras twin), the Keras one kept and reset when the key comes again.

    ``build()`` -> (NumPy twin, Keras twin compiled with ``setting``'s optimizer); its optimizer is built here,
    before the first step, so that its slots exist to be reset.
    """
    key = _key(spec, setting, dtype, seed)
    if key in _KEPT:
        _KEPT.move_to_end(key)
        pristine, k_model, initial = _KEPT[key]
        for variable, value in initial:
            variable.assign(value)
        return copy.deepcopy(pristine), k_model
    np_model, k_model = build()
    k_model.optimizer.build(k_model.trainable_variables)  # as the first step would: its slots start at zero
    initial = [(v, v.numpy().copy()) for v in k_model.variables + k_model.optimizer.variables]
    _KEPT[key] = (copy.deepcopy(np_model), k_model, initial)
    if len(_KEPT) > CAPACITY:
        _KEPT.popitem(last=False)
    return np_model, k_model


def clear():
    """Forget the kept twins (a test comparing against a fresh build)."""
    _KEPT.clear()
