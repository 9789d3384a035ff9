"""`parity report` as a user meets it: one commit point, one error line (exit 2), 130 on Ctrl-C, a quiet stderr."""
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from parity import cli
from parity.report import run_output
from parity.training import datasets
from tests.report_parts_run import OPTIMIZER_PATHS_GROUP, OPTIMIZER_PATHS_RUN, precomputed

ROOT = Path(__file__).resolve().parent.parent


def _mnist_arrays(n_train=4, n_test=2):
    rng = np.random.default_rng(0)
    return {"x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8), "y_train": np.arange(n_train) % 10,
            "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8), "y_test": np.arange(n_test) % 10}


def _random_bytes(path):
    path.write_bytes(np.random.default_rng(1).bytes(2000))
    return path


def _npy_renamed(path):
    np.save(path.with_suffix(".npy"), np.zeros(3))
    path.with_suffix(".npy").rename(path)
    return path


def _truncated_npz(path):
    np.savez(path, **_mnist_arrays())
    path.write_bytes(path.read_bytes()[:3000])
    return path


def _empty_x_train(path):
    np.savez(path, **{**_mnist_arrays(), "x_train": np.zeros((0, 28, 28), np.uint8), "y_train": np.zeros(0, int)})
    return path


def _idx_folder(path, damage):
    path.mkdir()
    for key, stem in datasets.IDX_FILES.items():
        datasets.write_idx(path / (stem + ".gz"), _mnist_arrays()[key])
    target = path / (datasets.IDX_FILES["x_train"] + ".gz")
    data = target.read_bytes()
    target.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"\x1f\x8b" + data[2:40] + b"junk" * 50)
    return path


BAD_DATA = {
    "random_bytes_npz": (lambda p: _random_bytes(p / "mnist.npz"), "not a zip archive"),
    "npy_renamed_npz": (lambda p: _npy_renamed(p / "mnist.npz"), "a .npy array"),
    "truncated_npz": (lambda p: _truncated_npz(p / "mnist.npz"), "not a readable .npz"),
    "empty_x_train": (lambda p: _empty_x_train(p / "mnist.npz"), "x_train must hold at least one image"),
    "truncated_gz": (lambda p: _idx_folder(p / "idx", "truncated"), "not a readable gzip-compressed IDX file"),
    "corrupt_gz": (lambda p: _idx_folder(p / "idx", "corrupt"), "not a readable gzip-compressed IDX file"),
}


@pytest.fixture
def no_computation(monkeypatch):
    """Any of these errors must come before the first computation."""
    def forbidden(*args, **kwargs):
        raise AssertionError("computed before validating")

    monkeypatch.setattr(cli, "_compute", forbidden)


def _one_error_line(capsys, *needles):
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("parity: error:"), captured.err
    assert all(n in lines[0] for n in needles), lines[0]
    assert "allow_pickle" not in lines[0] and "Traceback" not in captured.err
    return lines[0]


@pytest.mark.parametrize("case", list(BAD_DATA))
def test_unreadable_data_gives_one_line_naming_the_file(tmp_path, capsys, no_computation, case):
    make, message = BAD_DATA[case]
    path = make(tmp_path)
    assert cli.main(["report", "--dataset", "mnist", "--data-path", str(path), "--out", str(tmp_path / "out")]) == 2
    _one_error_line(capsys, message, str(path.name))
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("argv, message", [
    (["--seed", "-1"], "--seed must be a non-negative integer"),
    (["--data-path", "x.npz"], "--data-path and --full apply to --dataset mnist"),
    (["--full"], "--data-path and --full apply to --dataset mnist"),
], ids=["negative_seed", "data_path_with_digits", "full_with_digits"])
def test_refused_arguments(tmp_path, capsys, no_computation, argv, message):
    assert cli.main(["report", "--out", str(tmp_path / "out")] + argv) == 2
    _one_error_line(capsys, message)


def test_out_path_that_is_a_file(tmp_path, capsys, no_computation):
    (tmp_path / "out").write_text("a user's file")
    assert cli.main(["report", "--section", "variants", "--out", str(tmp_path / "out")]) == 2
    _one_error_line(capsys, "is a file", str(tmp_path / "out"))
    assert (tmp_path / "out").read_text() == "a user's file"


