"""Losses and loss weights compiled as dicts: the twin reads them as Keras 3.15's CompileLoss.build does.

Measured in Keras 3.15.1: a dict of losses names every output by its layer name (one missing or unknown key:
ValueError at the first fit); a dict of weights beside a dict of losses is read by name (missing key: KeyError,
unknown keys ignored); beside a list or a single loss its values are read by position in sorted-key order.
"""
import numpy as np
import pytest

keras = pytest.importorskip("keras")

from keras_models.build import keras_dtype  # noqa: E402
from keras_models.functional import graph_compiled_gradients  # noqa: E402
from parity import assert_all_passed, compare, from_keras, tolerance, verify  # noqa: E402
from parity.convert import UnsupportedModelError  # noqa: E402
from tests.perturbed_optimizers import PERTURBATION  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")  # verify uses fresh ones

L = keras.layers
DICT = {"loss": {"probs": "categorical_crossentropy", "value": "mse"}, "loss_weights": {"value": 0.5, "probs": 2.0}}
PER_OUTPUT = "value: MeanSquaredError (weight 0.5), probs: CategoricalCrossentropy (weight 2)"


def _two_outputs(dtype="float64", **compiled):
    """Outputs 'value' (regression) then 'probs' (softmax): output order differs from the dicts' and sorted order."""
    keras.utils.set_random_seed(0)
    with keras_dtype(dtype):
        x = keras.Input((5,), name="x")
        h = L.Dense(6, activation="tanh", name="trunk")(x)
        model = keras.Model(x, [L.Dense(2, name="value")(h), L.Dense(3, activation="softmax", name="probs")(h)])
        model.compile(optimizer=keras.optimizers.Adam(0.01), **compiled)
    return model


def _data(dtype="float64"):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 5)).astype(dtype)
    return x, [rng.standard_normal((6, 2)).astype(dtype), np.eye(3, dtype=dtype)[rng.integers(0, 3, 6)]]


def test_dict_losses_and_weights_pass_layers_gradients_and_adam_steps_in_float64():
    result = verify(_two_outputs(**DICT), steps=4)
    assert result.passed, str(result)
    assert len(result.steps) == 4 and result.gradients and result.finite_differences
    assert result.settings["loss"] == PER_OUTPUT and f"on {PER_OUTPUT}, data" in str(result)


def test_a_float32_model_verified_in_float64_keeps_its_dict_weights():
    result = verify(_two_outputs("float32", **DICT), steps=2, dtype="float64")
    assert result.passed and result.dtype == "float64", str(result)
    assert result.settings["loss"] == PER_OUTPUT


def test_a_saved_model_keeps_its_dict_losses(tmp_path):
    _two_outputs(**DICT).save(tmp_path / "two.keras")
    result = verify(tmp_path / "two.keras", steps=2)
    assert result.passed and result.settings["loss"] == PER_OUTPUT, str(result)


@pytest.mark.parametrize("compiled", [
    DICT,
    {"loss": {"probs": "categorical_crossentropy", "value": "mae"}, "loss_weights": [0.25, 3.0]},
    {"loss": ["mse", "categorical_crossentropy"], "loss_weights": {"value": 0.25, "probs": 3.0}},
    {"loss": {"value": "mse", "probs": "categorical_crossentropy"}, "loss_weights": {"value": 1.5, "probs": 0.5,
                                                                                     "unused": 9.0}},
    {"loss": "mse", "loss_weights": 0.5},
], ids=["dict-dict", "dict-list", "list-dict-by-sorted-key", "dict-dict-extra-key", "one-loss-one-weight"])
def test_the_twins_compiled_total_loss_and_its_gradients_equal_keras(compiled):
    model, (x, ys) = _two_outputs(**compiled), _data()
    twin, tol = from_keras(model), tolerance("float64")
    ref = graph_compiled_gradients(model, [x], ys, training=False)  # as fit() computes it (softmax: logits path)
    y_pred = twin.forward(x)
    value = twin.compute_loss(twin.loss, ys, y_pred, loss_weights=twin.loss_weights)
    twin.backward_loss(twin.loss, ys, y_pred, loss_weights=twin.loss_weights)
    assert_all_passed([compare(np.asarray(value), np.asarray(ref["value"]), "total loss", tol)] +
                      [compare(twin.grads[k], g, f"d {k}", tol) for k, g in ref["grads"].items()], "compiled loss")


