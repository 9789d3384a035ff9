"""Initializer distributions: Keras fan rules, bounds and effective standard deviations."""
import numpy as np
import pytest

from numpy_models import initializers as init

SHAPES = [(600, 400), (5, 5, 32, 64)]


def test_compute_fans_follows_keras():
    assert init.compute_fans((784, 50)) == (784, 50)
    assert init.compute_fans((5, 5, 3, 16)) == (75, 400)
    assert init.compute_fans((7,)) == (7, 7)


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("name, scale, mode", [
    ("glorot_uniform", 1, "fan_avg"), ("glorot_normal", 1, "fan_avg"), ("he_uniform", 2, "fan_in"),
    ("he_normal", 2, "fan_in"), ("lecun_uniform", 1, "fan_in"), ("lecun_normal", 1, "fan_in")])
def test_variance_scaling_has_keras_std_and_bounds(name, scale, mode, shape):
    w = init.get(name)(shape, "float64", np.random.default_rng(0))
    fan_in, fan_out = init.compute_fans(shape)
    n = {"fan_in": fan_in, "fan_avg": (fan_in + fan_out) / 2}[mode]
    std = np.sqrt(scale / n)
    # 240k samples: the sample std's relative standard error is ~0.2%; 1% is 5 sigma.
    assert abs(w.std() / std - 1) < 0.01
    bound = np.sqrt(3) * std if name.endswith("uniform") else 2 * std / init.TRUNCATED_STD
    assert np.abs(w).max() <= bound


def test_truncation_constant_is_the_std_of_a_two_sigma_truncated_normal():
    from scipy import stats
    assert abs(stats.truncnorm(-2, 2).std() - init.TRUNCATED_STD) < 1e-15


def test_textbook_he_is_untruncated():
    w = init.get("he_textbook")((400, 300), "float64", np.random.default_rng(0))
    std = np.sqrt(2 / 400)
    assert abs(w.std() / std - 1) < 0.01
    assert np.abs(w).max() > 2 * std / init.TRUNCATED_STD  # tails a truncated draw cannot have


def test_keras_defaults_for_plain_random_initializers():
    rng = np.random.default_rng(0)
    assert np.abs(init.get("random_uniform")((1000,), "float64", rng)).max() <= 0.05
    assert abs(init.get("random_normal")((200000,), "float64", rng).std() - 0.05) < 5e-4
    assert np.all(init.get("zeros")((3,)) == 0) and np.all(init.get("ones")((3,)) == 1)


def test_unknown_initializer_is_named_in_the_error():
    with pytest.raises(ValueError, match="glorot_unifrom"):
        init.get("glorot_unifrom")
