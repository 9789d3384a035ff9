"""PyTorch: an unseeded Dropout draws its masks from torch's global generator, not its SeedGenerator
(``keras_models.dropout.draws_from_torch_generator``); verify's twin replays them, and SpatialDropout2D and
GaussianNoise draw as the layers do, and the repro.py of a wrong unseeded Dropout replays the mask Keras drew.
Measured in one kept PyTorch process (``run_on(..., reuse=True)``)."""
from pathlib import Path

import pytest

from parity.checks.backends import run_on
from tests.repro_runs import repro_with

pytestmark = pytest.mark.xdist_group("backend_torch")


def _graph(keras):
    """Two unseeded Dropout on parallel branches and one after them: three draws from one stream, in Keras's order."""
    L = keras.layers
    x = keras.Input((6,))
    h = L.Dense(10, activation="relu", name="h")(x)
    a = L.Dropout(0.3, name="da")(L.Dense(5, name="a")(h))
    b = L.Dropout(0.6, name="db")(L.Dense(5, name="b")(h))
    y = L.Dense(2, name="out")(L.Dropout(0.2, name="dc")(L.Concatenate(name="cat")([b, a])))
    model = keras.Model(x, y)
    model.compile(loss="mse", optimizer=keras.optimizers.SGD(0.05))
    return model


def _masks_replayed(keras, torch):
    """{layer kind: each of 3 masks (noise) the twin draws equals the Keras layer's own, bit for bit, and leaves
    torch's global generator where it was}: one model per layer, its twin's streams installed as verify does."""
    import numpy as np

    from parity import from_keras
    from parity.verify import masks

    L, found = keras.layers, {}
    cases = {"Dropout": (L.Dropout(0.4, name="r"), np.ones((4, 7), "float32"), lambda out: out != 0),
             "Dropout seeded": (L.Dropout(0.4, seed=3, name="r"), np.ones((4, 7), "float32"), lambda out: out != 0),
             "SpatialDropout2D": (L.SpatialDropout2D(0.5, name="r"), np.ones((3, 2, 2, 5), "float32"),
                                  lambda out: out != 0),
             "GaussianNoise": (L.GaussianNoise(0.3, name="r"), np.zeros((4, 7), "float32"), lambda out: out)}
    for name, (layer, x, drawn) in cases.items():
        model = keras.Sequential([keras.Input(x.shape[1:]), layer])
        twin = from_keras(model)
        masks.install(twin, model)
        mine, same = twin.layers[0], []
        for _ in range(3):
            before = torch.get_rng_state()
            ours = mine.call(x, training=True)  # the twin's layer, drawing its replayed mask (noise)
            kept = torch.equal(before, torch.get_rng_state())
            theirs = keras.ops.convert_to_numpy(layer(x, training=True))
            same.append(kept and np.array_equal(drawn(ours), drawn(theirs)))
        found[name] = all(same)
    return found


def _repro(keras, directory):
    """The diverging layer verify names for a twin of an unseeded Dropout(0.3) given rate 0.4, its repro.py and
    repro.npz written into ``directory``."""
    from keras_models.build import keras_dtype
    from parity import from_keras
    from parity.verify.api import verify
    from parity.verify.cli import write

    L = keras.layers
    with keras_dtype("float32"):
        x = keras.Input((6, 6, 2))
        h = L.Dropout(0.3, name="drop")(L.Conv2D(3, 3, activation="relu", name="c")(x))
        model = keras.Model(x, L.Dense(2, name="head")(L.Flatten(name="f")(h)))
        model.compile(loss="mse", optimizer="sgd")
    twin = from_keras(model)
    twin.get_layer("drop").rate = 0.4  # a slip: Keras's is 0.3
    result = verify(model, steps=1, twin=twin)
    write(result, Path(directory))
    return result.divergence["training"]["layer"]


