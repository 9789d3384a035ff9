"""parity.verify on correct models of the kinds users save: a Sequential loaded from ``.keras`` (its layers called
once per rebuild), a bias feeding BatchNormalization (a gradient that is exactly zero), Dropout (random masks)."""
import json
import subprocess
import sys

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import numpy_models as nm  # noqa: E402
from keras_models.build import keras_dtype  # noqa: E402
from parity import from_keras, verify  # noqa: E402
from parity.checks.nodes import numpy_outputs  # noqa: E402
from parity.verify import masks  # noqa: E402
from parity.verify.cli import write  # noqa: E402
from tests.perturbed_optimizers import BiasBump, RMSpropBiasBump  # noqa: E402
from tests.repro_runs import repro_with  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")  # verify uses fresh ones


def _sequential(conv):
    if conv:
        return [keras.Input((6, 6, 2)), keras.layers.Conv2D(3, 3, activation="relu", name="conv"),
                keras.layers.MaxPooling2D(name="pool"), keras.layers.Flatten(name="flat"),
                keras.layers.Dense(2, activation="softmax", name="out")]
    return [keras.Input((5,)), keras.layers.Dense(4, activation="relu", name="hidden"),
            keras.layers.Dense(3, activation="softmax", name="out")]


@pytest.mark.parametrize("conv", [False, True], ids=["dense", "cnn"])
def test_sequential_saved_as_keras_file_passes_with_its_own_node_names(tmp_path, conv):
    keras.utils.set_random_seed(0)
    with keras_dtype("float64"):
        model = keras.Sequential(_sequential(conv))
        model.compile(loss="categorical_crossentropy", optimizer="adam")
    model.save(tmp_path / "seq.keras")
    result = verify(tmp_path / "seq.keras", steps=2)
    assert result.passed, str(result)
    assert [r["node"] for r in result.layers] == [layer.name for layer in model.layers]  # each layer called once


def _bias_into_batchnorm(conv):
    """Dense -> Add -> BatchNormalization, or Conv2D -> BatchNormalization -> ReLU: d2/bias has gradient 0."""
    if conv:
        x = keras.Input((5, 5, 2))
        h = keras.layers.ReLU(name="relu")(keras.layers.BatchNormalization(name="bn")(
            keras.layers.Conv2D(3, 3, padding="same", name="d2")(x)))
        h = keras.layers.GlobalAveragePooling2D(name="gap")(h)
    else:
        x = keras.Input((6,))
        h = keras.layers.Add(name="res")([x, keras.layers.Dense(6, name="d2")(x)])
        h = keras.layers.BatchNormalization(name="bn")(h)
    return keras.Model(x, keras.layers.Dense(2, name="head")(h))


def _sequential_bias_into_batchnorm(conv):
    """The same blocks as a Sequential (walkthrough 2: its zero-gradient floors were missing, the twin having no
    per-layer output gradients): Dense -> BatchNormalization -> Dense, or Conv2D -> BatchNormalization -> ReLU."""
    if conv:
        layers = [keras.Input((5, 5, 2)), keras.layers.Conv2D(3, 3, padding="same", name="d2"),
                  keras.layers.BatchNormalization(name="bn"), keras.layers.ReLU(name="relu"),
                  keras.layers.GlobalAveragePooling2D(name="gap")]
    else:
        layers = [keras.Input((6,)), keras.layers.Dense(6, name="d2"), keras.layers.BatchNormalization(name="bn")]
    return keras.Sequential(layers + [keras.layers.Dense(2, name="head")])


@pytest.mark.parametrize("build, conv, dtype, optimizer", [
    (_bias_into_batchnorm, False, "float64", "sgd"), (_bias_into_batchnorm, False, "float64", "adam"),
    (_bias_into_batchnorm, False, "float32", "rmsprop"), (_bias_into_batchnorm, True, "float64", "adam"),
    (_bias_into_batchnorm, True, "float32", "sgd"), (_bias_into_batchnorm, True, "float32", "adam"),
    (_sequential_bias_into_batchnorm, False, "float64", "sgd"), (_sequential_bias_into_batchnorm, True, "float32", "adam"),
], ids=["dense-float64-sgd", "dense-float64-adam", "dense-float32-rmsprop", "conv-float64-adam", "conv-float32-sgd",
        "conv-float32-adam", "sequential-dense-float64-sgd", "sequential-conv-float32-adam"])
