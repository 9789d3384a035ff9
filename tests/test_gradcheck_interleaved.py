"""A chunked suffix's cheaper ways to the same decisions (issue 17): NumPy only.

- +h and -h asked chunk by chunk in turn (``until_kink_each``) give what asking them one after the
  other gives: the same values bit for bit, or a kink for both;
- a probe that stops at a kink evaluates first the chunk that stopped the last one;
- an evaluation that moves every chunk runs in blocks of chunks: its value to round-off, its
  signature chunk by chunk as chunks give it (a kink is one in the same chunks);
- the first layer's objective serves dx too (one proof, one set of chunks);
- a planted bug is caught as a whole-batch evaluation catches it.
"""
import sys

import numpy as np
import pytest

from parity import gradcheck
from parity.gradcheck import chunks, suffix
from parity.gradcheck.finite_differences import (KINKED, UNTIL_KINK, evaluate_at, placing, signatures_differ,
                                                 until_kink_each)
from parity.tolerances import tolerance

from tests.test_gradcheck_chunks import FORCED_CHUNK as CHUNK
from tests.test_gradcheck_chunks import _KernelGradTooLarge, _cnn, _x
from tests.test_gradcheck_chunks import made as chunks_made  # noqa: F401 (a fixture: chunks on test-sized stacks)

BLOCK = 2 * CHUNK  # a test-sized batch of 16: four chunks in two blocks


@pytest.fixture
def made(chunks_made, monkeypatch):
    """Chunks and blocks forced on test-sized stacks; the objective each suffix became."""
    monkeypatch.setattr(chunks, "BLOCK", BLOCK)
    return chunks_made


@pytest.fixture
def c1(made):
    """The chunked objective of the first layer's parameters, and its kernel (the pristine array probes move)."""
    gradcheck(_cnn(), _x(), params={})  # dx only; the layers' objectives are made all the same
    objective = made[0]
    assert isinstance(objective, chunks.ChunkedSuffix) and objective.blocks[0] == BLOCK
    return objective, objective.suffix.template[0].params["kernel"]


def _one_after_the_other(objective, array, j, h):
    """+h then -h with ``until_kink`` each, the second skipped when the first already stopped at a kink."""
    w = float(array.flat[j])
    plus = evaluate_at(objective, array, j, w + h, UNTIL_KINK)
    if signatures_differ(plus[1], objective.signature0):
        return None
    minus = evaluate_at(objective, array, j, w - h, UNTIL_KINK)
    return None if signatures_differ(minus[1], objective.signature0) else [plus[0], minus[0]]


@pytest.mark.parametrize("h", [1e-3, 1e-4], ids=["step_1e-3", "step_1e-4"])
def test_plus_and_minus_h_in_turn_give_what_one_after_the_other_gives(c1, h):
    objective, kernel = c1
    outcomes = set()
    for j in range(kernel.size):
        w = float(kernel.flat[j])
        expected = _one_after_the_other(objective, kernel, j, h)
        both = until_kink_each(objective, [placing(kernel, j, w + h), placing(kernel, j, w - h)])
        if expected is None:
            assert [sig for _, sig in both] == [KINKED, KINKED]
        else:
            assert [f for f, _ in both] == expected  # bit for bit
            assert not any(signatures_differ(sig, objective.signature0) for _, sig in both)
        outcomes.add(expected is None)
    assert outcomes == {True, False}  # kinks and smooth ones


def _chunk_by_chunk(objective):
    """f and the flat signature from every chunk evaluated alone, summed in chunk order."""
    total, sigs = 0.0, []
    for c, (a, b) in enumerate(objective.bounds):
        out = objective.suffix.evaluate(objective.suffix.source[a:b].copy(), objective.suffix.dout[a:b], True)
        total += out[1] - objective.base[c][0]
        sigs.append(objective.suffix.signatures())
    return objective.f0 + total, [s for chunk in sigs for layer in chunk for s in layer]


def _record_batch_sizes(monkeypatch):
    """The list every suffix evaluation appends its batch size to."""
    sizes, evaluate = [], suffix.SuffixObjective.evaluate

    def recorded(self, h, *args):
        sizes.append(len(h))
        return evaluate(self, h, *args)
    monkeypatch.setattr(suffix.SuffixObjective, "evaluate", recorded)
    return sizes


def _round_off(objective):
    return tolerance("float64", "sub_batch").rtol * float(np.abs(objective.suffix.dout).sum()) * 10


def test_an_evaluation_moving_every_chunk_runs_in_blocks_with_the_chunks_signatures(c1, monkeypatch):
    objective, kernel = c1
    sizes = _record_batch_sizes(monkeypatch)
    kinked = 0
    for j in range(kernel.size):
        for t in (1e-1, -1e-3):
            place = placing(kernel, j, float(kernel.flat[j]) + t)
            place(True)
            try:
                sizes.clear()
                f, sig = objective()
                blocks = list(sizes)
                f_chunks, sig_chunks = _chunk_by_chunk(objective)
            finally:
                place(False)
            moved = signatures_differ(sig, objective.signature0)
            assert blocks.count(BLOCK) == 2 and set(blocks) <= {BLOCK, CHUNK} and (moved or len(blocks) == 2)
            assert abs(f - f_chunks) <= _round_off(objective)
            assert len(sig) == len(sig_chunks) and all(np.array_equal(a, b) for a, b in zip(sig, sig_chunks))
            kinked += moved
    assert kinked  # the large step moves some branch


def test_a_probe_stopped_at_a_kink_starts_the_next_at_the_chunk_that_stopped_it(c1, monkeypatch):
    objective, kernel = c1
    sizes = _record_batch_sizes(monkeypatch)

    def stopped_after(j):
        sizes.clear()
        stopped = evaluate_at(objective, kernel, j, float(kernel.flat[j]) + 1e-3, UNTIL_KINK)[1] is KINKED
        return len(sizes) if stopped else 0
    j = next(j for j in range(kernel.size) if stopped_after(j) > 1)  # its kink is not in the first chunk asked
    assert stopped_after(j) == 1 and sizes == [CHUNK]


def test_a_planted_bug_is_caught_as_whole_batch_evaluations_catch_it(made, monkeypatch):
    fast = gradcheck(_cnn(conv=_KernelGradTooLarge), _x())
    assert {type(o).__name__ for o in made} == {"ChunkedSuffix"}
    monkeypatch.setattr(chunks, "CHUNK", 10 ** 6)  # never chunked
    whole = gradcheck(_cnn(conv=_KernelGradTooLarge), _x())
    assert fast.failed == whole.failed == ["c1/kernel"]
    assert fast["c1/kernel"].likely_cause.name == whole["c1/kernel"].likely_cause.name
    assert str(fast).splitlines()[0] == str(whole).splitlines()[0]


def test_the_first_layers_objective_serves_dx(made, monkeypatch):
    checker = sys.modules["parity.gradcheck.checker"]
    used, real = {}, checker.check_param

    def spy(name, objective, *args):
        used[name] = objective
        return real(name, objective, *args)
    monkeypatch.setattr(checker, "check_param", spy)
    assert gradcheck(_cnn(), _x()).ok
    assert used["dx"] is used["c1/kernel"] is made[0] and isinstance(made[0], chunks.ChunkedSuffix)
    assert len(made) == 3  # c1, d and o: no suffix of its own for dx
