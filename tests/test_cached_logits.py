"""A cross-entropy after a softmax/sigmoid output: the twin reads what Keras reads, on each backend.

On TensorFlow ``_get_logits`` takes the ``_keras_logits`` every softmax/sigmoid
output carries (Dense or Activation activation, ``layers.Softmax``) for any of
the three cross-entropies, whatever ``from_logits`` (with ``from_logits=True``
it only warns) and whichever activation. On JAX and PyTorch nothing is cached:
the loss takes the output as it is (``numpy_models.conventions.cached_logits``
off), so ``from_logits=True`` applies softmax/sigmoid a second time there.
"""
import warnings

import numpy as np
import pytest
from scipy import special

import numpy_models as nm
from numpy_models import conventions, losses
from parity.tolerances import tolerance

BACKENDS = [pytest.param(b, marks=pytest.mark.xdist_group(f"backend_{b}"), id=b) for b in ("jax", "torch")]


def _data(n=16):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 5))
    labels = rng.integers(0, 3, n)
    return x, labels, np.eye(3)[labels], rng.integers(0, 2, (n, 3)).astype(float)


def _cross_entropy(name, z, labels, onehot, binary):
    """Hand-written Keras cross-entropies of logits ``z`` (scipy's log-softmax): the independent reference."""
    if name == "binary":
        return np.mean(np.maximum(z, 0) - z * binary + np.log1p(np.exp(-np.abs(z))), axis=-1).mean()
    return -(onehot * special.log_softmax(z, axis=-1)).sum(axis=-1).mean()


LOSSES = {"categorical": (losses.CategoricalCrossentropy, "onehot"),
          "sparse": (losses.SparseCategoricalCrossentropy, "labels"),
          "binary": (losses.BinaryCrossentropy, "binary")}


def _targets(name, labels, onehot, binary):
    return {"onehot": onehot, "labels": labels, "binary": binary}[LOSSES[name][1]]


def _softmax_layer_graph():
    """Input -> Dense "z" -> Softmax, as a functional twin (what verify trains)."""
    inputs = nm.Input((5,), dtype="float64")
    outputs = nm.Softmax(name="out", dtype="float64")(nm.Dense(3, name="z", dtype="float64")(inputs))
    return nm.Model(inputs, outputs)


@pytest.mark.parametrize("name", list(LOSSES))
def test_a_functional_twin_reads_the_softmax_layers_input_as_logits(name):
    model = _softmax_layer_graph()
    x, labels, onehot, binary = _data()
    kernel, bias = model.get_layer("z").params["kernel"], model.get_layer("z").params["bias"]
    z = x @ kernel + bias
    loss, targets = LOSSES[name][0](), _targets(name, labels, onehot, binary)
    p = model.forward(x, training=True)
    rtol = tolerance("float64").rtol
    assert model.compute_loss(loss, targets, p) == pytest.approx(_cross_entropy(name, z, labels, onehot, binary),
                                                                 rel=rtol)
    model.backward_loss(loss, targets, p)
    dz = (special.expit(z) - binary) / 3 if name == "binary" else special.softmax(z, axis=-1) - onehot
    np.testing.assert_allclose(model.grads["z/kernel"], x.T @ dz / len(x), rtol=rtol)


def _dense_softmax():
    return nm.Sequential([nm.Dense(3, activation="softmax", name="out")], dtype="float64").build((None, 5), seed=0)


@pytest.mark.parametrize("name", list(LOSSES))
def test_from_logits_true_reads_the_cached_logits_on_tensorflow_and_the_output_elsewhere(name):
    model = _dense_softmax()
    x, labels, onehot, binary = _data()
    loss, targets = LOSSES[name][0](from_logits=True), _targets(name, labels, onehot, binary)
    p = model.forward(x)
    z = x @ model.params["out/kernel"] + model.params["out/bias"]
    rtol = tolerance("float64").rtol
    assert model.compute_loss(loss, targets, p) == pytest.approx(_cross_entropy(name, z, labels, onehot, binary),
                                                                 rel=rtol)
    with conventions.conventions(cached_logits=False):  # JAX, PyTorch: softmax of the probabilities again
        assert model.compute_loss(loss, targets, p) == pytest.approx(
            _cross_entropy(name, p, labels, onehot, binary), rel=rtol)


def test_every_cross_entropy_reads_either_activations_logits_and_no_other_loss_does():
    for cls in (losses.CategoricalCrossentropy, losses.SparseCategoricalCrossentropy, losses.BinaryCrossentropy):
        for from_logits in (False, True):
            loss = cls(from_logits=from_logits)
            assert loss.uses_logits_of("softmax") and loss.uses_logits_of("sigmoid")
            assert not loss.uses_logits_of("linear") and not loss.uses_logits_of("relu")
            with conventions.conventions(cached_logits=False):
                assert not loss.uses_logits_of("softmax")
    assert not losses.MeanSquaredError().uses_logits_of("softmax")


