"""Huber, LogCosh and MeanSquaredLogarithmicError compiled by name or as configured objects: from_keras converts
them (Huber's delta too, which Keras's get_config leaves out) and verify passes ten Adam steps in both dtypes."""
import numpy as np
import pytest

keras = pytest.importorskip("keras")

from keras_models.build import keras_dtype  # noqa: E402
from numpy_models import losses  # noqa: E402
from parity import from_keras, verify  # noqa: E402
from parity.verify import data  # noqa: E402
from parity.verify.api import keras_model  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")  # verify uses fresh ones

L = keras.layers
LOSSES = {  # id: (the compiled loss, made in the model's dtype; the twin's loss class; its options)
    "huber": (lambda: "huber", "Huber", {"delta": 1.0}),
    "Huber(delta=0.5)": (lambda: keras.losses.Huber(delta=0.5), "Huber", {"delta": 0.5}),
    "log_cosh": (lambda: "log_cosh", "LogCosh", {}),
    "LogCosh()": (lambda: keras.losses.LogCosh(), "LogCosh", {}),
    "msle": (lambda: "msle", "MeanSquaredLogarithmicError", {}),
    "MeanSquaredLogarithmicError()": (lambda: keras.losses.MeanSquaredLogarithmicError(),
                                      "MeanSquaredLogarithmicError", {}),
}


def _model(make_loss, dtype):
    keras.utils.set_random_seed(0)
    with keras_dtype(dtype):
        model = keras.Sequential([keras.Input((4,)), L.Dense(5, activation="tanh", name="hidden"),
                                  L.Dense(3, name="out")])
        model.compile(loss=make_loss(), optimizer=keras.optimizers.Adam(0.05))
    return model


def _data(dtype, cls="Huber"):
    """Errors of ~2: beyond Huber's delta for most elements, inside it for some; MSLE's targets >= 0."""
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((8, 4)), 2.0 * rng.standard_normal((8, 3))
    return x.astype(dtype), (np.abs(y) if cls == "MeanSquaredLogarithmicError" else y).astype(dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(LOSSES))
def test_a_model_compiled_with_the_loss_converts_and_passes_ten_adam_steps(name, dtype):
    make_loss, cls, options = LOSSES[name]
    model = _model(make_loss, dtype)
    twin = from_keras(model)
    assert type(twin.loss) is losses.CLASSES[cls]
    assert {key: twin.loss.get_config()[key] for key in options} == options
    result = verify(model, *_data(dtype, cls), steps=10)
    assert result.passed, str(result)
    assert len(result.steps) == 10 and result.settings["loss"] == cls


def test_a_twin_with_keras_huber_config_alone_fails_at_the_first_step():
    """Huber(delta=0.5).get_config() has no delta: a twin read from it alone (delta 1.0) is found at step 1."""
    model = _model(lambda: keras.losses.Huber(delta=0.5), "float64")
    twin = from_keras(model)
    twin.loss = losses.Huber(**{k: v for k, v in model.loss.get_config().items() if k == "delta"})
    result = verify(model, *_data("float64"), steps=2, twin=twin)
    assert not result.passed and result.divergence["training"]["step"] == 1, str(result)


def test_a_huber_object_made_anew_in_another_dtype_keeps_its_delta():
    model = _model(lambda: keras.losses.Huber(delta=0.5), "float32")
    assert keras_model(model, "float64")[0].loss._fn_kwargs == {"delta": 0.5}  # (model, input shapes)
    result = verify(model, *_data("float32"), steps=2, dtype="float64")
    assert result.passed and result.dtype == "float64", str(result)


def test_random_msle_targets_are_not_negative():
    """MSLE clips targets below its epsilon: negative random targets would all be the same target."""
    model = _model(lambda: "msle", "float64")
    _, ys, _ = data.arrays(model, losses.MeanSquaredLogarithmicError(), "float64", batch=64)
    assert ys[0].min() >= 0 and ys[0].std() > 0.3
