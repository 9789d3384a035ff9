"""from_keras / to_keras: a saved Functional model's twin agrees with Keras; every layer type round-trips."""
import json
import subprocess
import sys

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import numpy_models as nm  # noqa: E402
from keras_models.build import keras_dtype  # noqa: E402
from keras_models.functional import keyed_variables  # noqa: E402
from parity import assert_all_passed, compare, from_keras, to_keras, tolerance  # noqa: E402
from parity.convert import UnsupportedModelError  # noqa: E402
from parity.checks.graph_checks import check_gradients, check_training_steps  # noqa: E402
from tests.graph_models import residual_inception_model  # noqa: E402

L = keras.layers
DTYPES = ["float64", "float32"]


def _data(dtype, seed=0):
    rng = np.random.default_rng(seed)
    xs = [rng.standard_normal((4, 6, 6, 3)).astype(dtype), rng.standard_normal((4, 4)).astype(dtype)]
    return xs, rng.standard_normal((4, 3)).astype(dtype)


@pytest.fixture(scope="module", params=DTYPES)
def saved(request, tmp_path_factory):
    dtype = request.param
    path = tmp_path_factory.mktemp(dtype) / "net.keras"
    keras.utils.set_random_seed(0)
    with keras_dtype(dtype):
        residual_inception_model().save(path)
    return dtype, path


def _load(path):
    return keras.saving.load_model(path)


def test_twin_weights_are_keras_weights_bit_for_bit(saved):
    dtype, path = saved
    twin, k_model = from_keras(path), _load(path)
    assert twin.dtype == dtype and list(twin.weights) == [k for k, _ in keyed_variables(k_model)]
    assert_all_passed([compare(twin.weights[k], v.numpy(), k, tolerance(dtype, "roundtrip"))
                       for k, v in keyed_variables(k_model)])


@pytest.mark.parametrize("training", [False, True], ids=["inference", "training"])
def test_output_input_and_weight_gradients_match_keras(saved, training):
    dtype, path = saved
    xs, dout = _data(dtype)
    assert_all_passed(check_gradients(_load(path), from_keras(path), xs, [dout], training=training), dtype)


def test_ten_adam_steps_match_keras(saved):
    dtype, path = saved
    twin, k_model = from_keras(path), _load(path)
    assert isinstance(twin.loss, nm.losses.MeanSquaredError) and isinstance(twin.optimizer, nm.optimizers.Adam)
    xs, y = _data(dtype, seed=1)
    assert_all_passed(check_training_steps(k_model, twin, xs, [y], steps=10), f"{dtype} Adam")


@pytest.mark.parametrize("layer_class", ["Maximum", "Minimum"])
def test_tie_rule_matches_tf_autodiff(layer_class):
    """Equal inputs: TF's gradient of maximum/minimum goes to the earliest input; so does the twin's."""
    with keras_dtype("float64"):
        x = keras.Input((3,), name="x")
        d = L.Dense(3, name="d")
        model = keras.Model(x, getattr(L, layer_class)(name="sel")([d(x), d(x), L.Dense(3, name="e")(x)]))
    xs = [np.random.default_rng(0).standard_normal((2, 3))]
    dout = np.random.default_rng(1).standard_normal((2, 3))
    assert_all_passed(check_gradients(model, from_keras(model), xs, [dout]), layer_class)