# -- Keras: parity.verify on TensorFlow ------------------------------------------------------------------------

HEADS = {"softmax_layer": ("Softmax", {}), "activation_softmax": ("Activation", {"activation": "softmax"}),
         "activation_sigmoid": ("Activation", {"activation": "sigmoid"}),
         "dense_softmax": ("Dense", {"units": 3, "activation": "softmax"}),
         "dense_sigmoid": ("Dense", {"units": 3, "activation": "sigmoid"})}
KERAS_LOSSES = {"categorical": "CategoricalCrossentropy", "sparse": "SparseCategoricalCrossentropy",
                "binary": "BinaryCrossentropy"}
# (architecture, output head, loss, from_logits): each failed verify before the twin read what Keras reads
VERIFY_CASES = [
    ("sequential", "softmax_layer", "categorical", False),
    ("functional", "softmax_layer", "categorical", False),
    ("functional", "softmax_layer", "sparse", False),
    ("functional", "softmax_layer", "categorical", True),
    ("sequential", "dense_softmax", "categorical", True),
    ("functional", "activation_softmax", "sparse", True),
    ("sequential", "dense_sigmoid", "binary", True),
    ("functional", "activation_sigmoid", "binary", True),
    ("functional", "dense_softmax", "binary", False),  # crossed: BCE of the softmax's logits, on TensorFlow
    ("sequential", "activation_sigmoid", "categorical", False),  # crossed: softmax CE of the sigmoid's logits
]


def _stacked(architecture, stack):
    """The Keras layers ``stack`` on a (5,) input, as a Sequential or a functional Model."""
    import keras

    if architecture == "sequential":
        return keras.Sequential([keras.Input((5,)), *stack])
    inputs = keras.Input((5,))
    h = inputs
    for layer in stack:
        h = layer(h)
    return keras.Model(inputs, h)


def _keras_model(architecture, head, loss, from_logits):
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)
    cls, kwargs = HEADS[head]
    stack = [layers.Dense(4, activation="tanh", name="h"), layers.Dense(3, name="z"),
             getattr(layers, cls)(name="out", **kwargs)]
    model = _stacked(architecture, stack)
    model.compile(loss=getattr(keras.losses, KERAS_LOSSES[loss])(from_logits=from_logits), optimizer="sgd")
    return model


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("architecture, head, loss, from_logits", VERIFY_CASES,
                         ids=[f"{a}-{h}-{l}-from_logits={f}" for a, h, l, f in VERIFY_CASES])
def test_verify_passes_a_correct_model_whatever_its_output_softmax(architecture, head, loss, from_logits, dtype):
    pytest.importorskip("keras")
    from parity import verify

    x, labels, onehot, binary = _data()
    model = _keras_model(architecture, head, loss, from_logits)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not represent logits")  # Keras's own warning
        result = verify(model, x.astype("float32"), _targets(loss, labels, onehot, binary), steps=3, dtype=dtype)
    assert result.passed, str(result)
    assert len(result.steps) == 3


def _nested_model(architecture):
    """A Dense "h" then a nested Sequential ending in a Softmax layer, under CategoricalCrossentropy(from_logits=True):
    Keras reads the nested model's cached logits too."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)
    inner = keras.Sequential([keras.Input((4,)), layers.Dense(3, name="z"), layers.Softmax(name="out")], name="inner")
    if architecture == "sequential":
        model = keras.Sequential([keras.Input((5,)), layers.Dense(4, activation="tanh", name="h"), inner])
    else:
        inputs = keras.Input((5,))
        model = keras.Model(inputs, inner(layers.Dense(4, activation="tanh", name="h")(inputs)))
    model.compile(loss=keras.losses.CategoricalCrossentropy(from_logits=True), optimizer="sgd")
    return model


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("architecture", ["sequential", "functional"])
def test_verify_reads_the_logits_of_a_nested_models_softmax(architecture, dtype):
    pytest.importorskip("keras")
    from parity import verify

    x, _, onehot, _ = _data()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not represent logits")
        result = verify(_nested_model(architecture), x.astype("float32"), onehot, steps=3, dtype=dtype)
    assert result.passed, str(result)


# -- JAX and PyTorch: no cached logits -------------------------------------------------------------------------

def _verify_each(paths, x, targets):
    """In a backend process: verify's verdict and first divergence for each saved model."""
    from parity.verify.api import _verify_elsewhere

    return [(r.passed, r.divergence) for r in
            (_verify_elsewhere(str(p), {"x": x, "y": t, "steps": 3}) for p, t in zip(paths, targets, strict=True))]


