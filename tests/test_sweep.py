"""parity sweep: results independent of workers, no task lost to a dead worker, resume redoes nothing finished,
and the same sweep on a scheduler and worker started as separate processes."""
import base64
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from parity import cli
from parity.sweep import cli as sweep_cli
from parity.sweep import cluster, summary
from parity.sweep.cluster import connect
from parity.sweep.runner import run_tasks
from parity.sweep.store import Store
from parity.sweep.tasks import Settings, TaskKey, task_keys

ROOT = Path(__file__).resolve().parents[1]
QUICK = ["--experiment", "two_layer_net", "--epochs", "1"]  # 2 runs x 15 steps per task


def _sweep(out, *argv):
    return cli.main(["sweep", *QUICK, "--out", str(out), *argv])


def _runs(out):
    """Per-run results without the timing columns (the only ones that differ between identical runs)."""
    return pd.read_csv(out / "results.csv").drop(columns=list(summary.TIMING))


def _step_losses(out):
    return {p.name: json.loads(p.read_text())["step_loss"] for p in sorted((out / "tasks").glob("*.json"))}


# -- arguments -----------------------------------------------------------------------------------
@pytest.mark.parametrize("text, seeds", [("3", [3]), ("0-3", [0, 1, 2, 3]), ("5,1-2,2", [1, 2, 5])])
def test_seed_ranges(text, seeds):
    assert sweep_cli.parse_seeds(text) == seeds