def every_layer_numpy_model():
    """Every numpy_models layer type, a nested Model and a nested Sequential."""
    x = nm.Input((8, 8, 2), name="x")
    h = nm.Conv2D(3, 3, padding="same", activation="relu", name="conv")(x)
    h = nm.BatchNormalization(name="bn")(h)
    a = nm.MaxPooling2D(name="maxpool")(h)
    b = nm.AveragePooling2D(name="avgpool")(h)
    merged = [m(name=m.__name__.lower())([a, b]) for m in (nm.Add, nm.Subtract, nm.Multiply, nm.Average,
                                                            nm.Maximum, nm.Minimum)]
    h = nm.Concatenate(name="concat")(merged)
    gap = nm.GlobalAveragePooling2D(name="gap")(h)
    flat = nm.Dropout(0.25, name="drop")(nm.Flatten(name="flat")(h))
    inner_in = nm.Input((18,), name="inner_in")
    inner = nm.Model(inner_in, nm.Dense(4, activation="tanh", name="inner_dense")(inner_in), name="inner")
    seq = nm.Sequential([nm.Dense(5, name="seq_dense"), nm.Activation("sigmoid", name="seq_act")], name="seq")
    out = nm.Dense(2, activation="softmax", name="out")(nm.Concatenate(name="cat2")([inner(gap), seq(flat)]))
    return nm.Model(x, [out, gap], name="every_layer")


def _without_auto_input_names(config):
    """A nested keras.Sequential built on first call names its InputLayer from a global counter."""
    for entry in config["layers"]:
        if entry["class_name"] == "Sequential":
            for inner in entry["config"]["layers"]:
                if inner["class_name"] == "InputLayer":
                    inner["config"].pop("name")
    return config


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_layer_type_round_trips(dtype):
    model = every_layer_numpy_model()
    model.cast(dtype)
    rng = np.random.default_rng(0)
    model.set_weights([rng.standard_normal(w.shape).astype(dtype) for w in model.get_weights()])
    k_model = to_keras(model)
    back = from_keras(k_model)
    assert back.get_config() == model.get_config()
    assert_all_passed([compare(back.weights[k], v, k, tolerance(dtype, "roundtrip")) for k, v in model.weights.items()])
    assert _without_auto_input_names(to_keras(back).get_config()) == _without_auto_input_names(k_model.get_config())
    x = rng.standard_normal((2, 8, 8, 2)).astype(dtype)
    # Eager call: in float64, Keras's compiled predict() differs from its own eager result by ~1e-8 here.
    reference = [o.numpy() for o in k_model(x, training=False)]
    assert_all_passed([compare(a, b, f"output {i}", tolerance(dtype))
                       for i, (a, b) in enumerate(zip(model.predict(x), reference, strict=True))])


def test_sequential_round_trips_as_sequential():
    layers = [nm.Dense(3, activation="relu", name="a"), nm.Dense(2, name="b")]
    model = nm.Sequential(layers, name="seq").build((None, 4))
    k_model = to_keras(model)
    assert type(k_model).__name__ == "Sequential"
    back = from_keras(k_model)
    assert isinstance(back, nm.Sequential) and back.get_config() == model.get_config()


def test_unsupported_layers_are_refused_together():
    x, seq = keras.Input((4,), name="x"), keras.Input((5, 3), name="seq")
    h = L.Dense(4, kernel_constraint=keras.constraints.NonNeg(), name="constrained")(x)
    h = L.Lambda(lambda t: t * 2.0, name="double")(h)
    out = L.Concatenate(name="cat")([h, L.LSTM(2, name="rnn")(seq)])
    with pytest.raises(UnsupportedModelError) as info:
        from_keras(keras.Model([x, seq], out))
    message = str(info.value)
    assert len(info.value.problems) == 3, message
    for piece in ("Dense 'constrained': kernel_constraint", "Lambda 'double'", "LSTM 'rnn'"):
        assert piece in message


def test_unsupported_optimizer_is_refused_by_name():
    x = keras.Input((2,))
    model = keras.Model(x, L.Dense(1)(x))
    model.compile(loss="mse", optimizer=keras.optimizers.Lion())
    with pytest.raises(UnsupportedModelError, match="optimizer Lion"):
        from_keras(model)


SCHEDULES = {  # Keras schedules with a NumPy twin: each changes the rate within ten steps
    "exponential_staircase": ("ExponentialDecay", {"initial_learning_rate": 0.05, "decay_steps": 2,
                                                   "decay_rate": 0.5, "staircase": True}),
    "piecewise": ("PiecewiseConstantDecay", {"boundaries": [3, 6], "values": [0.1, 0.05, 0.01]}),
    "cosine": ("CosineDecay", {"initial_learning_rate": 0.01, "decay_steps": 8, "alpha": 0.1}),
}