@pytest.mark.parametrize("backend", BACKENDS)
def test_verify_on_a_backend_without_cached_logits_takes_the_output_as_it_is(backend, tmp_path):
    pytest.importorskip(backend, reason=f"{backend} is not installed: pip install -e '.[{backend}]'")
    pytest.importorskip("keras")
    from parity.checks.backends import run_on

    x, labels, onehot, binary = _data()
    cases = [("functional", "softmax_layer", "categorical", False),  # the probabilities, renormalised and clipped
             ("sequential", "dense_softmax", "categorical", True),  # softmax of the probabilities again
             ("functional", "activation_sigmoid", "categorical", False)]
    paths = []
    for i, case in enumerate(cases):
        paths.append(tmp_path / f"m{i}.keras")
        _keras_model(*case).save(paths[-1])
    targets = [_targets(case[2], labels, onehot, binary) for case in cases]
    verdicts = run_on(backend, _verify_each, paths, x.astype("float32"), targets, reuse=True)
    assert all(passed for passed, _ in verdicts), verdicts


# -- a layer that returns its input after the softmax: Keras reads the logits through it ---------------------

# Measured on TensorFlow (eager compute_loss and train_on_batch, training and inference): Activation("linear"),
# Dropout(0.0) and, at inference, any Dropout/GaussianNoise return the very same tensor, so the loss still reads
# its _keras_logits; a Dropout(0.5) in training returns a new tensor and the loss takes that as it is.
TAILS = {"linear": ("Activation", {"activation": "linear"}), "dropout0": ("Dropout", {"rate": 0.0}),
         "dropout_half": ("Dropout", {"rate": 0.5, "seed": 1})}
PASS_CASES = [(a, t, f) for a in ("sequential", "functional", "nested") for t in ("linear", "dropout0")
              for f in (False, True)] + [(a, "dropout_half", True) for a in ("sequential", "functional")]


def _tailed_model(architecture, tail, from_logits):
    """Dense "z" -> Softmax -> a tail layer, under CategoricalCrossentropy; "nested": the three in a Sequential."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)
    cls, kwargs = TAILS[tail]
    stack = [layers.Dense(3, name="z"), layers.Softmax(name="out"), getattr(layers, cls)(name="tail", **kwargs)]
    if architecture == "nested":
        model = keras.Sequential([keras.Input((5,)), keras.Sequential([keras.Input((5,)), *stack], name="inner")])
    else:
        model = _stacked(architecture, stack)
    model.compile(loss=keras.losses.CategoricalCrossentropy(from_logits=from_logits), optimizer="sgd")
    return model


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("architecture, tail, from_logits", PASS_CASES,
                         ids=[f"{a}-{t}-from_logits={f}" for a, t, f in PASS_CASES])
def test_verify_reads_the_logits_through_a_layer_that_returns_its_input(architecture, tail, from_logits, dtype):
    pytest.importorskip("keras")
    from parity import verify

    x, _, onehot, _ = _data()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not represent logits")
        result = verify(_tailed_model(architecture, tail, from_logits), x.astype("float32"), onehot, steps=3,
                        dtype=dtype)
    assert result.passed, str(result)


@pytest.mark.parametrize("tail", ["linear", "dropout", "noise"])
@pytest.mark.parametrize("training", [False, True])
def test_the_twin_reads_through_a_tail_only_when_it_returned_its_input(tail, training):
    layer = {"linear": nm.Activation("linear", name="t"), "dropout": nm.Dropout(0.5, seed=0, name="t"),
             "noise": nm.GaussianNoise(0.5, seed=0, name="t")}[tail]
    model = nm.Sequential([nm.Dense(3, activation="softmax", name="out"), layer], dtype="float64").build((None, 5),
                                                                                                      seed=0)
    x, labels, onehot, binary = _data()
    loss = losses.CategoricalCrossentropy(from_logits=True)
    p = model.forward(x, training=training)
    z = x @ model.params["out/kernel"] + model.params["out/bias"]
    through = tail == "linear" or not training  # noise layers return their input only at inference
    expected = _cross_entropy("categorical", z if through else p, labels, onehot, binary)
    assert model.compute_loss(loss, onehot, p) == pytest.approx(expected, rel=tolerance("float64").rtol)


def test_a_logits_read_through_a_tensor_that_also_feeds_another_branch_is_refused_by_name():
    inputs = nm.Input((5,), dtype="float64")
    p = nm.Softmax(name="p", dtype="float64")(nm.Dense(3, name="z", dtype="float64")(inputs))
    model = nm.Model(inputs, [nm.Dropout(0.0, name="t", dtype="float64")(p), nm.Dense(2, name="o2", dtype="float64")(p)])
    x, _, onehot, _ = _data()
    outputs = model.forward(x, training=True)
    with pytest.raises(ValueError, match=r"cached logits of 'p'.*Received: shared_with=\['o2'\]"):
        model.compute_loss([losses.CategoricalCrossentropy(from_logits=True), losses.MeanSquaredError()],
                           [onehot, np.zeros((len(x), 2))], outputs)
