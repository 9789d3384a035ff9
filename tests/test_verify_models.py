"""parity.verify on correct models of the kinds users save: a Sequential loaded from ``.keras`` (its layers called
once per rebuild), a bias feeding BatchNormalization (a gradient that is exactly zero), Dropout (random masks)."""
import keras
import pytest

from keras_models.build import keras_dtype
from parity import verify

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
