"""``parity verify`` on awkward input: one line naming what is wrong, exit 2, nothing written; legacy .h5 models."""
import json

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from keras import layers as L  # noqa: E402

from parity.cli import main  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")


def _mlp():
    return keras.Sequential([keras.Input((8,)), L.Dense(16, activation="relu", name="hidden"), L.Dense(3, name="out")])


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("inputs")
    keras.utils.set_random_seed(0)
    emb = keras.Sequential([keras.Input((5,), dtype="int32"), L.Embedding(20, 4, name="emb"), L.Flatten(name="flat"),
                            L.Dense(1, name="out")])
    emb.compile(loss="mse", optimizer="adam")
    emb.save(root / "emb.keras")
    mlp = _mlp()
    mlp.save(root / "uncompiled.h5")
    mlp.compile(loss="mse", optimizer=keras.optimizers.SGD(0.05))
    mlp.save(root / "compiled.h5")
    mlp.save(root / "mlp.keras")
    mlp.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), optimizer="sgd")
    mlp.save(root / "sparse.keras")
    img = keras.Input((None, None, 3), name="img")  # a fully convolutional net: images of any size
    h = L.GlobalAveragePooling2D(name="gap")(L.Conv2D(4, 3, padding="same", activation="relu", name="c")(img))
    keras.Model(img, L.Dense(2, name="out")(h)).save(root / "var.keras")
    rng = np.random.default_rng(0)
    np.savez(root / "var_ok.npz", x=rng.standard_normal((3, 7, 5, 3)), y=rng.standard_normal((3, 2)))
    np.savez(root / "var_rank.npz", x=rng.standard_normal((3, 7, 3)), y=rng.standard_normal((3, 2)))
    for name, labels in (("oob", [0, 1, 2, 4, 1, 3, 0, 2, 1, 0]), ("neg", [0, 1, -1, 2, 1, 0, 2, 1, 0, 2]),
                         ("frac", [0, 1, 2.5, 2, 1, 0, 2, 1, 0, 2])):
        np.savez(root / f"labels_{name}.npz", x=rng.standard_normal((10, 8)), y=np.array(labels))
    np.savez(root / "emb_oob.npz", x=rng.integers(0, 40, (10, 5)), y=rng.standard_normal((10, 1)))
    np.savez(root / "emb_neg.npz", x=-rng.integers(1, 5, (10, 5)), y=rng.standard_normal((10, 1)))
    np.savez(root / "strings.npz", x=np.full((10, 8), "a"), y=rng.standard_normal((10, 3)))
    np.savez(root / "ok.npz", x=rng.standard_normal((10, 8)), y=rng.standard_normal((10, 3)))
    (root / "text.npz").write_text("not an npz")
    return root


@pytest.mark.parametrize("model, data, extra, expected", [
    ("emb.keras", "emb_oob.npz", [], "Layer 'emb' (Embedding, input_dim=20) takes indices in [0, 20)"),
    ("mlp.keras", "strings.npz", [], "strings.npz: array 'x' must hold numbers"),
    ("mlp.keras", "text.npz", [], "text.npz: not an .npz archive"),
    ("mlp.keras", "ok.npz", ["--batch", "50"], "50 rows asked for, but x has 10. Received: batch=50"),
    ("sparse.keras", "labels_oob.npz", [], "y (for 'out') holds class indices for SparseCategoricalCrossentropy: whole "
     "numbers in [0, 3) (the output has 3 classes); 2 of 10 are outside the range. Received: y[3]=4 (values in [0, 4])"),
    ("sparse.keras", "labels_neg.npz", [], "whole numbers in [0, 3) (the output has 3 classes); 1 of 10 are outside "
     "the range. Received: y[2]=-1"),
    ("sparse.keras", "labels_frac.npz", [], "whole numbers in [0, 3) (the output has 3 classes); 1 of 10 are not "
     "whole. Received: y[2]=2.5"),
    ("var.keras", "var_rank.npz", [], "x (for 'img') must have shape (3, None, None, 3) (rows, then the model's "
     "shape). Received: x.shape=(3, 7, 3)"),
], ids=["embedding-index-out-of-range", "string-array", "not-an-npz", "batch-above-rows", "labels-above-range",
        "labels-negative", "labels-fractional", "variable-size-wrong-rank"])
def test_bad_data_exits_2_with_one_line_naming_it(files, tmp_path, capfd, model, data, extra, expected):
    out = tmp_path / "out"
    argv = ["verify", str(files / model), "--data", str(files / data), "--out", str(out), "--steps", "1"] + extra
    assert main(argv) == 2
    err = capfd.readouterr().err
    assert len(err.strip().splitlines()) == 1 and expected in err, err
    assert not out.exists()


def test_a_variable_size_input_is_verified_on_the_datas_shape_and_refused_without_data(files, tmp_path, capfd):
    out = tmp_path / "out"
    assert main(["verify", str(files / "var.keras"), "--out", str(out), "--steps", "1"]) == 2
    err = capfd.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert ("input 'img' (shape (None, None, None, 3): dimensions 1, 2 are None): random inputs need a concrete "
            "size. Pass data of the size to verify on (--data d.npz" in err), err
    assert not out.exists()
    assert main(["verify", str(files / "var.keras"), "--data", str(files / "var_ok.npz"), "--out", str(out),
                 "--steps", "1"]) == 0
    assert json.loads((out / "verify.json").read_text())["passed"]


def test_negative_embedding_indices_count_from_the_end_as_keras_takes_them(files, tmp_path):
    out = tmp_path / "out"
    assert main(["verify", str(files / "emb.keras"), "--data", str(files / "emb_neg.npz"), "--out", str(out),
                 "--steps", "1"]) == 0


def test_compiled_h5_is_verified_with_the_loss_and_optimizer_of_its_training_config(files, tmp_path, capfd):
    out = tmp_path / "out"
    assert main(["verify", str(files / "compiled.h5"), "--out", str(out), "--steps", "2"]) == 0
    settings = json.loads((out / "verify.json").read_text())["settings"]
    assert settings["optimizer"] == "SGD" and settings["loss"] == "MeanSquaredError"
    assert capfd.readouterr().err == ""


def test_uncompiled_h5_is_verified_without_a_warning_on_stderr(files, tmp_path, capfd, caplog):
    out = tmp_path / "out"
    assert main(["verify", str(files / "uncompiled.h5"), "--out", str(out), "--steps", "1"]) == 0
    assert capfd.readouterr().err == ""
    assert not [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]  # absl logs through logging


def test_the_help_names_both_model_formats(capsys):
    with pytest.raises(SystemExit):
        main(["verify", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "a .keras file" in text and "legacy .h5" in text


def test_another_backend_leaks_no_tensorflow_start_up_lines(files, tmp_path, capfd):
    pytest.importorskip("jax")
    out = tmp_path / "out"
    assert main(["verify", str(files / "mlp.keras"), "--backend", "jax", "--out", str(out), "--steps", "1"]) == 0
    assert capfd.readouterr().err == ""
