"""The three-way check's frozen copies of a graph (issue 17): same numbers as a deep copy, pristine untouched."""
import copy

import numpy as np

import numpy_models as nm
from parity.checks.three_way import _hold_masks, frozen_copy
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


def _sequential_nesting_dropout():
    """Dense -> [Dense -> Dropout] (a Sequential inside a Sequential: the Dropout is not a top-level layer)."""
    inner = nm.Sequential([nm.Dense(6, name="d1"), nm.Dropout(0.5, name="drop")], name="inner")
    model = nm.Sequential([nm.Dense(5, name="d0"), inner, nm.Dense(3, name="o")], name="outer")
    model.build((None, 4), seed=0)
    return model


def test_a_nested_dropout_keeps_the_analytic_passes_mask_in_every_evaluation():
    """Finite differences need one function: a nested Dropout must not draw a new mask per evaluation."""
    model, x = _sequential_nesting_dropout(), np.random.default_rng(0).standard_normal((6, 4))
    pristine = copy.deepcopy(model)
    y = model.forward(x, training=True)
    _hold_masks(model, pristine)
    values = [frozen_copy(pristine, training=True).forward(x, training=True) for _ in range(3)]
    assert all(np.array_equal(v, y) for v in values)
