"""The three-way check's frozen copies of a graph (issue 17): same numbers as a deep copy, pristine untouched."""
import copy

import numpy as np

import numpy_models as nm
from parity.checks.three_way import frozen_copy
from parity.specs import SPECS, make_inputs
from parity.twins import numpy_twin

SPEC = SPECS["resnet_digits_8"]  # a graph with BatchNormalization: state updated in training mode


def test_a_graphs_frozen_copy_computes_what_a_deep_copy_does_and_leaves_the_pristine_state():
    pristine, x = numpy_twin(SPEC, "float64", 0), make_inputs(SPEC, "float64", 0)
    state = {k: v.copy() for k, v in pristine.state.items()}
    twin = frozen_copy(pristine, training=True)
    y = twin.forward(x, training=True)
    reference = copy.deepcopy(pristine)
    assert np.array_equal(y, reference.forward(x, training=True))
    assert all(np.array_equal(pristine.state[k], v) for k, v in state.items())
    assert any(not np.array_equal(twin.state[k], v) for k, v in state.items())  # the copy's statistics moved
    assert np.array_equal(np.concatenate([np.ravel(s) for s in twin.kink_signature()]),
                          np.concatenate([np.ravel(s) for s in reference.kink_signature()]))


def test_a_graphs_stateless_layers_and_weights_are_shared_not_copied():
    pristine = numpy_twin(SPEC, "float64", 0)
    twin = frozen_copy(pristine, training=True)
    shared = [(a, b) for a, b in zip(pristine.layers, twin.layers, strict=True) if not a.state]
    assert shared and all(a is b for a, b in shared)
    assert all(twin.layers[i] is not l for i, l in enumerate(pristine.layers) if l.state)


def _nested_graph(with_state):
    """x -> inner graph (Dense, then BatchNormalization when ``with_state``) -> Dense."""
    a = nm.Input((4,), name="a")
    hidden = nm.Dense(5, name="d1")(a)
    inner = nm.Model(a, nm.BatchNormalization(name="bn")(hidden) if with_state else hidden, name="inner")
    x = nm.Input((4,), name="x")
    return nm.Model(x, nm.Dense(3, name="o")(inner(x)), name="outer")


def test_a_graph_nesting_a_graph_with_state_is_copied_whole():
    pristine, x = _nested_graph(True), np.random.default_rng(0).standard_normal((6, 4))
    state = {k: v.copy() for k, v in pristine.state.items()}
    twin = frozen_copy(pristine, training=True)
    assert twin is not pristine
    assert np.array_equal(twin.forward(x, training=True), copy.deepcopy(pristine).forward(x, training=True))
    assert all(np.array_equal(pristine.state[k], v) for k, v in state.items())


def test_a_graph_nesting_a_stateless_graph_is_evaluated_itself():
    pristine = _nested_graph(False)
    assert frozen_copy(pristine, training=True) is pristine
