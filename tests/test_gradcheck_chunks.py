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
from parity import gradcheck, random_streams
from parity.gradcheck import chunks, suffix
from parity.gradcheck.finite_differences import KINK_RETRIES, SignedObjective, probe_coordinate
from parity.gradcheck.kinks import check_kink
from parity.gradcheck.probing import _probe_all
from parity.tolerances import tolerance

FORCED_CHUNK = 4  # a test-sized batch of 16 gives four chunks


class _DxTooLarge(nm.Conv2D):
    """A planted bug in dx alone: 1% too large (a dx probe evaluates one chunk only)."""

    def backward_preactivation(self, dz):
        return super().backward_preactivation(dz) * 1.01


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
def made(monkeypatch):
    """Force chunks on test-sized stacks; record the objective each suffix became."""
    objectives = []
    monkeypatch.setattr(chunks, "CHUNK", FORCED_CHUNK)
    monkeypatch.setattr(chunks, "MIN_ELEMENTS", 0)
    real = suffix.chunked

    def spy(*args, **kwargs):
        objectives.append(real(*args, **kwargs))
        return objectives[-1]
    monkeypatch.setattr(suffix, "chunked", spy)
    return objectives


def _kinds(objectives):
    return [type(o).__name__ for o in objectives]


def _whole_batch(monkeypatch):
    monkeypatch.setattr(chunks, "CHUNK", 10 ** 6)  # n < 2 * CHUNK: never chunked


def test_chunks_give_the_decisions_and_numbers_of_whole_batch_evaluations(made, monkeypatch):
    model, x = _cnn(), _x()
    fast = gradcheck(model, x)
    assert made and set(_kinds(made)) == {"ChunkedSuffix"}
    _whole_batch(monkeypatch)
    whole = gradcheck(model, x)
    assert fast.ok and whole.ok
    matched, bound = 0, _round_off(model, x, fast)
    for a, b in zip(fast.params, whole.params, strict=True):
        assert (a.name, a.ok, a.checked, a.kinks) == (b.name, b.ok, b.checked, b.kinks)
        assert a.direction.get("kink_handling") == b.direction.get("kink_handling")
        numeric = {e.index: e.numeric for e in b.worst}
        pairs = [(e.numeric, numeric[e.index]) for e in a.worst if e.index in numeric]
        matched += len(pairs)
        assert all(abs(n - m) <= bound for n, m in pairs), (a.name, pairs, bound)
    assert matched >= len(fast.params), (matched, bound)


def _round_off(model, x, result):
    """How far two numeric derivatives may differ when their f = sum(y * dout) differ by round-off only.

    Chunks change f by at most sub_batch's rtol times sum |y * dout|; the checker's Richardson
    derivative (4 D(h/2) - D(h)) / 3 weighs the four values of f by 3 / h in all.
    """
    y = model.forward(x, training=result.options["training"])
    dout = random_streams.generator("gradcheck_upstream", result.options["seed"]).standard_normal(y.shape)
    return 3 * tolerance("float64", "sub_batch").rtol * float(np.abs(y * dout).sum()) / result.options["step"]


def test_a_wrong_gradient_is_still_caught_in_chunks(made):
    result = gradcheck(_cnn(conv=_KernelGradTooLarge), _x())
    assert "ChunkedSuffix" in _kinds(made) and result.failed == ["c1/kernel"], str(result)


def test_a_wrong_input_gradient_is_still_caught_in_chunks(made):
    result = gradcheck(_cnn(conv=_DxTooLarge), _x())  # a dx probe evaluates its sample's chunk only
    assert _kinds(made)[-1] == "ChunkedSuffix" and result.failed == ["dx"], str(result)


@pytest.mark.parametrize("coupling", [lambda: nm.BatchNormalization(name="bn"),
                                      lambda: nm.Dropout(0.5, seed=1, name="drop")],
                         ids=["batch_norm_statistics", "dropout_mask_per_batch"])
def test_coupled_samples_are_evaluated_as_a_whole_batch(made, coupling):
    result = gradcheck(_cnn(coupling()), _x())
    assert result.ok, str(result)
    assert _kinds(made)[0] == "SuffixObjective"  # from the first layer on: c1's, which serves dx too


class _BatchScale:
    """y = x / mean_i ||x_i||: a batch statistic that a copy of one unit-norm row leaves unchanged."""

    def __init__(self):
        self.params, self.state, self.grads = {}, {}, {}

    def call(self, x, training=False):
        self.x, self.norms = x, np.linalg.norm(x, axis=1, keepdims=True)
        self.m = self.norms.mean()
        return x / self.m

    forward = call

    def backward(self, dout):
        x, m = self.x, self.m
        return dout / m - (dout * x).sum() / m ** 2 * (x / self.norms) / len(x)


def test_a_batch_statistic_of_unit_norm_rows_is_evaluated_as_a_whole_batch(made):
    x = np.random.default_rng(1).standard_normal((16, 20))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    result = gradcheck(_BatchScale(), x)
    assert result.ok, str(result)
    assert _kinds(made) == ["SuffixObjective"]


class _SharedMask:
    """y = (x @ W) * mask, one mask for the whole batch drawn from NumPy's global RNG in training."""

    def __init__(self, w_factor=1.0):
        self.params, self.state, self.grads = {"W": np.random.default_rng(0).standard_normal((6, 4))}, {}, {}
        self.w_factor = w_factor

    def call(self, x, training=False):
        self.mask = np.random.rand(1, 4) > 0.5 if training else np.ones((1, 4), bool)
        return (x @ self.params["W"]) * self.mask

    def forward(self, x, training=True):
        self.x = x
        return self.call(x, training)

    def backward(self, dout):
        dout = dout * self.mask
        self.grads = {"W": self.w_factor * self.x.T @ dout}
        return dout @ self.params["W"].T


@pytest.mark.parametrize("w_factor", [1.0, 2.0], ids=["correct", "planted_factor_2"])
def test_a_mask_drawn_for_the_whole_batch_is_redrawn_before_each_chunk(made, w_factor):
    result = gradcheck(_SharedMask(w_factor), np.random.default_rng(2).standard_normal((16, 6)))
    assert _kinds(made) == ["ChunkedSuffix"] and made[0]._restore_each
    assert result.failed == ([] if w_factor == 1.0 else ["W"]), str(result)


def test_an_input_probe_evaluates_only_its_samples_chunk(made, monkeypatch):
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