def _payload(keras, torch):
    """(the repro's stored mask is the one Keras applied in that call, torch's global generator left as it was) for
    an unseeded Dropout (``parity.verify.repro.payload``)."""
    import numpy as np

    from parity import from_keras
    from parity.verify import repro

    layer = keras.layers.Dropout(0.4, name="r")
    twin = from_keras(keras.Sequential([keras.Input((7,)), layer]))
    before = torch.get_rng_state()
    _, arrays = repro.payload("r", twin.layers[0], layer, [np.ones((4, 7), "float32")], [np.ones((4, 7), "float32")],
                              True, False, 1e-6)
    return (np.array_equal(arrays["random_draw"], arrays["keras_output_0"] != 0),
            torch.equal(before, torch.get_rng_state()))


def _measure(path, repro_directory):
    import keras
    import torch

    from parity import from_keras
    from parity.verify.api import verify

    before = torch.get_rng_state()  # put back at the end: the kept process is shared (run_on's reuse)
    passed = verify(path, steps=3)
    kept = torch.equal(before, torch.get_rng_state())
    torch.manual_seed(123)  # another state of torch's generator: verify seeds it for its own copy of the model
    again = verify(path, steps=3)
    twin = from_keras(keras.saving.load_model(path))
    twin.optimizer.learning_rate = 0.0505  # planted: the twin steps 1% further than Keras
    planted = verify(path, steps=3, twin=twin)
    found = _masks_replayed(keras, torch)
    torch.manual_seed(0)  # the masks of the repro's model (verify draws from torch's generator where it is)
    repro_layer, (applied, repro_kept) = _repro(keras, repro_directory), _payload(keras, torch)
    torch.set_rng_state(before)
    return {"repro layer": repro_layer, "repro mask applied": applied, "repro generator kept": repro_kept, "passed": passed.passed, "divergence": passed.divergence, "generator kept": kept,
            "steps": [[s["max_rel"] for s in r.steps] for r in (passed, again)],
            "planted": planted.divergence.get("training"), "masks": found}


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    pytest.importorskip("torch", reason="torch is not installed: pip install -e '.[torch]'")
    keras = pytest.importorskip("keras")
    from keras_models.build import keras_dtype

    path = tmp_path_factory.mktemp("torch_dropout") / "graph.keras"
    keras.utils.set_random_seed(0)
    with keras_dtype("float32"):
        _graph(keras).save(path)
    repro_directory = tmp_path_factory.mktemp("torch_dropout_repro")
    return {**run_on("torch", _measure, str(path), str(repro_directory), reuse=True), "repro": repro_directory}


def test_verify_replays_unseeded_dropout_masks_on_torch(measured):
    assert measured["passed"], measured["divergence"]


def test_verify_leaves_torchs_global_generator_as_it_was(measured):
    assert measured["generator kept"]


def test_a_saved_model_draws_the_same_masks_whatever_torchs_generator_was(measured):
    first, again = measured["steps"]
    assert first == again and len(first) == 3


def test_a_planted_difference_is_found_where_it_is_not_at_a_dropout(measured):
    # a restored step draws the masks it drew the first time (torch's generator is part of the snapshot)
    assert measured["planted"]["step"] == 1 and measured["planted"]["phase"] == "update", measured["planted"]


def test_each_random_layer_is_replayed_bit_for_bit_on_torch(measured):
    assert measured["masks"] == {"Dropout": True, "Dropout seeded": True, "SpatialDropout2D": True,
                                 "GaussianNoise": True}


def test_an_unseeded_dropouts_repro_replays_the_keras_mask_so_it_passes_once_fixed(measured):
    # repro.py stored a replay of the layer's SeedGenerator, which Keras never reads there: MISMATCH whatever the fix
    assert measured["repro layer"] == "drop"
    wrong = repro_with(measured["repro"])
    assert wrong.returncode == 1 and "output 0: " in wrong.stdout and "MISMATCH" in wrong.stdout, wrong.stdout
    fixed = repro_with(measured["repro"], rate=0.3)  # the fix: Keras's rate
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr


def test_a_repro_stores_the_mask_keras_applied_and_leaves_torchs_generator_as_it_was(measured):
    assert measured["repro mask applied"] and measured["repro generator kept"]
