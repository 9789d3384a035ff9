"""An evaluation that does not repeat itself, or a check that verified nothing, never passes (walkthrough 25).

- a Dropout drawing its mask from a module-level ``np.random.Generator`` (which the checker cannot replay)
  fails naming the cause and the fix, with or without a planted bug, as a layer and inside a network;
- the same Dropout holding its generator on the layer is checked (and its planted bug caught);
- a deterministic layer whose every probe is unresolvable (nothing verified) fails, saying so.
"""
import numpy as np
import pytest

from parity import gradcheck, gradcheck_net

P = 0.5
OUTSIDE = np.random.default_rng(0)  # a module-level generator: not copied with the layer, never replayed


class _Dropout:
    """Inverted dropout; ``planted`` forgets the 1/(1-p) scale in backward; ``own`` holds its generator."""

    def __init__(self, planted=False, own=False):
        self.planted, self.gen = planted, (np.random.default_rng(0) if own else None)

    def forward(self, x, train_flg=True):
        self.mask = (self.gen or OUTSIDE).random(x.shape) > P
        return x * self.mask / (1 - P)

    def backward(self, dout):
        return dout * self.mask / (1.0 if self.planted else 1 - P)


class _Net:
    """Affine -> Dropout -> squared error: ``params``, ``gradient(x, t)``, ``loss(x, t)``."""

    def __init__(self, drop):
        self.params, self.drop = {"W": np.random.default_rng(2).standard_normal((5, 3))}, drop

    def loss(self, x, t, train_flg=True):
        return 0.5 * float(np.sum((self.drop.forward(x @ self.params["W"], train_flg) - t) ** 2))

    def gradient(self, x, t):
        y = self.drop.forward(x @ self.params["W"])
        return {"W": x.T @ self.drop.backward(y - t)}


class _Ripple:
    """y = x W + 1e-3 sin(1e9 x W): deterministic, but no finite difference resolves it (every probe a 'kink')."""

    def __init__(self):
        self.W, self.dW = np.random.default_rng(2).standard_normal((5, 3)), None

    def forward(self, x):
        self.x, z = x, x @ self.W
        return z + 1e-3 * np.sin(1e9 * z)

    def backward(self, dout):
        self.dW = self.x.T @ dout
        return dout @ self.W.T


def _x():
    return np.random.default_rng(1).standard_normal((6, 5))


@pytest.mark.parametrize("planted", [False, True], ids=["correct", "planted_missing_scale"])
def test_a_mask_from_a_generator_outside_the_layer_fails_naming_cause_and_fix(planted):
    result = gradcheck(_Dropout(planted), _x())
    assert not result.ok, str(result)
    (error,) = [e for e in result.errors if "not reproducible" in e]
    assert "outside the subject" in error and "hold the generator on the layer" in error


def test_a_network_with_such_a_dropout_fails_naming_the_loss():
    x, t = _x(), np.random.default_rng(3).standard_normal((6, 3))
    result = gradcheck_net(_Net(_Dropout(planted=True)), x, t)
    assert not result.ok and any("loss(x, t) evaluated twice" in e for e in result.errors), str(result)


@pytest.mark.parametrize("planted", [False, True], ids=["correct", "planted_missing_scale"])
def test_the_same_dropout_holding_its_generator_is_checked(planted):
    result = gradcheck(_Dropout(planted, own=True), _x())
    assert result.ok is not planted and not result.errors, str(result)
    assert not result["dx"].unverified


def test_a_check_that_verified_nothing_fails_saying_so():
    result = gradcheck(_Ripple(), _x())
    assert all(p.unverified for p in result.params), str(result)
    assert not result.ok and any(e.startswith("nothing was verified") for e in result.errors), str(result)
