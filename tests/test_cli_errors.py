"""Every flag of `parity report|list|sweep|verify` given a bad value: one line on stderr naming the flag or file, what
was expected and what was received, exit code 2, before any computation and without writing anything."""
import pytest

from parity import cli
from parity.sweep import cli as sweep_cli
from parity.verify import cli as verify_cli

MNIST = ["--dataset", "mnist", "--section", "experiments", "--data-path"]
SWEEP = ["sweep", "--experiment", "optimizer_paths"]

# (argv with {tmp} for the test's folder, what the one line must contain)
CASES = {
    "report-seed-negative": (["report", "--seed", "-1"], "Received: --seed=-1"),
    "report-seed-text": (["report", "--seed", "x"], "--seed expects an integer. Received: --seed=x"),
    "report-seed-missing-value": (["report", "--seed"], "--seed expects a value"),
    "report-epochs-zero": (["report", "--epochs", "0"], "--epochs must be positive. Received: --epochs=0"),
    "report-epochs-negative": (["report", "--epochs", "-3"], "Received: --epochs=-3"),
    "report-epochs-text": (["report", "--epochs", "1.5"], "--epochs expects an integer. Received: --epochs=1.5"),
    "report-workers-zero": (["report", "--workers", "0"], "--workers must be positive. Received: --workers=0"),
    "report-workers-text": (["report", "--workers", "x"], "Received: --workers=x"),
    "report-dtype-unknown": (["report", "--dtype", "float16"], "--dtype expects one of 'float32', 'float64'"),
    "report-spec-unknown": (["report", "--spec", "xor_2_2"], "(did you mean xor_2_2_1?). Received: --spec=xor_2_2"),
    "report-section-unknown": (["report", "--section", "plots"], "Received: --section=plots"),
    "report-experiment-unknown": (["report", "--experiment", "cnm"], "Received: --experiment=cnm"),
    "report-experiment-section-left-out": (["report", "--experiment", "cnn", "--section", "checks"],
                                           "--experiment applies to --section experiments, which this run leaves out. "
                                           "Received: --experiment=cnn --section=checks"),
    "report-spec-section-left-out": (["report", "--spec", "xor_2_2_1", "--section", "experiments"],
                                     "--spec applies to --section checks, which this run leaves out. "
                                     "Received: --spec=xor_2_2_1 --section=experiments"),
    "report-epochs-section-left-out": (["report", "--epochs", "2", "--section", "checks"],
                                       "--epochs applies to --section experiments, which this run leaves out. "
                                       "Received: --epochs=2 --section=checks"),
    "report-dataset-section-left-out": (["report", "--dataset", "mnist", "--data-path", "x.npz", "--section",
                                         "optimizers"], "--dataset applies to --section experiments, which this "
                                                        "run leaves out. Received: --dataset=mnist"),
    "report-backend-section-left-out": (["report", "--backend", "jax", "--section", "variants"],
                                        "this run has none of them. Received: --backend=jax --section=variants"),
    "report-backend-tensorflow-only-experiment": (["report", "--backend", "jax", "--experiment", "image_filters"],
                                                  "this run has none of them. Received: --backend=jax "
                                                  "--section=experiments --experiment=image_filters"),
    "report-dataset-unknown": (["report", "--dataset", "cifar10", "--section", "checks"], "Received: --dataset=cifar10"),
    "report-data-path-missing": (["report"] + MNIST + ["{tmp}/no.npz"], "--data-path {tmp}/no.npz: no such file or folder"),
    "report-data-path-empty-folder": (["report"] + MNIST + ["{tmp}/folder"], "--data-path {tmp}/folder: missing train-images-idx3-ubyte"),
    "report-data-path-not-npz": (["report"] + MNIST + ["{tmp}/notes.txt"], "--data-path {tmp}/notes.txt: expected a Keras-layout .npz"),
    "report-data-path-with-digits": (["report", "--data-path", "{tmp}/folder"], "--data-path and --full apply to"),
    "report-backend-unknown": (["report", "--backend", "mxnet"], "Received: --backend=mxnet"),
    "report-out-is-a-file": (["report", "--out", "{tmp}/notes.txt"], "Received: --out={tmp}/notes.txt"),
    "report-unknown-flag": (["report", "--epohcs", "1"], "unrecognized arguments: --epohcs 1"),
    "list-extra-argument": (["list", "specs"], "unrecognized arguments: specs"),
    "sweep-experiment-missing": (["sweep"], "the following arguments are required: --experiment"),
    "sweep-experiment-unknown": (["sweep", "--experiment", "cnm"], "Unknown experiment(s) cnm: expected ids that `parity list` shows (did you mean cnn?). Received: --experiment=cnm"),
    "sweep-seeds-text": (SWEEP + ["--seeds", "x"], "Received: --seeds=x"),
    "sweep-seeds-negative": (SWEEP + ["--seeds", "-1"], "Received: --seeds=-1"),
    "sweep-seeds-backwards": (SWEEP + ["--seeds", "5-1"], "runs backwards. Received: --seeds=5-1"),
    "sweep-dtype-unknown": (SWEEP + ["--dtype", "float16"], "Unknown dtype(s) float16: expected float32 or float64. Received: --dtype=float16"),
    "sweep-dataset-unknown": (SWEEP + ["--dataset", "cifar10"], "Received: --dataset=cifar10"),
    "sweep-data-path-missing": (SWEEP + ["--dataset", "mnist", "--data-path", "{tmp}/no.npz"], "--data-path {tmp}/no.npz: no such file"),
    "sweep-data-path-with-digits": (SWEEP + ["--data-path", "{tmp}/folder"], "--data-path and --full apply to"),
    "sweep-epochs-zero": (SWEEP + ["--epochs", "0"], "Received: --epochs=0"),
    "sweep-epochs-text": (SWEEP + ["--epochs", "x"], "Received: --epochs=x"),
    "sweep-workers-zero": (SWEEP + ["--workers", "0"], "Received: --workers=0"),
    "sweep-workers-text": (SWEEP + ["--workers", "x"], "Received: --workers=x"),
    "sweep-backend-unknown": (SWEEP + ["--backend", "mxnet"], "Received: --backend=mxnet"),
    "sweep-scheduler-malformed": (SWEEP + ["--scheduler", "localhost"], "Received: --scheduler=localhost"),
    "sweep-out-is-a-file": (SWEEP + ["--out", "{tmp}/notes.txt"], "Received: --out={tmp}/notes.txt"),
    "verify-model-missing-argument": (["verify"], "the following arguments are required: model"),
    "verify-model-missing-file": (["verify", "{tmp}/no.keras"], "no such file; expected a .keras or .h5 file"),
    "verify-model-folder": (["verify", "{tmp}/folder"], "is a folder; expected a .keras or .h5 file"),
    "verify-model-wrong-suffix": (["verify", "{tmp}/notes.txt"], "Received: model={tmp}/notes.txt"),
    "verify-model-not-a-zip": (["verify", "{tmp}/empty.keras"], "not a .keras zip archive"),
    "verify-steps-negative": (["verify", "{tmp}/m.keras", "--steps", "-1"], "Received: --steps=-1"),
    "verify-steps-text": (["verify", "{tmp}/m.keras", "--steps", "x"], "Received: --steps=x"),
    "verify-batch-zero": (["verify", "{tmp}/m.keras", "--batch", "0"], "Received: --batch=0"),
    "verify-seed-negative": (["verify", "{tmp}/m.keras", "--seed", "-1"], "Received: --seed=-1"),
    "verify-dtype-unknown": (["verify", "{tmp}/m.keras", "--dtype", "float16"], "Received: --dtype=float16"),
    "verify-loss-unknown": (["verify", "{tmp}/m.keras", "--loss", "hinge"], "Received: --loss=hinge"),
    "verify-optimizer-unknown": (["verify", "{tmp}/m.keras", "--optimizer", "adamm"], "Received: --optimizer=adamm"),
    "verify-data-missing": (["verify", "{tmp}/m.keras", "--data", "{tmp}/no.npz"], "Received: --data={tmp}/no.npz"),
    "verify-data-folder": (["verify", "{tmp}/m.keras", "--data", "{tmp}/folder"], "is a folder; expected a .npz"),
    "verify-out-is-a-file": (["verify", "{tmp}/m.keras", "--out", "{tmp}/notes.txt"], "Received: --out={tmp}/notes.txt"),
}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A folder with an empty sub-folder, a text file, an empty .keras file and a real one-layer model."""
    keras = pytest.importorskip("keras")
    root = tmp_path_factory.mktemp("files")
    (root / "folder").mkdir()
    (root / "notes.txt").write_text("a user's notes")
    (root / "empty.keras").write_bytes(b"")
    keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]).save(root / "m.keras")
    return root


@pytest.fixture
def no_computation(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("computed before validating every argument")

    for module, name in ((cli, "_compute"), (sweep_cli, "connect"), (verify_cli, "verify")):
        monkeypatch.setattr(module, name, forbidden)


def _exit_code(argv):
    """``main``'s return value, or the code of the SystemExit argparse raises (the process's exit code either way)."""
    try:
        return cli.main(argv)
    except SystemExit as exc:
        return exc.code


@pytest.mark.parametrize("case", list(CASES))
def test_bad_flag_value_gives_one_line_and_exit_2(files, tmp_path, capsys, no_computation, case):
    argv, needle = CASES[case]
    out = tmp_path / "out"
    argv = [a.replace("{tmp}", str(files)) for a in argv]
    argv += [] if "--out" in argv or argv[0] == "list" else ["--out", str(out)]
    assert _exit_code(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("parity"), captured.err
    assert needle.replace("{tmp}", str(files)) in lines[0]
    assert "Traceback" not in captured.err and captured.out == ""
    assert not out.exists()