def _compiled_with(schedule, dtype, optimizer="Adam"):
    with keras_dtype(dtype):
        x = keras.Input((4,), name="x")
        model = keras.Model(x, L.Dense(3, name="out")(L.Dense(5, activation="tanh", name="hidden")(x)))
    model.compile(loss="mse", optimizer=getattr(keras.optimizers, optimizer)(schedule))
    return model


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(SCHEDULES))
def test_a_learning_rate_schedule_is_carried_over_and_ten_steps_match_keras(name, dtype):
    class_name, config = SCHEDULES[name]
    model = _compiled_with(getattr(keras.optimizers.schedules, class_name)(**config), dtype)
    twin = from_keras(model)
    schedule = twin.optimizer.learning_rate
    assert type(schedule) is getattr(nm.optimizers.schedules, class_name) and schedule.get_config() == config
    xs, y = [np.random.default_rng(1).standard_normal((6, 4)).astype(dtype)], np.zeros((6, 3), dtype)
    assert_all_passed(check_training_steps(model, twin, xs, [y], steps=10), f"{dtype} {name}")
    # the steps see the schedule: a twin whose rate stops changing after the third step fails at the first step
    # whose rate then differs (the schedule is read at the iterations before the step: 0 for step 1)
    twin = from_keras(model)
    twin.optimizer.learning_rate = lambda step, dtype="float64", real=schedule: real(min(step, 2), dtype)
    first = next(k for k in range(10) if schedule(k) != schedule(min(k, 2))) + 1
    failed = [c.name for c in check_training_steps(model, twin, xs, [y], steps=10) if not c.passed]
    assert failed and failed[0].startswith(f"step {first}: "), failed[:3]


@pytest.mark.parametrize("schedule, message", [
    (lambda: keras.optimizers.schedules.InverseTimeDecay(0.01, 8, 0.5),
     "learning_rate schedule InverseTimeDecay is not implemented"),
    (lambda: keras.optimizers.schedules.CosineDecay(0.01, 8, warmup_target=0.02, warmup_steps=3),
     "CosineDecay warmup_target=0.02 is not supported"),
], ids=["inverse_time", "cosine_warmup"])
def test_a_schedule_the_twin_cannot_reproduce_is_refused_by_name(schedule, message):
    with pytest.raises(UnsupportedModelError, match=message):
        from_keras(_compiled_with(schedule(), "float32", "SGD"))


def test_missing_and_corrupt_files_raise_one_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="No Keras model file"):
        from_keras(tmp_path / "missing.keras")
    (tmp_path / "corrupt.keras").write_bytes(b"this is not a zip archive")
    with pytest.raises(ValueError, match="Could not load a Keras model"):
        from_keras(tmp_path / "corrupt.keras")


def test_twin_predicts_from_npz_with_numpy_alone(saved, tmp_path):
    """Config (JSON) and weights (npz) reload in a fresh process that never imports TensorFlow."""
    dtype, path = saved
    twin = from_keras(path)
    xs, _ = _data(dtype)
    (tmp_path / "config.json").write_text(json.dumps(twin.get_config()))
    twin.save_weights(tmp_path / "w.npz")
    np.savez(tmp_path / "io.npz", img=xs[0], vec=xs[1], y=twin.predict(xs))
    script = (
        "import json, sys, numpy as np, numpy_models as nm\n"
        f"m = nm.model_from_config(json.load(open({str(tmp_path / 'config.json')!r})))\n"
        f"m.cast({dtype!r}); m.load_weights({str(tmp_path / 'w.npz')!r})\n"
        f"d = np.load({str(tmp_path / 'io.npz')!r})\n"
        "assert np.array_equal(m.predict([d['img'], d['vec']]), d['y'])\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", script], check=True, cwd=str(tmp_path.parent),
                   env={"PYTHONPATH": str(__import__("pathlib").Path(__file__).resolve().parents[1])})