def test_out_path_on_a_read_only_filesystem(capsys, no_computation):
    """/proc is read-only even for root (chmod is not: root writes through mode 0555)."""
    assert cli.main(["report", "--section", "variants", "--out", "/proc/parity-report-out"]) == 2
    _one_error_line(capsys, "cannot write in /proc", "--out=/proc/parity-report-out")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a mode-0555 folder; the /proc test covers root")
def test_out_path_in_a_read_only_folder(tmp_path, capsys, no_computation):
    (tmp_path / "ro").mkdir(mode=0o555)
    assert cli.main(["report", "--section", "variants", "--out", str(tmp_path / "ro" / "out")]) == 2
    _one_error_line(capsys, "cannot write in", str(tmp_path / "ro"))


def test_stale_partial_folders_are_removed_and_a_live_runs_stage_kept(tmp_path):
    run = tmp_path / "digits"
    (run / ".partial-abc").mkdir(parents=True)
    (tmp_path / ".digits-partial-x1y2").mkdir()
    (tmp_path / ".digits-partial-x1y2" / "index.html").write_text("<html><bo")  # truncated by a SIGKILL
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (tmp_path / f".stage-{int(dead.stdout)}-q1").mkdir()
    (tmp_path / f".stage-{os.getpid()}-q2").mkdir()  # a live process: another run in progress
    (tmp_path / ".my-hidden-notes").mkdir()
    run_output.clean_stale(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".my-hidden-notes", f".stage-{os.getpid()}-q2", "digits"]
    assert list(run.iterdir()) == []


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_staged_files_and_folders_follow_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        with run_output.staged(tmp_path / "out") as stage:
            (stage / "run").mkdir()
            (stage / "run" / "index.html").write_text("x")
    finally:
        os.umask(old)
    assert (tmp_path / "out" / "run").stat().st_mode & 0o777 == 0o777 & ~umask
    assert (tmp_path / "out" / "run" / "index.html").stat().st_mode & 0o777 == 0o666 & ~umask
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["run"]


# A report run in a child process that stops half-way through writing (after index.html, before summary.md).
# Each child first restores Python's Ctrl-C handler: a test run started in the background (``pytest &``) hands its
# children SIGINT ignored, and Python keeps an ignored SIGINT ignored; a terminal's Ctrl-C reaches a default one.
_CTRL_C = "import signal; signal.signal(signal.SIGINT, signal.default_int_handler)\n"
# The child writes the parts of tests/report_parts_run.py's run (conftest's ``report_parts``).
_PAUSED_RUN = _CTRL_C + f"""
import sys, time
from pathlib import Path
from parity import cli
from parity.report import experiment_report
from tests.report_parts_run import precomputed
real = experiment_report.markdown
def paused(*args, **kwargs):
    print("writing", flush=True)
    time.sleep(120)
    return real(*args, **kwargs)
experiment_report.markdown = paused
cli._compute = precomputed(Path(sys.argv[2]))
sys.exit(cli.main({OPTIMIZER_PATHS_RUN!r} + ["--out", sys.argv[1]]))
"""


def _paused_child(out, report_parts):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-c", _PAUSED_RUN, str(out), str(report_parts)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert child.stdout.readline() == "writing\n"
    return child


@OPTIMIZER_PATHS_GROUP
def test_sigkill_mid_write_leaves_only_a_stage_that_the_next_run_removes(tmp_path, report_parts):
    child = _paused_child(tmp_path, report_parts)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    stages = [p for p in tmp_path.iterdir()]
    assert [p.name.startswith(".stage-") for p in stages] == [True]
    assert (stages[0] / "digits-only-optimizer_paths-float64" / "index.html").exists()  # half a run, staged only
    run_output.clean_stale(tmp_path)
    assert list(tmp_path.iterdir()) == []


@OPTIMIZER_PATHS_GROUP
def test_sigint_mid_write_cleans_up_and_exits_130(tmp_path, report_parts):
    child = _paused_child(tmp_path, report_parts)
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 130
    assert err.strip().splitlines() == ["parity: interrupted; nothing was written for this run."]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.cluster