def test_bias_feeding_batchnorm_passes_every_step(build, conv, dtype, optimizer):
    keras.utils.set_random_seed(0)
    with keras_dtype(dtype):
        model = build(conv)
    result = verify(model, steps=6, optimizer=optimizer)
    assert result.passed, str(result)


@pytest.mark.parametrize("build, dtype, optimizer, bumped", [
    (_bias_into_batchnorm, "float64", "adam", BiasBump), (_bias_into_batchnorm, "float32", "adam", BiasBump),
    (_bias_into_batchnorm, "float32", "rmsprop", RMSpropBiasBump),
    (_sequential_bias_into_batchnorm, "float32", "adam", BiasBump),
], ids=["float64-adam", "float32-adam", "float32-rmsprop", "sequential-float32-adam"])
def test_slip_in_a_bias_feeding_batchnorm_is_still_found_at_its_step(tmp_path, build, dtype, optimizer, bumped):
    # in float32 each side's Adam or RMSprop steps that bias by ~lr/10 on its own round-off (gradient ~1e-8 < epsilon),
    # 2e-5..1e-4 apart over steps 1-4: the slip (PERTURBATION = 1e-6) is well under that
    keras.utils.set_random_seed(0)
    with keras_dtype(dtype):
        model = build(conv=False)
        model.compile(loss="mse", optimizer=optimizer)
    twin = from_keras(model)
    twin.optimizer.__class__ = bumped  # the converted optimizer, its d2/bias bumped by PERTURBATION after step 2
    result = verify(model, steps=4, twin=twin)
    found = result.divergence["training"]
    assert (found["step"], found["phase"], found["tensor"]) == (2, "update", "d2/bias"), found
    md = str(result)
    assert "## loss at each step (4 of 4 hold)" in md and "- the state first fails after step 2" in md, md
    write(result, tmp_path)
    done = subprocess.run([sys.executable, str(tmp_path / "repro.py")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "step 2 d2/bias: " in done.stdout and "MISMATCH" in done.stdout, done.stdout


def _with_dropout(seed):
    x = keras.Input((6,))
    h = keras.layers.Dropout(0.3, seed=seed, name="drop")(keras.layers.Dense(5, activation="relu", name="d1")(x))
    return keras.Model(x, keras.layers.Dense(2, name="head")(h))


@pytest.mark.parametrize("seed", [None, 7], ids=["unseeded", "seeded"])
def test_dropout_masks_are_replayed_so_a_saved_model_passes_alike_every_run(tmp_path, seed):
    keras.utils.set_random_seed(0)
    with keras_dtype("float64"):
        _with_dropout(seed).save(tmp_path / "drop.keras")
    runs = [verify(tmp_path / "drop.keras", steps=4, optimizer="sgd") for _ in range(2)]
    assert all(r.passed for r in runs), str(runs[0])
    assert [s["max_rel"] for s in runs[0].steps] == [s["max_rel"] for s in runs[1].steps]


def test_dropout_rate_slip_is_found_at_step_one_in_the_dropout_layer():
    keras.utils.set_random_seed(0)
    with keras_dtype("float64"):
        model = _with_dropout(seed=None)
        model.compile(loss="mse", optimizer="sgd")
    twin = from_keras(model)
    twin.get_layer("drop").rate = 0.4  # a slip: other masks and another scale than Keras's 0.3
    found = verify(model, steps=2, twin=twin).divergence["training"]
    assert (found["step"], found["phase"], found["layer"]) == (1, "forward", "drop"), found


def test_a_dropout_of_rate_zero_draws_nothing_and_verifies():
    # Keras gives Dropout(0.0) and GaussianNoise(0.0) no SeedGenerator: nothing to replay (was refused by name)
    keras.utils.set_random_seed(0)
    with keras_dtype("float64"):
        x = keras.Input((6,))
        h = keras.layers.Dropout(0.0, name="drop")(keras.layers.Dense(5, activation="relu", name="d1")(x))
        model = keras.Model(x, keras.layers.Dense(2, name="head")(keras.layers.GaussianNoise(0.0, name="noise")(h)))
        model.compile(loss="mse", optimizer="sgd")
    result = verify(model, steps=2)
    assert result.passed, str(result)


def test_a_random_layer_without_a_keras_stream_is_refused_by_name():
    with keras_dtype("float64"):
        model = _with_dropout(seed=None)
    twin = from_keras(model)
    twin.get_layer("drop").name = "my_drop"  # no Keras layer of that name: nothing to replay
    with pytest.raises(ValueError, match="Layer 'my_drop' \\(Dropout\\): verify replays .* Received: Keras layer"):
        masks.install(twin, model)


def test_floors_cover_only_the_batchnorm_that_zero_gradient_tensors_feed():
    # bn_in/beta (through d2 and the Add) and d2/bias feed bn only; bn_out follows a ReLU, whose input bias counts
    from parity.verify import data, training
    from parity.verify.state_floors import fed_statistics

    keras.utils.set_random_seed(0)
    with keras_dtype("float64"):
        x = keras.Input((6,))
        h = keras.layers.BatchNormalization(name="bn_in")(x)
        h = keras.layers.Add(name="res")([h, keras.layers.Dense(6, name="d2")(h)])
        h = keras.layers.BatchNormalization(name="bn")(h)
        h = keras.layers.BatchNormalization(name="bn_out")(keras.layers.Dense(4, activation="relu", name="d3")(h))
        model = keras.Model(x, keras.layers.Dense(2, name="head")(h))
        model.compile(loss="mse", optimizer="adam")
    twin = from_keras(model)
    xs, ys, _ = data.arrays(model, twin.loss, "float64", batch=8)
    run = training.run_steps(training.start(model, twin, xs, ys), 2)
    # the zero gradients, and (CONDITIONED_GRADIENT_STATE) the other gradients that cancel over the batch
    assert {"bn_in/beta", "d2/bias"} <= run.shadow.keys
    bn, bn_out = {"bn/moving_mean", "bn/moving_variance"}, {"bn_out/moving_mean", "bn_out/moving_variance"}
    assert fed_statistics(run.twin, "bn_in/beta") == fed_statistics(run.twin, "d2/bias") == bn
    assert fed_statistics(run.twin, "d3/bias") == bn_out and fed_statistics(run.twin, "head/kernel") == set()
    stats = set().union(*(fed_statistics(run.twin, k) for k in run.shadow.keys))
    assert {k for _, k in run.floors[2]} == run.shadow.keys | stats
    training.finish(run)



def _bilinear():
    x = keras.Input((6, 6, 2))
    h = keras.layers.UpSampling2D(2, interpolation="bilinear", name="up")(keras.layers.Conv2D(3, 3, name="c")(x))
    return keras.Model(x, keras.layers.Dense(1, name="out")(keras.layers.Flatten(name="f")(h)))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_bilinear_upsampling_passes_finite_differences_and_keeps_kerass_float32_resize(dtype):
    # TF resizes in float32 whatever the dtype, and so does the twin (compute_in_float32); central differences of
    # that float32-rounded function read its round-off as a gradient error (1e-6..1.6e-4 against rtol 1e-6)
    keras.utils.set_random_seed(0)
    with keras_dtype(dtype):
        model = _bilinear()
        model.compile(loss="mse", optimizer="sgd")
    twin = from_keras(model)
    for seed in (0, 2):  # seed 2 failed d c/kernel at 1.6e-4 in both dtypes
        result = verify(model, steps=0, twin=twin, seed=seed)
        assert result.passed, str(result)
        assert all(r["max_rel"] < 1e-9 for r in result.finite_differences), result.finite_differences
    assert twin.get_layer("up").compute_in_float32  # the float64 copy switched it off, not the twin verify compares
    # still a float32 resize, as TF's: the float64 twin's output values are all float32 numbers (a float64 resize
    # would not give them). Not TF's bit for bit: that depends on the CPU (1.5e-7 apart in float32 on an AVX2
    # machine, 0 on the machine this test was written on), and the verdict above holds it to the tolerance.
    up = numpy_outputs(twin, np.random.default_rng(0).standard_normal((4, 6, 6, 2)).astype(dtype))["up"]
    assert up.dtype == dtype
    if dtype == "float64":
        assert np.array_equal(up, up.astype("float32"))


class _SlippedKernelGradient(nm.Dense):
    """Dense whose kernel gradient is 0.1% off: its output and input gradient hold, so no layer diverges."""

    def backward_call(self, dout):
        dx = super().backward_call(dout)
        self.grads["kernel"] *= 1 + 1e-3
        return dx


def test_a_failing_gradient_or_finite_difference_check_is_the_divergence_as_data(tmp_path):
    keras.utils.set_random_seed(0)
    with keras_dtype("float64"):
        model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, activation="tanh", name="hidden"),
                                  keras.layers.Dense(2, name="out")])
        model.compile(loss="mse", optimizer="sgd")
    twin = from_keras(model)
    twin.get_layer("hidden").__class__ = _SlippedKernelGradient
    result = verify(model, steps=0, twin=twin)
    assert not result.passed and all(r["passed"] for r in result.layers)
    write(result, tmp_path)
    div = json.loads((tmp_path / "verify.json").read_text())["divergence"]
    assert div["layers"] == {} and set(div["checks"]) == {"gradients", "finite_differences"}, div
    grad, fd = div["checks"]["gradients"], div["checks"]["finite_differences"]
    assert (grad["kind"], grad["tensor"], grad["name"], grad["failing"]) == \
        ("param", "hidden/kernel", "d hidden/kernel", 1)
    assert (fd["kind"], fd["tensor"], fd["failing"]) == ("finite_difference", "hidden/kernel", 1)
    assert grad["max_rel"] > grad["rtol"] == 1e-12 and fd["max_rel"] > fd["rtol"] == 1e-6
    # verify.md's lines are rendered from these fields, not from the tables
    result.divergence["checks"]["gradients"]["name"] = "rendered from the divergence"
    first = str(result).split("## First divergence")[1].split("##")[0]
    assert "`rendered from the divergence`" in first and "`d hidden/kernel (sampled)`" in first, first