def test_two_outputs_with_loss_weights_train_like_keras():
    """A loss per output and loss_weights: losses, gradients, SGD momentum steps (float64)."""
    keras.utils.set_random_seed(1)
    with keras_dtype("float64"):
        x = keras.Input((3,), name="x")
        h = L.Dense(4, activation="tanh", name="trunk")(x)
        model = keras.Model(x, [L.Dense(2, name="out_a")(h), L.Dense(1, name="out_b")(h)])
        model.compile(loss=["mse", "mae"], optimizer=keras.optimizers.SGD(0.1, momentum=0.9), loss_weights=[1.0, 0.25])
    twin = from_keras(model)
    assert twin.loss_weights == [1.0, 0.25] and isinstance(twin.optimizer, nm.optimizers.SGD)
    rng = np.random.default_rng(0)
    xs, ys = [rng.standard_normal((5, 3))], [rng.standard_normal((5, 2)), rng.standard_normal((5, 1))]
    assert_all_passed(check_training_steps(model, twin, xs, ys, steps=3), "two outputs")


def test_dtype_argument_casts_the_twin():
    keras.utils.set_random_seed(0)
    x = keras.Input((3,))
    twin = from_keras(keras.Model(x, L.Dense(2, name="d")(x)), dtype="float64")
    assert twin.dtype == "float64" and twin.weights["d/kernel"].dtype == np.float64


def _variable_size_conv(sequential=False):
    """A fully convolutional net on images of any size: keras.Input((None, None, 3))."""
    keras.utils.set_random_seed(0)
    layers = [L.Conv2D(4, 3, padding="same", activation="relu", name="c"), L.MaxPooling2D(2, name="pool"),
              L.GlobalAveragePooling2D(name="gap"), L.Dense(2, name="out")]
    if sequential:
        return keras.Sequential([keras.Input((None, None, 3), name="img")] + layers)
    img = keras.Input((None, None, 3), name="img")
    h = img
    for layer in layers:
        h = layer(h)
    return keras.Model(img, h)


@pytest.mark.parametrize("sequential", [False, True], ids=["functional", "sequential"])
def test_a_variable_size_input_is_built_on_the_shapes_given(sequential):
    k_model = _variable_size_conv(sequential)
    with pytest.raises(ValueError, match=r"from_keras: the twin of '.*' needs a concrete size for input 'img' \(shape "
                                         r"\(None, None, None, 3\): dimensions 1, 2 are None\): Layer 'c' \(Conv2D\): "
                                         r"needs a concrete input height and width.*Pass input_shapes=\[\(32, 32, 3\)\]"):
        from_keras(k_model)
    x = np.random.default_rng(0).standard_normal((2, 7, 5, 3)).astype("float32")
    for shapes in ((7, 5, 3), [(7, 5, 3)]):
        twin = from_keras(k_model, input_shapes=shapes)
        assert_all_passed([compare(twin.predict(x), k_model(x, training=False).numpy(), "output",
                                   tolerance("float32"))])
    for bad in ((7, 5), (7, 5, 4), (0, 5, 3), [(7, 5, 3), (7, 5, 3)]):
        with pytest.raises(ValueError, match=r"from_keras: input_shapes .*Received: "):
            from_keras(k_model, input_shapes=bad)


def test_a_variable_length_text_model_still_converts_without_shapes():
    tokens = keras.Input((None,), dtype="int32", name="tokens")
    k_model = keras.Model(tokens, L.Dense(1, name="out")(L.GlobalAveragePooling1D(name="gap")(
        L.Embedding(20, 4, name="emb")(tokens))))
    twin = from_keras(k_model)  # Embedding, global pooling and Dense run on any length
    x = np.array([[1, 2, 3, 4, 5, 6], [7, 8, 9, 0, 1, 2]])
    np.testing.assert_allclose(twin.predict(x), k_model(x).numpy(), rtol=1e-6)