@pytest.mark.parametrize("argv, message", [
    (["--seeds", "1..4"], "--seeds must be N, N-M"),
    (["--seeds", "5-2"], "runs backwards"),
    (["--experiment", "nope"], "Unknown experiment(s)"),
    (["--dtype", "float16"], "Unknown dtype(s)"),
    (["--backend", "jax"], "Only the tensorflow backend"),
    (["--dataset", "mnist"], "needs --data-path"),
    (["--epochs", "0"], "--epochs must be positive"),
    (["--workers", "0"], "--workers sizes the local cluster"),
    (["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "--workers sizes the local cluster"),
])
def test_bad_arguments_give_one_error_line_and_write_nothing(tmp_path, capsys, argv, message):
    assert _sweep(tmp_path / "out", *argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not (tmp_path / "out").exists()


# -- the report, on records written by hand --------------------------------------------------------
def _record(seed, dtype, diff_pp, drift, passed):
    key = TaskKey("two_layer_net", seed, dtype)
    row = {**key.__dict__, "run": "two_layer_sgd", "passed": passed, "test_acc_diff_pp": diff_pp,
           "max_rel_loss_diff": drift, "first_step_over_tol": None, "numpy_sec_per_epoch": 0.1}
    return {"key": key.__dict__, "settings": Settings().as_dict(), "status": "ok", "rows": [row]}


def test_summary_counts_rule_breakers_and_quantiles_match_numpy(tmp_path):
    diffs = [0.0, 0.3, -0.8, 1.1, 0.0]
    records = [_record(s, "float32", d, 1e-6, abs(d) <= 0.5) for s, d in enumerate(diffs)]
    records.append({"key": TaskKey("two_layer_net", 9, "float32").__dict__, "settings": Settings().as_dict(),
                    "status": "failed", "rows": [], "error": "KilledWorker: gone"})
    summary.write(tmp_path, records, {"note": "test"})
    dist = summary.distributions(summary.frame(records)).iloc[0]
    assert dist["runs"] == 5 and dist["runs_breaking_rule"] == 2 and dist["never_over_tol"] == 5
    assert dist["test_acc_diff_pp_q50"] == np.median(diffs) and dist["test_acc_diff_pp_q100"] == max(diffs)
    csv = pd.read_csv(tmp_path / "results.csv")
    assert list(csv["status"]).count("failed") == 1 and csv["passed"].eq(False).sum() == 2
    assert "KilledWorker: gone" in (tmp_path / "summary.md").read_text()


def _environment(**flags):
    return {"python": "3.11.7", "numpy": "2.4.6", "tensorflow": "2.21.0", "keras": "3.15.1",
            "flags": {"tf32_execution": False, "gpus": [], **flags}}


def test_the_manifest_states_the_workers_environments_without_importing_tensorflow(monkeypatch):
    """Versions and flags are those the tasks ran with, on whatever machine: a GPU worker of a ``--scheduler``'s
    cluster is listed beside the first one, a failed task (no worker record) adds nothing."""
    def forbidden(*args):
        raise AssertionError("the sweep process imported TensorFlow for its manifest")

    monkeypatch.setattr(sweep_cli.quiet, "import_tensorflow", forbidden)
    monkeypatch.setattr(sweep_cli, "environment", forbidden)
    cpu, gpu = _environment(), _environment(gpus=["/physical_device:GPU:0"], tf32_execution=True)
    records = [{**_record(s, "float32", 0.0, 1e-6, True), "worker": {"pid": s, "environment": env}}
               for s, env in enumerate([cpu, gpu, cpu])]
    records.insert(1, {"key": TaskKey("two_layer_net", 9, "float32").__dict__, "status": "failed", "rows": []})
    info = sweep_cli._environments(records)
    assert info == {**cpu, "other_environments": [gpu]}
    assert sweep_cli._environments(records[:2]) == cpu  # one environment and a failed task: no list


def test_without_a_finished_task_the_manifest_states_this_process_environment():
    info = sweep_cli._environments([{"key": TaskKey("two_layer_net", 0, "float32").__dict__, "status": "failed"}])
    assert info["environment_of"] == "this sweep process: no task finished"
    assert info["flags"]["tf32_execution"] is False and "seed" not in info


# -- on one cluster: a scheduler and two workers started as separate processes ---------------------------
# Tests of the module fixtures below share one xdist group: they are computed once, on one worker (the group
# tests/conftest.py gives every cluster test). A worker process's start costs a TensorFlow import, so the tests
# below share this cluster where one of their own would prove nothing more; the sweep's own local cluster
# (``--workers``) is started once, by the sweep process of ``one_worker_sweep``.
SHARED_CLUSTER = pytest.mark.xdist_group("cluster")
SEEDS = ["--seeds", "0-1"]  # with both dtypes: 4 tasks, two for each worker of the module's cluster


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def scheduler_address():
    """``dask scheduler`` and ``dask worker --nworkers 2`` as a user starts them: two workers, each with a nanny
    that restarts it when it dies (test_a_killed_worker_loses_no_task)."""
    dask_cli = str(Path(sys.executable).parent / "dask")
    address = f"tcp://127.0.0.1:{_free_port()}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # as the local cluster's scheduler: a task whose worker dies is rerun once (test_a_killed_worker_loses_no_task)
    scheduler_env = {**env, "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": str(cluster.ALLOWED_FAILURES)}
    procs = [subprocess.Popen([dask_cli, "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                               "--no-dashboard"], env=scheduler_env, stderr=subprocess.DEVNULL)]
    procs.append(subprocess.Popen([dask_cli, "worker", address, "--nworkers", "2", "--nthreads", "1",
                                   "--no-dashboard"], env=env, cwd=ROOT, stderr=subprocess.DEVNULL))
    try:
        from distributed import Client
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
            proc.wait(timeout=30)


@pytest.fixture(scope="module")
def cluster_client(scheduler_address):
    """A client of the module's cluster, connected as ``--scheduler`` connects (its workers' threads pinned)."""
    with connect(scheduler_address) as client:
        yield client


@pytest.fixture(scope="module")
def one_worker_sweep(tmp_path_factory):
    """A sweep run as a user runs it: ``python -m parity sweep --workers 1``, a process starting its own local
    cluster. Returns (the finished process, its --out). The test of its quiet stderr and, as the one-worker side,
    the worker-count test both read it: one process and one cluster start (each a TensorFlow import) for both."""
    out = tmp_path_factory.mktemp("one_worker")
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"} | {"PYTHONPATH": str(ROOT)}
    argv = ["sweep", *QUICK, *SEEDS, "--workers", "1", "--out", str(out)]
    done = subprocess.run([sys.executable, "-m", "parity", *argv], capture_output=True, text=True, env=env,
                          timeout=600)
    return done, out


@pytest.fixture(scope="module")
def two_worker_sweep(tmp_path_factory, cluster_client):
    """The same sweep on the module's two workers (``--scheduler``). Returns (its exit code, its --out). The
    worker-count test compares it with ``one_worker_sweep``; the separately-started test checks where it ran."""
    out = tmp_path_factory.mktemp("two_workers")
    cluster_client.wait_for_workers(2, timeout=120)  # a worker killed by an earlier test restarts
    return _sweep(out, *SEEDS, "--scheduler", cluster_client.scheduler.address), out


@SHARED_CLUSTER
@pytest.mark.keras
@pytest.mark.cluster
def test_results_do_not_depend_on_the_worker_count(one_worker_sweep, two_worker_sweep):
    """Two workers (the module's cluster) and one (a local cluster the sweep starts itself: ``--workers 1``)."""
    (done, one), (code, two) = one_worker_sweep, two_worker_sweep
    assert done.returncode == 0, done.stderr
    assert code == 0
    assert json.loads((one / "manifest.json").read_text())["workers"] == 1
    pd.testing.assert_frame_equal(_runs(two), _runs(one))
    assert _step_losses(two) == _step_losses(one)
    page = (two / "index.html").read_text()
    png = page.split("data:image/png;base64,", 1)[1].split("'", 1)[0]
    assert base64.b64decode(png)[:8] == b"\x89PNG\r\n\x1a\n"


@SHARED_CLUSTER
@pytest.mark.keras
@pytest.mark.cluster
def test_a_killed_worker_loses_no_task(tmp_path, cluster_client):
    keys = task_keys(["two_layer_net"], range(4), ["float64"])
    killed = {}

    def kill_a_busy_worker(record):
        if not killed:  # after the first result: the other tasks are running or queued
            worker, dask_keys = max(cluster_client.processing().items(), key=lambda item: len(item[1]))
            killed.update(pid=cluster_client.run(os.getpid, workers=[worker])[worker], keys=dask_keys)
            os.kill(killed["pid"], signal.SIGKILL)  # the worker process dies mid-task; its nanny starts a new one

    assert cluster_client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.allowed_failures) == 1
    records = run_tasks(cluster_client, keys, Settings(epochs=1), Store(tmp_path), kill_a_busy_worker)
    assert sorted(TaskKey(**r["key"]).name for r in records) == sorted(k.name for k in keys)
    assert all(r["status"] == "ok" for r in records) and killed["keys"]
    rerun = [r for r in records if any(TaskKey(**r["key"]).name in k for k in killed["keys"])]
    assert rerun and all(r["worker"]["pid"] != killed["pid"] for r in rerun)


@SHARED_CLUSTER
@pytest.mark.keras
@pytest.mark.cluster
def test_a_failing_task_is_recorded_with_its_error(tmp_path, cluster_client):
    keys = [TaskKey("no_such_experiment", 0, "float64"), TaskKey("two_layer_net", 0, "float64")]
    records = {r["key"]["experiment"]: r for r in run_tasks(cluster_client, keys, Settings(epochs=1), Store(tmp_path))}
    assert records["two_layer_net"]["status"] == "ok"
    assert records["no_such_experiment"] == {**records["no_such_experiment"], "status": "failed",
                                             "error": "KeyError: 'no_such_experiment'"}
    assert Store(tmp_path).read(keys[0])["status"] == "failed"


@SHARED_CLUSTER
@pytest.mark.keras
@pytest.mark.cluster
def test_resume_redoes_nothing_that_finished(tmp_path, capsys, cluster_client, monkeypatch):
    """On the module's running cluster (``--scheduler``): starting a local cluster is covered above."""
    out = tmp_path / "sweep"
    on = ["--dtype", "float64", "--scheduler", cluster_client.scheduler.address]
    real = sweep_cli.run_tasks

    def ctrl_c_after_two(client, keys, settings, store, on_record=None):
        def stop(record):
            if len(list((out / "tasks").glob("*.json"))) == 2:
                raise KeyboardInterrupt  # what Ctrl-C raises in the CLI's main thread

        return real(client, keys, settings, store, stop)

    monkeypatch.setattr(sweep_cli, "run_tasks", ctrl_c_after_two)
    assert _sweep(out, "--seeds", "0-2", *on) == 130
    assert capsys.readouterr().err.strip() == (f"parity: interrupted; 2 of 3 tasks are finished in {out} (no report "
                                               "written); run the same command with --resume to continue.")
    monkeypatch.undo()
    finished = {p: p.stat().st_mtime_ns for p in (out / "tasks").glob("*.json")}
    assert len(finished) == 2 and not (out / "results.csv").exists()
    assert _sweep(out, "--seeds", "0-2", *on) == 2  # no silent overwrite without --resume
    assert _sweep(out, "--seeds", "0-2", *on, "--resume") == 0
    assert {p: p.stat().st_mtime_ns for p in finished} == finished
    assert json.loads((out / "manifest.json").read_text())["executed_now"] == 1
    assert len(list((out / "tasks").glob("*.json"))) == 3 and len(pd.read_csv(out / "results.csv")) == 6


# -- where the module's sweep ran: on a scheduler and workers started as separate processes -----------------
@pytest.mark.keras
@pytest.mark.cluster
def test_sweep_on_a_separately_started_scheduler_and_worker(two_worker_sweep):
    code, out = two_worker_sweep  # on the module's cluster: the scheduler and workers of ``scheduler_address``
    assert code == 0
    runs = pd.read_csv(out / "results.csv")  # 2 seeds x 2 dtypes x 2 runs
    assert len(runs) == 8 and set(runs["status"]) == {"ok"} and set(runs["seed"]) == {0, 1}
    workers = [json.loads(p.read_text())["worker"] for p in (out / "tasks").glob("*.json")]
    assert all(w["pid"] != os.getpid() for w in workers)  # computed in the worker process, not here
    assert all(w["blas_threads"] == w["tf_intra_op_threads"] == w["tf_inter_op_threads"] == 1 for w in workers)


@pytest.mark.keras
@pytest.mark.cluster
def test_a_sweep_prints_no_tensorflow_start_up_lines(one_worker_sweep):
    """As ``parity report``: the workers' and this process's TensorFlow import (the manifest's versions) are quiet.
    (``--verbose`` shows them through the same ``quiet.set_verbose`` as report's, tested in test_report_integrity.)"""
    done, out = one_worker_sweep
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    # the precision the tasks ran with (keras_models.backend: TF32 off), not a bare TensorFlow's default: the
    # manifest holds the worker's versions and flags (the sweep process never imports TensorFlow)
    info = json.loads((out / "manifest.json").read_text())
    worker = json.loads(next((out / "tasks").glob("*.json")).read_text())["worker"]["environment"]
    assert info["flags"]["tf32_execution"] is False and "environment_of" not in info
    assert {k: info[k] for k in worker if k != "flags"} == {k: v for k, v in worker.items() if k != "flags"}


def test_an_unreachable_scheduler_is_one_error_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", "0.5s")  # the time it keeps retrying: nothing else depends on it
    started = time.monotonic()
    assert _sweep(tmp_path, "--seeds", "0", "--scheduler", f"tcp://127.0.0.1:{_free_port()}") == 2
    assert "Cannot reach a Dask scheduler" in capsys.readouterr().err and time.monotonic() - started < 60


# -- parity report runs its independent parts on the same task layer -----------------------------------
@SHARED_CLUSTER
@pytest.mark.keras
@pytest.mark.cluster
def test_report_runs_each_dtype_as_a_task(tmp_path, monkeypatch, cluster_client):
    """On the module's two workers: the report's own local cluster is started in test_report_integrity.py."""
    asked = []

    @contextlib.contextmanager
    def module_cluster(workers):
        asked.append(workers)
        yield cluster_client

    monkeypatch.setattr(cli, "connect", module_cluster)
    cluster_client.wait_for_workers(2, timeout=120)  # a worker killed by an earlier test restarts
    argv = ["report", "--section", "experiments", "--experiment", "two_layer_net", "--epochs", "1"]
    assert cli.main([*argv, "--workers", "2", "--out", str(tmp_path)]) == 0
    assert asked == [2]
    run = tmp_path / "digits-epochs1-only-two_layer_net"  # a filtered run's own folder, named after its epochs
    rows = pd.read_csv(run / "results.csv")
    assert sorted(set(rows["dtype"])) == ["float32", "float64"] and rows["passed"].all()
    processes = json.loads((run / "manifest.json").read_text())["processes"]
    assert sorted((p["section"], p["dtype"]) for p in processes) == [("experiments", "float32"),
                                                                     ("experiments", "float64")]
    assert len({p["pid"] for p in processes}) == 2


def test_report_refuses_a_bad_worker_count(tmp_path, capsys):
    assert cli.main(["report", "--workers", "0", "--out", str(tmp_path)]) == 2
    assert "--workers must be positive" in capsys.readouterr().err and list(tmp_path.iterdir()) == []
