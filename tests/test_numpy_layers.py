"""NumPy layers on their own: shapes, dtypes, derivatives, errors. Never imports TensorFlow."""
import numpy as np
import pytest

import numpy_models as nm
from numpy_models import activations
from parity import compare, tolerance
from parity.gradcheck.finite_differences import probe_parameter

FD = tolerance("float64", "finite_difference")


def _layer_fd(layer, x, rng):
    """Finite-difference comparisons for every parameter and dx of a single layer."""
    dout = rng.standard_normal(layer.forward(x).shape)
    dx = layer.backward(dout)
    analytic = {**{k: v.copy() for k, v in layer.grads.items()}, "dx": dx}

    def evaluate():
        return float(np.sum(layer.forward(x) * dout)), layer.kink_signature() if hasattr(layer, "kink_signature") else []

    out = []
    for key, array in {**layer.params, "dx": x}.items():
        probes = [p for p in probe_parameter(evaluate, array, analytic[key], rng) if not p.kink]
        out.append(compare([p.analytic for p in probes], [p.numeric for p in probes], key, FD,
                           labels=("analytic", "numeric"), scale=np.abs(analytic[key]).max()))
    return out


@pytest.mark.parametrize("activation", sorted(activations.ACTIVATIONS))
def test_dense_backward_matches_finite_differences(activation, rng):
    layer = nm.Dense(4, activation=activation, dtype="float64")
    layer.build((None, 3), rng)
    for c in _layer_fd(layer, rng.standard_normal((5, 3)), rng):
        assert c.passed, c.message()


def test_activation_derivatives_at_zero_follow_tf():
    x = np.zeros(1)
    y = lambda name: activations.forward(name, x)
    d = lambda name: activations.backward(name, x, y(name), np.ones(1))[0]
    assert d("relu") == 0.0
    assert d("leaky_relu") == np.float32(0.2)
    assert d("elu") == 1.0


def test_backward_never_writes_into_dout(rng):
    model = nm.Sequential([nm.Dense(4, activation="relu"), nm.Activation("relu"), nm.Flatten(),
                           nm.Dense(3, activation="softmax")]).build((None, 5), seed=0)
    model.forward(rng.standard_normal((6, 5)))
    dout = rng.standard_normal((6, 3))
    before = dout.copy()
    model.backward(dout)
    np.testing.assert_array_equal(dout, before)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_model_keeps_its_dtype(dtype, rng):
    model = nm.Sequential([nm.Dense(3, activation="tanh"), nm.Dense(2)], dtype=dtype).build((None, 4))
    y = model.forward(rng.standard_normal((5, 4)))  # float64 data into a float32 model is cast, as Keras does
    dx = model.backward(np.ones_like(y))
    assert y.dtype == dtype and dx.dtype == dtype
    assert all(g.dtype == dtype for g in model.grads.values())


def test_set_weights_in_float64_switches_the_model_to_float64(rng):
    model = nm.Sequential([nm.Dense(3), nm.Dense(2)]).build((None, 4), seed=1)
    assert model.dtype == "float32"
    model.set_weights([w.astype("float64") for w in model.get_weights()])
    assert model.dtype == "float64"
    assert model.forward(rng.standard_normal((2, 4))).dtype == np.float64


def test_params_are_views_so_in_place_updates_reach_the_layers():
    model = nm.Sequential([nm.Dense(2, name="d")]).build((None, 2))
    model.params["d/kernel"] -= 1.0
    np.testing.assert_array_equal(model.get_layer("d").params["kernel"], model.params["d/kernel"])


def test_get_weights_uses_keras_order():
    model = nm.Sequential([nm.Dense(3, name="a"), nm.Dense(2, name="b", use_bias=False)]).build((None, 4))
    assert [w.shape for w in model.get_weights()] == [(4, 3), (3,), (3, 2)]
    assert list(model.params) == ["a/kernel", "a/bias", "b/kernel"]


def test_flatten_is_channels_last_c_order(rng):
    x = rng.standard_normal((2, 3, 4, 5))
    np.testing.assert_array_equal(nm.Flatten().forward(x)[1], x[1].reshape(-1))


def test_dense_on_3d_input_contracts_last_axis(rng):
    layer = nm.Dense(2, dtype="float64")
    x = rng.standard_normal((3, 4, 5))
    y = layer.forward(x)
    np.testing.assert_allclose(y, x @ layer.params["kernel"] + layer.params["bias"])


def test_returned_activations_match_each_layer():
    model = nm.Sequential([nm.Dense(3, name="a", activation="relu"), nm.Dense(2, name="b")]).build((None, 4))
    x = np.ones((2, 4), "float32")
    y, outs = model.forward(x, return_activations=True)
    assert len(outs) == 2 and outs[-1] is y and outs[0].shape == (2, 3)
