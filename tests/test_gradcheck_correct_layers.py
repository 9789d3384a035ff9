"""No correct layer is flagged: every layer kind in this project plus textbook ones, over random seeds and shapes."""
import numpy as np
import pytest

import numpy_models as nm
from numpy_models.activations import ACTIVATIONS
from parity import gradcheck, gradcheck_net
from tests import textbook_layers as tb

SEEDS_PER_KIND = 20


def _image(rng, min_hw=3):
    n, h, w, c = rng.integers(1, 4), rng.integers(min_hw, 9), rng.integers(min_hw, 9), rng.integers(1, 4)
    return rng.standard_normal((n, h, w, c))


def _built(layer, x, rng):
    layer.dtype = "float64"
    layer.build(x.shape, rng)
    return layer, x


def dense(rng):
    x = rng.standard_normal((rng.integers(1, 6), rng.integers(1, 7)))
    act = rng.choice(sorted(ACTIVATIONS))
    return _built(nm.Dense(int(rng.integers(1, 6)), activation=act), x, rng)


def conv2d(rng):
    x = _image(rng, 5)
    k, s = int(rng.integers(1, 4)), int(rng.integers(1, 3))
    d = 1 if s > 1 else int(rng.integers(1, 3))
    pad = str(rng.choice(["valid", "same", "symmetric"]))
    act = str(rng.choice(["relu", "tanh", "linear", "gelu"]))
    return _built(nm.Conv2D(int(rng.integers(1, 4)), k, strides=s, dilation_rate=d, padding=pad, activation=act), x, rng)


def max_pool(rng):
    x = _image(rng)
    return _built(nm.MaxPooling2D(int(rng.integers(1, 4)), strides=int(rng.integers(1, 3)), padding="same"), x, rng)


def avg_pool(rng):
    x = _image(rng)
    return _built(nm.AveragePooling2D(int(rng.integers(1, 4)), strides=int(rng.integers(1, 3)),
                                      padding=str(rng.choice(["valid", "same"]))), x, rng)


def batch_norm(rng):
    x = _image(rng) if rng.random() < 0.5 else rng.standard_normal((rng.integers(2, 8), rng.integers(1, 6)))
    x = x * rng.uniform(0.5, 3.0) + rng.uniform(-2, 2)
    layer, x = _built(nm.BatchNormalization(momentum=float(rng.uniform(0.5, 0.99))), x, rng)
    layer.params["gamma"][...] = rng.uniform(0.5, 2.0, layer.params["gamma"].shape)
    return layer, x


def dropout(rng):
    return _built(nm.Dropout(float(rng.uniform(0.1, 0.7)), seed=int(rng.integers(1000))), rng.standard_normal((4, 6)), rng)


def small_cnn(rng):
    model = nm.Sequential([nm.Conv2D(2, 3, padding="same"), nm.BatchNormalization(), nm.Activation("relu"),
                           nm.MaxPooling2D(2), nm.Flatten(), nm.Dropout(0.3, seed=1), nm.Dense(3, activation="softmax")],
                          dtype="float64")
    return model.build((None, 6, 6, 2), rng=rng), rng.standard_normal((3, 6, 6, 2))


def textbook_affine(rng):
    d_in, d_out = int(rng.integers(1, 6)), int(rng.integers(1, 6))
    return tb.Affine(rng.standard_normal((d_in, d_out)), rng.standard_normal(d_out)), rng.standard_normal((4, d_in))


def textbook_activation(rng):
    return [tb.Relu, tb.Sigmoid, tb.Tanh, tb.Square][int(rng.integers(4))](), rng.standard_normal((3, 5))


def textbook_dropout(rng):
    return tb.Dropout(float(rng.uniform(0.2, 0.6))), rng.standard_normal((5, 4))


LAYER_KINDS = {
    "dense": dense, "conv2d": conv2d, "max_pool": max_pool, "avg_pool": avg_pool, "batch_norm": batch_norm,
    "dropout": dropout, "small_cnn": small_cnn, "textbook_affine": textbook_affine,
    "textbook_activation": textbook_activation, "textbook_dropout": textbook_dropout,
    "global_average_pooling": lambda rng: _built(nm.GlobalAveragePooling2D(), _image(rng), rng),
    "flatten": lambda rng: _built(nm.Flatten(), _image(rng), rng),
    "activation": lambda rng: _built(nm.Activation(str(rng.choice(sorted(ACTIVATIONS)))), rng.standard_normal((3, 4)), rng),
}
DROPOUT_KINDS = ("dropout", "textbook_dropout")  # checked in training mode: their masks are the point
CASES = [(kind, seed) for kind in LAYER_KINDS for seed in range(SEEDS_PER_KIND)]


@pytest.mark.parametrize("kind, seed", CASES, ids=[f"{k}-seed{s}" for k, s in CASES])
def test_correct_layer_passes(kind, seed):
    rng = np.random.default_rng(1000 * list(LAYER_KINDS).index(kind) + seed)  # the seeds of the original list order
    layer, x = LAYER_KINDS[kind](rng)
    training = bool(seed % 2) or kind in DROPOUT_KINDS  # both modes; dropout layers in training mode
    result = gradcheck(layer, x, training=training, seed=seed)
    assert result.ok, str(result)


@pytest.mark.parametrize("seed", range(SEEDS_PER_KIND))
def test_correct_textbook_net_passes(seed):
    rng = np.random.default_rng(seed)
    net = tb.TwoLayerNet(int(rng.integers(2, 8)), int(rng.integers(2, 8)), int(rng.integers(2, 5)), seed=seed,
                         activation=[tb.Relu, tb.Sigmoid][seed % 2])
    n = int(rng.integers(2, 9))
    x, t = rng.standard_normal((n, net.params["W1"].shape[0])), np.eye(net.params["W2"].shape[1])[rng.integers(0, net.params["W2"].shape[1], n)]
    result = gradcheck_net(net, x, t, seed=seed)
    assert result.ok, str(result)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_bilinear_upsampling_is_checked_in_float64_throughout_and_left_as_given(dtype):
    # The layer resizes in float32 whatever its dtype, as TF (compute_in_float32); central differences of that
    # float32-rounded function read its round-off as gradient errors (dx 1.7e-4 against rtol 1e-6) unless the
    # checked copy computes in float64 throughout
    rng = np.random.default_rng(0)
    layer = nm.UpSampling2D((2, 3), interpolation="bilinear", dtype=dtype)
    model = nm.Sequential([nm.Conv2D(2, 3, name="c"), nm.UpSampling2D(2, interpolation="bilinear", name="up"),
                           nm.Flatten(), nm.Dense(1)], dtype=dtype).build((None, 5, 5, 2), rng=rng)
    for subject, shape in ((layer, (2, 4, 4, 3)), (model, (3, 5, 5, 2))):
        result = gradcheck(subject, rng.standard_normal(shape).astype(dtype))
        assert result.ok, str(result)
    assert layer.compute_in_float32 and model.get_layer("up").compute_in_float32  # the user's objects untouched
