"""Users' layers the cheaper evaluations must not break (review of issue 17): NumPy only.

- a layer with ``call`` and ``params`` but no ``state`` attribute is checked (a stack of one);
- a layer that keeps its own generator under another name than ``rng`` is copied for every evaluation,
  so its noise is the same at every probe and a planted bug is caught (as is a stack nesting a stack
  whose Dropout draws from its generator);
- a parameter whose every sampled element is excluded as a kink is reported as not verified (a hazard).
"""
import numpy as np
import pytest

import numpy_models as nm
from parity import assert_gradients_ok, gradcheck

W_FACTOR, DX_FACTOR = 2.0, 3.0  # planted bugs: the weight gradient doubled, dx tripled


def _w():
    return np.random.default_rng(0).standard_normal((5, 3))


def _x():
    return np.random.default_rng(1).standard_normal((4, 5))


class _Affine:
    """call + params, no ``state``: ``y = x @ W + b``; ``planted`` scales W's gradient and dx."""

    def __init__(self, planted=False):
        self.params, self.grads = {"W": _w(), "b": np.zeros(3)}, {}
        self.w_factor, self.dx_factor = (W_FACTOR, DX_FACTOR) if planted else (1.0, 1.0)

    def call(self, x, training=False):
        return x @ self.params["W"] + self.params["b"]

    def forward(self, x):
        self.x = x
        return self.call(x)

    def backward(self, dout):
        self.grads = {"W": self.w_factor * self.x.T @ dout, "b": dout.sum(axis=0)}
        return self.dx_factor * dout @ self.params["W"].T


class _OwnGenerator(_Affine):
    """``state = {}`` and a generator named ``gen``: a random mask on the output in training."""

    def __init__(self, planted=False):
        super().__init__(planted)
        self.state, self.gen = {}, np.random.default_rng(7)

    def call(self, x, training=False):
        self.mask = self.gen.random((len(x), 3)) > 0.5 if training else np.ones((len(x), 3), bool)
        return super().call(x) * self.mask

    def forward(self, x, training=True):
        self.x = x
        return self.call(x, training)

    def backward(self, dout):
        return super().backward(dout * self.mask)


class _ClassNoise(_Affine):
    """Noise from a class attribute: not copied with the layer, so no evaluation of it repeats another."""

    noise = np.random.default_rng(3)

    def call(self, x, training=False):
        return super().call(x) + 1e-2 * self.noise.standard_normal((len(x), 3))


@pytest.mark.parametrize("layer", [_Affine, _OwnGenerator], ids=["no_state_attribute", "own_generator_gen"])
def test_a_correct_user_layer_passes(layer):
    result = gradcheck(layer(), _x())
    assert result.ok and not result.hazards, str(result)


@pytest.mark.parametrize("layer", [_Affine, _OwnGenerator], ids=["no_state_attribute", "own_generator_gen"])
def test_a_planted_bug_in_a_user_layer_is_caught(layer):
    result = gradcheck(layer(planted=True), _x())
    assert result.failed == ["W", "dx"], str(result)
    assert result["W"].likely_cause.name == "factor_2"


def test_a_parameter_whose_every_element_is_excluded_as_a_kink_is_not_verified():
    result = gradcheck(_ClassNoise(planted=True), _x())  # noise: every probe straddles a "kink"
    unverified = [h for h in result.hazards if "not verified" in h and "all" in h and "excluded as kinks" in h]
    assert [h.split(":")[0] for h in unverified] == ["W", "b", "dx"], str(result)
    assert result["W"].unverified and "NOT VERIFIED" in str(result)
    with pytest.raises(AssertionError, match="not verified"):
        assert_gradients_ok(result, strict=True)


def test_a_sequential_nesting_dropout_in_training_is_verified_not_excluded():
    """The inner stack has no state and no ``rng`` of its own, its Dropout has: reused, it would draw anew."""
    inner = nm.Sequential([nm.Dense(6, name="d1"), nm.Dropout(0.5, seed=1, name="drop")], name="inner")
    model = nm.Sequential([nm.Dense(5, activation="tanh", name="d0"), inner, nm.Dense(3, name="o")]).build((None, 4),
                                                                                                          seed=0)
    result = gradcheck(model, np.random.default_rng(1).standard_normal((6, 4)))
    assert result.ok and not result.hazards, str(result)
    assert not [k["index"] for p in result.params for k in p.kink_checks if not k["resolved"]], str(result)
