"""parity.verify's layer table on branches sharing an input, and its rows named by the model's inputs and outputs."""
import numpy as np
import pytest

keras = pytest.importorskip("keras")

from keras import layers as L  # noqa: E402

from parity import from_keras, verify  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")


@pytest.fixture(scope="module")
def concat():
    keras.utils.set_random_seed(0)
    i = keras.Input((6,), name="pixels")
    b1, b2 = L.Dense(4, activation="relu", name="b1")(i), L.Dense(3, activation="sigmoid", name="b2")(i)
    model = keras.Model(i, L.Dense(2, name="score")(L.Concatenate(name="cat")([b1, b2])))
    model.compile(loss="mse", optimizer="adam")
    return model


def test_a_wrong_branch_does_not_fail_the_correct_branch_sharing_its_input(concat):
    twin = from_keras(concat)
    kernel = twin.get_layer("b2").params["kernel"]
    kernel += 1e-3 * np.abs(kernel).max() * np.sign(kernel)
    x = np.random.default_rng(5).standard_normal((6, 6)).astype("float32")
    result = verify(concat, x, steps=0, twin=twin)
    rows = {r["node"]: r for r in result.layers}
    assert not rows["b2"]["passed"] and rows["b1"]["passed"], str(result)
    assert result.divergence["layers"]["chained"]["node"] == "b2"


def test_gradient_rows_are_named_by_the_model_input_and_output_layers(concat):
    names = [r["name"] for r in verify(concat, steps=0).gradients]
    assert names[:2] == ["output score", "d input pixels"]
