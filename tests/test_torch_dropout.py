"""PyTorch: an unseeded Dropout draws its masks from torch's global generator, not its SeedGenerator
(``keras_models.dropout.draws_from_torch_generator``); verify's twin replays them, and SpatialDropout2D and
GaussianNoise draw as the layers do. Measured in one kept PyTorch process (``run_on(..., reuse=True)``)."""
import pytest

from parity.checks.backends import run_on

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


def _measure(path):
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
    torch.set_rng_state(before)
    return {"passed": passed.passed, "divergence": passed.divergence, "generator kept": kept,
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
    return run_on("torch", _measure, str(path), reuse=True)


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
