"""Where tasks run: a ``LocalCluster`` sized to this machine, or an existing Dask scheduler.

Every worker computes with one thread: one task per worker process (Keras's
dtype state is process-global, so two tasks must never share a process), one
BLAS thread and one TensorFlow intra/inter-op thread. Besides using each core
once, this makes float32 results independent of where a task runs: the thread
count changes the order of floating-point sums.
"""
import asyncio
import contextlib
import logging
import os
import signal
import threading

import dask
from distributed import Client, LocalCluster, WorkerPlugin
from threadpoolctl import threadpool_limits

from parity.report.quiet import import_tensorflow, verbose

PINNED_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
ALLOWED_FAILURES = 1  # a task whose worker dies is rerun once, then reported as failed (KilledWorker)
LOCAL_CLUSTER_CONFIG = {
    "distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
    # Dask's nanny starts its workers with MALLOC_TRIM_THRESHOLD_=65536: glibc hands freed memory back to the OS at
    # once, and a worker allocating and freeing the same arrays step after step faults them in again. Unset,
    # glibc's default (thresholds that grow with the blocks freed) keeps them: a default report's page faults
    # 3.3M -> 0.87M, its system CPU 12.5 -> 7.3 s.
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    # Dask's event loops wake every 20 ms to see whether they are blocked, every 500 ms for the dashboard's system
    # monitor and every 100 ms for the memory monitor: a local cluster of two workers cost the CLI's process
    # 0.4 CPU s per 15 s (0.07 s with these), CPU the workers' tasks share the cores with. Blocked loops are still
    # reported (after 3 s), memory limits still enforced (checked each second), and nothing here uses the dashboard.
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.worker.memory.monitor-interval": "1s",
}
CONNECT_TIMEOUT = "10s"
STOP_NOW_SECONDS = 0.5  # on Ctrl-C, what a worker gets to stop by itself before it is killed (Dask's close waits 4)


def available_cores():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def pin_threads():
    """One BLAS thread and one TF thread in this process (idempotent; TF's must come before its first op)."""
    for name, value in PINNED_ENV.items():
        os.environ.setdefault(name, value)
    threadpool_limits(1)
    tf = import_tensorflow()  # after the environment above: TF reads it at import; start-up lines captured
    with contextlib.suppress(RuntimeError):  # already initialised: the environment variables above applied
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)


def _plugin():
    class PinThreads(WorkerPlugin):
        """Runs ``pin_threads`` on every worker, including workers that join or restart later."""
        name = "parity-pin-threads"

        def setup(self, worker):
            pin_threads()

    return PinThreads()


def _check_one_thread(client, address):
    workers = client.scheduler_info(n_workers=-1)["workers"]
    threaded = {w: info["nthreads"] for w, info in workers.items() if info["nthreads"] != 1}
    if threaded:
        raise ValueError(f"Every worker must run one thread (start them with `dask worker {address} --nthreads 1`); "
                         f"Keras's dtype state is per process. Received: nthreads={threaded}")


@contextlib.contextmanager
def _workers_ignore_ctrl_c():
    """Worker processes started in here inherit SIGINT ignored.

    Ctrl-C reaches the whole foreground process group; the CLI answers it and
    tears the cluster down, while a worker's own KeyboardInterrupt would only
    print a traceback on the user's terminal.
    """
    if threading.current_thread() is not threading.main_thread():  # signal handlers live in the main thread
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


async def _close_now(nannies):
    await asyncio.gather(*(n.close(timeout=STOP_NOW_SECONDS, reason="parity-interrupted") for n in nannies),
                         return_exceptions=True)  # each nanny still ends closed; its worker is killed either way


def _stop_workers_now(cluster):
    """Ctrl-C: end the local workers now instead of letting each finish its task.

    A worker mid-task cannot close gracefully (its one thread is busy), so Dask's
    close waits 4 s per worker before killing it, and the workers compute for nothing
    meanwhile. Only for a cluster started here: a ``--scheduler``'s workers are not ours.
    """
    with contextlib.suppress(Exception):  # whatever goes wrong here, the cluster's own close still ends them
        cluster.sync(_close_now, list(cluster.workers.values()))


@contextlib.contextmanager
def connect(scheduler=None, workers=None):
    """Yield a ``distributed.Client``: to ``scheduler`` if given, else to a new local cluster of ``workers``."""
    if scheduler:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except OSError as exc:
            raise ValueError(f"Cannot reach a Dask scheduler ({exc}). Received: --scheduler={scheduler}") from None
        with client:
            _check_one_thread(client, scheduler)
            client.register_plugin(_plugin())
            yield client
        return
    with dask.config.set(LOCAL_CLUSTER_CONFIG), _workers_ignore_ctrl_c():
        cluster = LocalCluster(n_workers=workers or available_cores(), threads_per_worker=1, processes=True,
                               dashboard_address=":0", env=PINNED_ENV,
                               # teardown on a loaded machine logs heartbeat "errors": the CLI prints only its own lines
                               silence_logs=logging.ERROR if verbose() else logging.CRITICAL)
    with cluster, Client(cluster) as client:
        client.register_plugin(_plugin())
        try:
            yield client
        except KeyboardInterrupt:
            _stop_workers_now(cluster)
            raise