def test_two_worker_run_is_quiet_and_its_counts_and_manifest_agree(tmp_path):
    """Checks and experiments run as two Dask workers; stderr stays empty; every output states the same counts."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"} | {"PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "parity", "report", "--spec", "xor_2_2_1", "--experiment",
                           "optimizer_paths", "--section", "checks", "--section", "experiments", "--dtype", "float64",
                           "--workers", "2", "--out", str(tmp_path)], capture_output=True, text=True, env=env,
                          timeout=600)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    folder = tmp_path / "digits-only-xor_2_2_1+optimizer_paths-float64"
    passed, total = map(int, re.search(r"parity: (\d+) of (\d+) checks passed", done.stdout).groups())
    summary = json.loads((folder / "parity.json").read_text())["summary"]
    assert (summary["passed"], summary["total"]) == (passed, total) and total > 0
    assert f"**{passed} of {total} checks passed" in (folder / "parity.md").read_text()
    assert f"Parity checks: {passed} of {total} checks passed" in (folder / "index.html").read_text()
    processes = json.loads((folder / "manifest.json").read_text())["processes"]
    assert sorted((p["section"], p["dtype"]) for p in processes) == [("checks", "float64"), ("experiments", "float64")]
    assert len({p["pid"] for p in processes}) == 2 and all(isinstance(p["tf32_execution"], bool) for p in processes)


@OPTIMIZER_PATHS_GROUP
def test_a_full_disk_gives_one_line_and_commits_nothing(tmp_path, capsys, monkeypatch, report_parts):
    from parity.report import experiment_report

    def full(path, rows):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(experiment_report, "write_csv", full)
    monkeypatch.setattr(cli, "_compute", precomputed(report_parts))
    assert cli.main(OPTIMIZER_PATHS_RUN + ["--out", str(tmp_path)]) == 2
    _one_error_line(capsys, "results.csv", "No space left on device")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("verbose", [False, True], ids=["quiet", "verbose"])
def test_tensorflow_start_up_lines_only_with_verbose(verbose):
    code = f"from parity.report import quiet; quiet.set_verbose({verbose}); quiet.import_tensorflow().constant(1.0)"
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"} | {"PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0
    assert (done.stderr != "") == verbose, done.stderr


# A report whose parts run as two Dask workers; prints a line once the tasks are submitted.
_DASK_RUN = _CTRL_C + """
import sys
import time
from parity import cli
real = cli.map_calls
def announced(client, calls):
    print("computing", flush=True)
    return real(client, calls)
cli.map_calls = announced
sys.exit(cli.main(["report", "--section", "checks", "--section", "experiments", "--dtype", "float64",
                   "--workers", "2", "--out", sys.argv[1]]))
"""


def _descendants(pid):
    psutil = pytest.importorskip("psutil")
    return psutil.Process(pid).children(recursive=True)


@pytest.mark.cluster
def test_ctrl_c_while_dask_workers_run_exits_130_and_leaves_no_worker_or_stage(tmp_path):
    """Ctrl-C reaches the whole foreground process group: the CLI and its Dask scheduler and workers."""
    psutil = pytest.importorskip("psutil")
    # Not this test process's level (keras_models sets 2 on import): with the CLI's own (3), TensorFlow's C++ warnings
    # of a worker that already computes when Ctrl-C comes stay out of stderr, as for a user.
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"} | {"PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-c", _DASK_RUN, str(tmp_path / "out")], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    assert child.stdout.readline() == "computing\n"
    busy = time.monotonic() + 60
    while not any(p.cpu_percent(0.5) > 20 for p in _descendants(child.pid)) and time.monotonic() < busy:
        pass  # until a worker computes (they start by importing TensorFlow)
    workers = _descendants(child.pid)
    assert len(workers) >= 2
    os.killpg(child.pid, signal.SIGINT)
    out, err = child.communicate(timeout=120)
    assert child.returncode == 130, err
    assert err.strip().splitlines() == ["parity: interrupted; nothing was written for this run."]
    gone, alive = psutil.wait_procs(workers, timeout=30)
    assert alive == [], [p.cmdline() for p in alive]
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []
