"""Every evaluation of the gradient checker starts from the same state, by cheaper means (issue 17): NumPy only.

- NumPy's global generator is put back by copying its C state (``parity.gradcheck.rng_snapshot``), to
  exactly the snapshot ``set_state`` gives back: key, position and cached Gaussian, whatever was drawn,
  reseeded or set in between; a snapshot holding a cached Gaussian is put back by ``set_state``;
- a layer that draws Gaussians (leaving one cached) and Python ``random`` numbers, in some evaluations
  only, gets the report it gets when every evaluation restores with ``set_state``;
- a stack suffix's copied layers are copied together: the layer graph's links lead from one to the copy
  of the other that runs in the same evaluation, and to the reused layers themselves.
"""
import random

import numpy as np
import pytest

import numpy_models as nm
from parity import gradcheck
from parity.gradcheck import rng_snapshot, suffix
from parity.gradcheck import subject as subj

MOVES = {
    "nothing": lambda: None,
    "one_gaussian_left_cached": lambda: np.random.standard_normal(3),
    "an_even_number_of_gaussians": lambda: np.random.standard_normal(4),
    "uniforms": lambda: np.random.rand(7),
    "a_reseed": lambda: np.random.seed(11),
    "the_same_key_with_a_cached_gaussian": lambda: np.random.set_state(np.random.get_state()[:3] + (1, 0.25)),
    "python_random_and_its_cached_gauss": lambda: random.gauss(0.0, 1.0),
    "binomials": lambda: np.random.binomial(10, 0.3, 5),
}
STARTS = {"plain": lambda: None, "a_cached_gaussian": lambda: np.random.standard_normal(1)}


def _states():
    return np.random.get_state(), random.getstate()


def _same(a, b):
    (np_a, py_a), (np_b, py_b) = a, b
    return np_a[0] == np_b[0] and np.array_equal(np_a[1], np_b[1]) and np_a[2:] == np_b[2:] and py_a == py_b


@pytest.mark.parametrize("start", STARTS)
@pytest.mark.parametrize("move", MOVES)
def test_restore_gives_back_exactly_the_snapshot_whatever_was_drawn(start, move):
    np.random.seed(5)
    random.seed(5)
    STARTS[start]()
    snapshot, before = rng_snapshot.RngSnapshot(), _states()
    draws = []
    for _ in range(2):
        MOVES[move]()
        snapshot.restore()
        assert _same(_states(), before)
        draws.append((np.random.standard_normal(3), np.random.rand(2), random.random()))
        snapshot.restore()
    assert all(np.array_equal(a, b) for a, b in zip(*draws, strict=True))


def test_the_usual_snapshot_is_restored_without_set_state(monkeypatch):
    np.random.seed(3)
    snapshot, before = rng_snapshot.RngSnapshot(), _states()
    calls = []
    monkeypatch.setattr(np.random, "set_state", lambda state: calls.append(state))
    np.random.standard_normal(5)
    snapshot.restore()
    assert calls == [] and _same(_states(), before)


def test_a_snapshot_holding_a_cached_gaussian_is_restored_by_set_state(monkeypatch):
    np.random.seed(3)
    np.random.standard_normal(1)
    snapshot, before = rng_snapshot.RngSnapshot(), _states()
    set_state, calls = np.random.set_state, []
    monkeypatch.setattr(np.random, "set_state", lambda state: calls.append(state) or set_state(state))
    np.random.standard_normal(5)
    snapshot.restore()
    assert len(calls) == 1 and _same(_states(), before)


class _Noisy:
    """y = x * W * (1 + 0.1 * noise): five Gaussians from NumPy (one left cached) and one from Python's
    ``random`` per call, and one more uniform when W[0] is above its starting value (some evaluations only)."""

    def __init__(self):
        self.W = np.random.default_rng(1).uniform(0.5, 1.5, 5)
        self.start = self.W[0]
        self.dW = None

    def forward(self, x):
        self.scale = 1 + 0.1 * np.random.standard_normal(5) * random.gauss(1.0, 0.1)
        if self.W[0] > self.start:
            np.random.rand()
        self.x = x
        return x * self.W * self.scale

    def backward(self, dout):
        self.dW = np.sum(dout * self.x * self.scale, axis=0)
        return dout * self.W * self.scale


def _noisy_report():
    np.random.seed(7)
    random.seed(7)
    return gradcheck(_Noisy(), np.random.default_rng(2).standard_normal((4, 5)), seed=0)


def test_a_layer_drawing_gaussians_in_every_evaluation_and_more_in_some_is_checked_as_with_set_state(monkeypatch):
    fast = _noisy_report()
    monkeypatch.setattr(rng_snapshot, "_copyable_address", lambda *args: None)  # set_state before every evaluation
    slow = _noisy_report()
    assert fast.ok and fast.failed == [] and fast["W"].checked == 5, str(fast)
    assert fast.to_json() == slow.to_json()


def _stack():
    layers = [nm.Conv2D(2, 3, name="conv"), nm.BatchNormalization(name="bn"), nm.Dropout(0.3, seed=1, name="drop"),
              nm.Flatten(name="flat"), nm.Dense(3, name="dense")]
    return nm.Sequential(layers).build((None, 5, 5, 1), seed=0)


def _producer(layer):
    """The layer whose output ``layer`` was built on (the graph's link back)."""
    return layer._inbound_nodes[0].inputs[0]._keras_history[0]


def test_a_suffixs_copied_layers_link_to_the_layers_that_run_with_them():
    model, x = _stack(), np.random.default_rng(0).standard_normal((4, 5, 5, 1))
    stack = suffix.SuffixObjective(model, 0, x, True, np.ones((4, 3)), subj.rng_state())
    assert stack._fresh == [False, True, True, False, False]  # BatchNormalization (state), Dropout (rng)
    stack.evaluate(x.copy(), stack.dout, False)
    conv, bn, drop, flat, _ = stack._previous
    assert conv is stack.template[0] and flat is stack.template[3]  # reused: the template's own
    assert bn is not stack.template[1] and drop is not stack.template[2]  # copied for this evaluation
    assert _producer(drop) is bn and _producer(bn) is conv and _producer(flat) is stack.template[2]
    np.testing.assert_array_equal(stack.template[1].state["moving_mean"], model.layers[1].state["moving_mean"])
    assert not np.array_equal(bn.state["moving_mean"], model.layers[1].state["moving_mean"])  # moved, in the copy