def test_a_list_beside_a_dict_of_weights_takes_them_in_sorted_key_order_as_keras_does():
    model = _two_outputs(loss=["mse", "categorical_crossentropy"], loss_weights={"value": 0.25, "probs": 3.0})
    twin = from_keras(model)
    assert twin.loss_weights == [3.0, 0.25]  # 'probs' sorts first: its weight goes to the first output, 'value'


def test_a_single_output_model_takes_a_dict_naming_its_output():
    keras.utils.set_random_seed(0)
    with keras_dtype("float64"):
        x = keras.Input((3,), name="x")
        model = keras.Model(x, L.Dense(2, name="out")(x))
        model.compile(optimizer="sgd", loss={"out": "mae"}, loss_weights={"out": 0.5})
    result = verify(model, steps=2)
    assert result.passed and result.settings["loss"] == "out: MeanAbsoluteError (weight 0.5)", str(result)


def test_a_slip_in_a_dict_compiled_twin_is_found_at_its_layer():
    model = _two_outputs(**DICT)
    twin = from_keras(model)
    twin.get_layer("trunk").params["kernel"][...] += PERTURBATION
    result = verify(model, steps=2, twin=twin)
    assert not result.passed and result.divergence["layers"]["chained"]["node"] == "trunk"
    assert result.divergence["training"]["step"] == 1 and result.divergence["training"]["layer"] == "trunk"


def test_a_twin_weighting_the_outputs_the_other_way_fails_at_step_one():
    model = _two_outputs(**DICT)
    twin = from_keras(model)
    twin.loss_weights = twin.loss_weights[::-1]  # the slip of reading the dict in sorted-key order
    found = verify(model, steps=2, twin=twin).divergence["training"]
    assert (found["step"], found["phase"]) == (1, "forward"), found


@pytest.mark.parametrize("compiled, received", [
    ({"loss": {"value": "mse", "prbs": "mse"}}, r"\['value', 'probs'\].*Received: loss=\{'value': 'mse', 'prbs'"),
    ({"loss": {"value": "mse"}}, r"every output .*Received: loss=\{'value': 'mse'\}"),
    ({"loss": {"value": "mse", "probs": None}}, r"output 'probs' has no loss.*Received: loss=\{'value': 'mse', "),
    ({"loss": {"value": ["mse", "mae"], "probs": "mse"}}, r"output 'value' has nested losses \['mse', 'mae'\]"),
    ({"loss": {"value": "mse", "probs": "mse"}, "loss_weights": {"value": 2.0}},
     r"missing \['probs'\].*Received: loss_weights=\{'value': 2.0\}"),
    ({"loss": "mse", "loss_weights": {"value": 1.0, "probs": 2.0}},
     r"2 weights for 1 loss .*Received: loss_weights=\{'value': 1.0, 'probs': 2.0\}"),
], ids=["unknown-output", "missing-output", "output-without-loss", "nested-losses", "weight-missing",
        "one-loss-two-weights"])
def test_what_keras_refuses_or_the_twin_cannot_reproduce_is_refused_naming_what_was_received(compiled, received):
    model = _two_outputs(**compiled)
    with pytest.raises(UnsupportedModelError, match=received):
        from_keras(model)
    with pytest.raises(UnsupportedModelError, match=received):
        verify(model, steps=1)


def test_a_dict_of_losses_on_a_sequential_is_refused():
    model = keras.Sequential([keras.Input((3,)), L.Dense(2, name="out")])
    model.compile(optimizer="sgd", loss={"out": "mse"})
    with pytest.raises(UnsupportedModelError, match=r"Sequential has none.*Received: loss=\{'out': 'mse'\}"):
        from_keras(model)


