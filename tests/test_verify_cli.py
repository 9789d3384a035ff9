"""``parity verify`` on the command line: exit codes, written files, one-line errors that write nothing."""
import json

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from keras_models.build import keras_dtype  # noqa: E402
from parity.cli import main  # noqa: E402
from tests.graph_models import residual_inception_model  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    keras.utils.set_random_seed(0)
    with keras_dtype("float32"):
        residual_inception_model().save(root / "net.keras")
        x = keras.Input((5, 3), name="x")
        keras.Model(x, keras.layers.Dense(2)(keras.layers.LSTM(4, name="rnn")(x))).save(root / "lstm.keras")
        for loss, optimizer, name in (("kl_divergence", "sgd", "kld"), ("mse", "lion", "lion")):
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="out")])
            model.compile(loss=loss, optimizer=optimizer)
            model.save(root / f"{name}.keras")
    (root / "corrupt.keras").write_bytes(b"not a zip file")
    (root / "corrupt.npz").write_bytes(b"not an npz file")
    rng = np.random.default_rng(0)
    x = {"x_0": rng.standard_normal((3, 6, 6, 3)), "x_1": rng.standard_normal((3, 4))}
    np.savez(root / "y_columns.npz", **x, y=rng.standard_normal((3, 5)))  # the model's output has 3 columns
    np.savez(root / "y_rows.npz", **x, y=rng.standard_normal((2, 3)))
    np.savez(root / "y_more_rows.npz", **x, y=rng.standard_normal((4, 3)))  # not cut to x's 3 rows
    np.savez(root / "x_shape.npz", x_0=x["x_0"][:, :5], x_1=x["x_1"], y=rng.standard_normal((3, 3)))
    return root


def test_float32_model_passes_and_writes_the_report(files, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["verify", str(files / "net.keras"), "--steps", "3", "--substitute", "--out", str(out)]) == 0
    report = json.loads((out / "verify.json").read_text())
    assert report["passed"] and report["dtype"] == "float32" and report["settings"]["steps"] == 3
    assert "PASSED" in (out / "verify.md").read_text() and not (out / "repro.py").exists()


@pytest.mark.parametrize("model, data, expected", [
    ("lstm.keras", None, "LSTM 'rnn'"),
    ("corrupt.keras", None, "corrupt.keras"),
    ("missing.keras", None, "missing.keras"),
    ("net.keras", "corrupt.npz", "corrupt.npz"),
    ("net.keras", "missing.npz", "missing.npz"),
    ("net.keras", "y_columns.npz", "Received: y.shape=(3, 5)"),
    ("net.keras", "y_rows.npz", "Received: y.shape=(2, 3)"),
    ("net.keras", "y_more_rows.npz", "Received: y.shape=(4, 3)"),
    ("net.keras", "x_shape.npz", "Received: x_0.shape=(3, 5, 6, 3)"),
    ("kld.keras", None, "loss 'kl_divergence': not implemented in numpy_models.losses; --loss NAME verifies with another "
                          "loss instead (binary_crossentropy, "),
    ("lion.keras", None, "optimizer Lion: not implemented in numpy_models.optimizers; --optimizer NAME verifies with "
                         "another optimizer instead (adadelta, "),
], ids=["unsupported-layer", "corrupt-model", "missing-model", "corrupt-data", "missing-data", "y-columns", "y-rows",
        "y-more-rows", "x-shape", "unsupported-loss", "unsupported-optimizer"])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(files, tmp_path, capsys, model, data, expected):
    out = tmp_path / "out"
    argv = ["verify", str(files / model), "--out", str(out)] + (["--data", str(files / data)] if data else [])
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and expected in err, err
    assert ("--loss" in err) == (model == "kld.keras") and ("--optimizer" in err) == (model == "lion.keras"), err
    assert not out.exists()


def test_a_refused_loss_verifies_with_the_loss_the_flag_names(files, tmp_path):
    assert main(["verify", str(files / "kld.keras"), "--loss", "mse", "--steps", "1", "--out", str(tmp_path)]) == 0


