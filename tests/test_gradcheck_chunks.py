"""The checker's cheaper evaluations decide as whole-batch evaluations do (issue 17): NumPy only.

- a stack suffix evaluated in chunks of samples gives the kinks, verdicts and (to round-off) numbers
  of whole-batch evaluations, still catches a wrong gradient, and is refused where samples are coupled;
- an input probe evaluates only its sample's chunk;
- a probe compares branch signatures with the unperturbed one: a branch switching and back within
  +-h is a kink, and a retried step ends at +h when that already differs;
- the interval rule at a kink reuses the last retry's four evaluations.
"""
import numpy as np
import pytest

import numpy_models as nm
from parity import gradcheck
from parity.gradcheck import chunks, suffix
from parity.gradcheck.finite_differences import KINK_RETRIES, SignedObjective, probe_coordinate
from parity.gradcheck.kinks import check_kink
from parity.gradcheck.probing import _probe_all
from parity.tolerances import tolerance

FORCED_CHUNK = 4  # a test-sized batch of 16 gives four chunks


class _KernelGradTooLarge(nm.Conv2D):
    """A planted bug: the kernel gradient 1% too large, well above finite differences' resolution."""

    def backward_preactivation(self, dz):
        dx = super().backward_preactivation(dz)
        self.grads["kernel"] = self.grads["kernel"] * 1.01
        return dx


def _cnn(*extra, conv=nm.Conv2D):
    layers = [conv(3, 3, activation="relu", name="c1"), nm.MaxPooling2D(2, name="p1"), *extra,
              nm.Flatten(name="f"), nm.Dense(4, activation="tanh", name="d"), nm.Dense(3, activation="softmax", name="o")]
    return nm.Sequential(layers).build((None, 10, 10, 1), seed=0)


def _x(n=16):
    return np.maximum(np.random.default_rng(5).standard_normal((n, 10, 10, 1)), 0)  # exact zeros: kinks


@pytest.fixture
def chunk_kinds(monkeypatch):
    """Force chunks on test-sized stacks; record the objective each suffix became."""
    kinds = []
    monkeypatch.setattr(chunks, "CHUNK", FORCED_CHUNK)
    monkeypatch.setattr(chunks, "MIN_ELEMENTS", 0)
    real = suffix.chunked

    def spy(*args, **kwargs):
        result = real(*args, **kwargs)
        kinds.append(type(result).__name__)
        return result
    monkeypatch.setattr(suffix, "chunked", spy)
    return kinds


def _whole_batch(monkeypatch):
    monkeypatch.setattr(chunks, "CHUNK", 10 ** 6)  # n < 2 * CHUNK: never chunked


def test_chunks_give_the_decisions_and_numbers_of_whole_batch_evaluations(chunk_kinds, monkeypatch):
    model, x = _cnn(), _x()
    fast = gradcheck(model, x)
    assert chunk_kinds and set(chunk_kinds) == {"ChunkedSuffix"}
    _whole_batch(monkeypatch)
    whole = gradcheck(model, x)
    assert fast.ok and whole.ok
    rtol = tolerance("float64", "finite_difference").rtol
    for a, b in zip(fast.params, whole.params, strict=True):
        assert (a.name, a.ok, a.checked, a.kinks) == (b.name, b.ok, b.checked, b.kinks)
        assert a.direction.get("kink_handling") == b.direction.get("kink_handling")
        numeric = {e.index: e.numeric for e in b.worst}
        assert all(abs(e.numeric - numeric[e.index]) <= rtol * max(1.0, abs(e.analytic)) for e in a.worst
                   if e.index in numeric)


def test_a_wrong_kernel_gradient_is_still_caught_in_chunks(chunk_kinds):
    result = gradcheck(_cnn(conv=_KernelGradTooLarge), _x())
    assert "ChunkedSuffix" in chunk_kinds and result.failed == ["c1/kernel"], str(result)


@pytest.mark.parametrize("coupling", [nm.BatchNormalization(name="bn"), nm.Dropout(0.5, seed=1, name="drop")],
                         ids=["batch_norm_statistics", "dropout_mask_per_batch"])
def test_coupled_samples_are_evaluated_as_a_whole_batch(chunk_kinds, coupling):
    result = gradcheck(_cnn(coupling), _x())
    assert result.ok, str(result)
    assert chunk_kinds[0] == chunk_kinds[-1] == "SuffixObjective"  # from the first layer on (c1's and dx's)


def test_an_input_probe_evaluates_only_its_samples_chunk(chunk_kinds, monkeypatch):
    sizes = []
    evaluate = suffix.SuffixObjective.evaluate
    monkeypatch.setattr(suffix.SuffixObjective, "evaluate", lambda self, h, *a: sizes.append(len(h)) or evaluate(self, h, *a))
    result = gradcheck(_cnn(), _x(), params={})  # dx only: 1600 elements, 30 sampled
    probes = result["dx"].checked
    assert result.ok and probes == 30
    assert sizes.count(FORCED_CHUNK) >= 4 * probes and max(sizes) == 16  # whole batch: proofs and the direction


class _Branchy(SignedObjective):
    """f(w) = w0^2 with a branch signature; counts evaluations."""

    def __init__(self, w, branch):
        self.w, self.branch, self.calls = w, branch, 0

    def _run(self, signature):
        self.calls += 1
        return float(self.w[0] ** 2), [np.array([self.branch(self.w[0])])] if signature else None


def test_a_branch_switching_and_back_within_the_step_is_a_kink():
    w = np.array([0.0])
    objective = _Branchy(w, lambda v: abs(v) < 1e-12)  # one branch at 0 only: +h and -h agree
    f0 = objective.unperturbed()[0]
    assert probe_coordinate(objective, w, 0, f0=f0)[1]


def test_a_retried_step_ends_at_plus_h_when_its_signature_already_differs():
    w = np.array([0.0])
    objective = _Branchy(w, lambda v: v > 0)  # +h differs from w = 0 at every step
    f0 = objective.unperturbed()[0]
    objective.calls = 0
    assert probe_coordinate(objective, w, 0, f0=f0)[1]
    assert objective.calls == KINK_RETRIES + 4  # one evaluation per retried step, four at the last


def test_the_interval_rule_reuses_the_last_retrys_four_evaluations():
    w = np.array([0.0, 2.0])
    calls = []

    def objective():
        calls.append(w.copy())
        return float(np.abs(w).sum()), []
    smooth, kinked = _probe_all(objective, w, [0], 1e-3, 2.0)
    before = len(calls)
    (j, seen), = kinked
    assert not smooth and check_kink(seen, w, j, 0.5, 1e-3, 2.0, 1e-8)["ok"]
    assert len(calls) == before  # |w| is straight on each side: the first interval step is the last retry's