RANDOM_LAYERS = {"Dropout": ("rate", lambda: keras.layers.Dropout(0.3, seed=5, name="drop")),
                 "SpatialDropout2D": ("rate", lambda: keras.layers.SpatialDropout2D(0.3, seed=5, name="drop")),
                 "GaussianNoise": ("stddev", lambda: keras.layers.GaussianNoise(0.3, seed=5, name="drop"))}


@pytest.mark.parametrize("kind", sorted(RANDOM_LAYERS))
def test_a_random_layers_repro_replays_the_keras_draw_so_it_passes_once_fixed(tmp_path, kind):
    # repro.py used to call the layer in training with a fresh NumPy mask (noise): MISMATCH whatever the fix
    attr, make = RANDOM_LAYERS[kind]
    keras.utils.set_random_seed(0)
    with keras_dtype("float32"):
        x = keras.Input((6, 6, 2))
        h = make()(keras.layers.Conv2D(3, 3, activation="relu", name="c")(x))
        model = keras.Model(x, keras.layers.Dense(2, name="head")(keras.layers.Flatten(name="f")(h)))
        model.compile(loss="mse", optimizer="sgd")
    twin = from_keras(model)
    setattr(twin.get_layer("drop"), attr, 0.4)  # a slip: Keras's is 0.3
    result = verify(model, steps=1, twin=twin)
    assert result.divergence["training"]["layer"] == "drop", str(result)
    write(result, tmp_path)
    wrong = repro_with(tmp_path)
    assert wrong.returncode == 1 and "output 0: " in wrong.stdout and "MISMATCH" in wrong.stdout, wrong.stdout
    fixed = repro_with(tmp_path, **{attr: 0.3})  # the fix: Keras's value
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr


def test_every_random_layer_is_rebuilt_from_its_config_as_a_repro_rebuilds_it():
    from numpy_models.registry import layer_from_config

    for layer in (nm.Dropout(0.3, seed=1), nm.SpatialDropout2D(0.3, seed=1), nm.GaussianNoise(0.3, seed=1)):
        config = {k: v for k, v in layer.get_config().items() if k != "name"}
        assert layer_from_config(type(layer).__name__, config, "again").get_config() == {**config, "name": "again"}