def test_a_model_with_dict_outputs_is_refused_by_name():
    x = keras.Input((3,), name="x")
    model = keras.Model(x, {"first": L.Dense(2, name="d")(x)}, name="keyed")
    with pytest.raises(UnsupportedModelError, match=r"Functional 'keyed': outputs given as a dict .*Received: "
                                                    r"output_layers=\{'first': \['d', 0, 0\]\}"):
        from_keras(model)


def test_a_loss_object_made_for_another_dtype_is_refused_naming_both_dtypes():
    """Keras computes a loss object in the dtype it was made with (float32 unless floatx was float64 then), not
    the model's: the twin, computing in the model's dtype, would differ by round-off at step 1."""
    model = _two_outputs(loss={"value": keras.losses.MeanSquaredError(), "probs": "categorical_crossentropy"})
    with pytest.raises(UnsupportedModelError, match=r"loss MeanSquaredError: the Keras loss object computes in "
                                                    r"float32, the model in float64.*with dtype=float32"):
        from_keras(model)
    with pytest.raises(UnsupportedModelError, match="computes in float32, the model in float64"):
        verify(model, steps=1)


def test_loss_objects_of_a_float32_model_verified_in_float64_are_made_anew_in_float64():
    model = _two_outputs("float32", loss=[keras.losses.MeanSquaredError(), keras.losses.CategoricalCrossentropy()])
    result = verify(model, steps=2, dtype="float64")
    assert result.passed and result.dtype == "float64", str(result)


def test_a_list_with_fewer_losses_than_outputs_is_refused_naming_the_counts():
    with pytest.raises(UnsupportedModelError, match=r"a list of 1 loss for a model with 2 outputs.*Received: "
                                                    r"loss=\['mse'\]"):
        from_keras(_two_outputs(loss=["mse"]))


def _shared_output(weights):
    """Two outputs of one layer: Keras's output_names repeats its name, and a dict's key covers both."""
    keras.utils.set_random_seed(0)
    with keras_dtype("float64"):
        x = keras.Input((3,), name="x")
        d = L.Dense(2, name="d")
        model = keras.Model(x, [d(x), d(x)])
        model.compile(optimizer="sgd", loss={"d": "mse"}, loss_weights=weights)
    return model


@pytest.mark.parametrize("weights, per_output", [({"d": 2.0}, [2.0, 2.0]), ([1.0, 2.0], [1.0, 2.0])],
                         ids=["dict", "list"])
def test_a_dict_naming_a_layer_with_two_outputs_weights_both_as_keras_does(weights, per_output):
    model = _shared_output(weights)
    twin = from_keras(model)
    assert twin.loss_weights == per_output
    x = np.random.default_rng(0).standard_normal((4, 3))
    ys = [np.ones((4, 2)), np.zeros((4, 2))]
    ref = graph_compiled_gradients(model, [x], ys, training=False)
    value = twin.compute_loss(twin.loss, ys, twin.forward(x), loss_weights=twin.loss_weights)
    assert_all_passed([compare(np.asarray(value), np.asarray(ref["value"]), "total loss", tolerance("float64"))],
                      "shared output")


def test_a_users_twin_holding_loss_weights_by_output_name_is_verified_and_named():
    model = _two_outputs(**DICT)
    twin = from_keras(model)
    twin.loss_weights = dict(DICT["loss_weights"])  # numpy_models' compute_loss takes them by output name
    result = verify(model, steps=1, twin=twin)
    assert result.passed and result.settings["loss"] == PER_OUTPUT, str(result)


def test_a_float64_model_with_float32_loss_objects_is_verified_with_another_loss_or_made_anew():
    model = _two_outputs(loss=[keras.losses.MeanSquaredError(), keras.losses.CategoricalCrossentropy()])
    assert verify(model, steps=1, loss="mse").passed  # the compiled loss objects are not used
