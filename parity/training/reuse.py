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
from collections import OrderedDict

from parity.twins import kept_twins

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
    def built():
        np_model, k_model = build()
        k_model.optimizer.build(k_model.trainable_variables)  # as the first step would: its slots start at zero
        return np_model, k_model

    return kept_twins(_KEPT, _key(spec, setting, dtype, seed), CAPACITY, built,
                      lambda k_model: k_model.variables + k_model.optimizer.variables)


def clear():
    """Forget the kept twins (a test comparing against a fresh build)."""
    _KEPT.clear()