def test_a_failure_names_its_first_divergence_on_the_summary_line(files, tmp_path, capsys, monkeypatch):
    from parity import from_keras
    from parity.verify import cli

    def slipped(model, *args, **kwargs):  # a slip in the twin verify builds: b3's kernel
        twin = from_keras(model)
        twin.get_layer("b3").params["kernel"][...] += 1e-3
        return real(model, *args, twin=twin, **kwargs)

    real = cli.verify
    monkeypatch.setattr(cli, "verify", slipped)
    assert main(["verify", str(files / "net.keras"), "--steps", "1", "--out", str(tmp_path)]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    line = next(l for l in lines if l.startswith("parity verify: "))
    assert line.startswith("parity verify: FAILED (first divergence: layer b3 (Conv2D, its output); step 1, phase "
                           "forward, layer b3) in "), line
    assert "--dtype float64" in lines[-1] and lines.index(line) == len(lines) - 2  # a float32 failure: the advice


def test_a_failed_whole_model_check_is_the_first_divergence_in_a_few_words():
    from parity.verify.cli import first_divergence

    check = {"name": "d c/kernel (sampled)", "max_rel": 1.37e-5, "rtol": 1e-6}
    assert first_divergence({"layers": {}, "checks": {"finite_differences": check}}) == \
        "check d c/kernel (sampled) (finite differences, max_rel 1.37e-05 > rtol 1e-06)"
    assert first_divergence({"layers": {}, "layers_disagree": False, "checks": {}}) == ""


def test_user_data_file_with_two_inputs(files, tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "data.npz", x_0=rng.standard_normal((3, 6, 6, 3)), x_1=rng.standard_normal((3, 4)),
             y=rng.standard_normal((3, 3)))
    out = tmp_path / "out"
    argv = ["verify", str(files / "net.keras"), "--data", str(tmp_path / "data.npz"), "--batch", "2", "--steps", "1",
            "--out", str(out)]
    assert main(argv) == 0
    report = json.loads((out / "verify.json").read_text())
    assert report["settings"]["data"] == "given" and report["settings"]["batch"] == 2


def test_data_of_a_variable_size_input_is_accepted_and_a_wrong_rank_refused():
    from numpy_models.losses import MeanSquaredError
    from parity.verify.data import arrays

    x = keras.Input((None, 3), name="seq")
    model = keras.Model(x, keras.layers.Dense(2, name="out")(keras.layers.GlobalAveragePooling1D(name="gap")(x)))
    rng = np.random.default_rng(0)
    xs, ys, _ = arrays(model, MeanSquaredError(), "float32", rng.standard_normal((4, 7, 3)), np.zeros((4, 2)))
    assert xs[0].shape == (4, 7, 3) and ys[0].shape == (4, 2)
    with pytest.raises(ValueError, match=r"x \(for 'seq'\) must have shape \(4, None, 3\) .* Received: x.shape=\(4, 3\)"):
        arrays(model, MeanSquaredError(), "float32", rng.standard_normal((4, 3)), np.zeros((4, 2)))


@pytest.mark.parametrize("batch", [None, 2], ids=["all-rows", "batch-2"])
def test_y_with_more_rows_than_x_is_refused_before_any_batch_cut(batch):
    from numpy_models.losses import MeanSquaredError
    from parity.verify.data import arrays

    x = keras.Input((3,), name="x")
    model = keras.Model(x, keras.layers.Dense(2, name="out")(x))
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"y \(for 'out'\) must have shape \(4, 2\) .* Received: y.shape=\(6, 2\)"):
        arrays(model, MeanSquaredError(), "float32", rng.standard_normal((4, 3)), np.zeros((6, 2)), batch)
    xs, ys, douts = arrays(model, MeanSquaredError(), "float32", rng.standard_normal((4, 3)), np.zeros((4, 2)), batch)
    assert xs[0].shape == (batch or 4, 3) and ys[0].shape == douts[0].shape == (batch or 4, 2)
