"""The task layer: one task per (experiment, seed, dtype, backend, dataset), run as a pure function.

A task's result depends only on its key and the sweep's settings: the seed in
the key seeds the weights, the data split and the batch order, exactly as
``parity report --seed`` does for one run. Workers return plain data (dicts of
numbers and lists), so results travel over any Dask cluster and land in JSON.
This is the one module of ``parity.sweep`` that imports the experiments, the
training loop and the datasets.
"""
import difflib
import functools
import os
import time
from dataclasses import asdict, dataclass

from threadpoolctl import threadpool_info

from parity.report.environment import manifest
from parity.report.experiment_report import summarise
from parity.training import EXPERIMENTS, Context
from parity.training import datasets as loaders

DTYPES = ("float32", "float64")
BACKENDS = ("tensorflow",)  # another backend arrives with its own issue


@dataclass(frozen=True)
class TaskKey:
    experiment: str
    seed: int
    dtype: str
    backend: str = "tensorflow"
    dataset: str = "digits"

    @property
    def name(self):
        """File-name-safe id, also the Dask key prefix."""
        return f"{self.experiment}-{self.dataset}-{self.dtype}-{self.backend}-seed{self.seed}"


@dataclass(frozen=True)
class Settings:
    """What every task of one sweep shares; a resumed sweep must use the same settings."""
    epochs: int = None
    full: bool = False
    data_path: str = None

    def as_dict(self):
        return asdict(self)


def task_keys(experiments, seeds, dtypes, datasets=("digits",), backends=BACKENDS):
    """The grid, in a fixed order (the order never changes any result)."""
    return [TaskKey(e, s, d, b, ds) for e in experiments for ds in datasets for d in dtypes for b in backends
            for s in seeds]


def experiment_ids():
    return sorted(EXPERIMENTS)


def refuse_unknown(flag, names, known, expected=None):
    """Raise one ValueError line for the values of ``flag`` not in ``known``.

    ``expected`` lists a short set of choices; without it the message points at `parity list` and suggests the
    closest known ids.
    """
    unknown = [n for n in names or [] if n not in known]
    if unknown:
        close = [] if expected else difflib.get_close_matches(unknown[0], list(known), n=3)
        expected = expected or "expected ids that `parity list` shows"
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ValueError(f"Unknown {flag[2:]}(s) {', '.join(unknown)}: {expected}{hint}. "
                         f"Received: {flag}={','.join(unknown)}")


def validate(experiments, dtypes, datasets, backends, data_path):
    """Raise ValueError (one line, naming the bad value) before anything runs; loads each dataset once."""
    refuse_unknown("--experiment", experiments, experiment_ids())
    refuse_unknown("--dtype", dtypes, DTYPES, f"expected {' or '.join(DTYPES)}")
    bad = [b for b in backends if b not in BACKENDS]
    if bad:
        raise ValueError(f"Only the tensorflow backend is supported for now. Received: --backend={','.join(bad)}")
    for name in datasets:
        loaders.load(name, data_path, 0)  # DataError (a ValueError) for unknown names and bad files


@functools.lru_cache(maxsize=2)
def _dataset(name, data_path, seed, full):
    return loaders.load_for_run(name, data_path, seed, full)  # the same subset rule as `parity report`


def _threads():
    """What the worker computed with: one BLAS thread and one TF thread are what makes runs comparable."""
    import tensorflow as tf

    return {"blas_threads": max((p["num_threads"] for p in threadpool_info()), default=None),
            "tf_intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
            "tf_inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads()}


def run_task(key, settings):
    """Run one experiment for one key; returns a plain record (rows, per-step losses, timing).

    Raises whatever the experiment raises; the runner retries once and then records the error.
    """
    start = time.perf_counter()
    data = _dataset(key.dataset, settings.data_path, key.seed if key.dataset == "digits" else 0, settings.full)
    result = EXPERIMENTS[key.experiment](Context(data, key.dtype, key.seed, settings.epochs, settings.full))
    rows = [{**row, **asdict(key)} for row in summarise([(key.dtype, result)])]  # the key names the dataset
    step_loss = {run.name: {"numpy": run.numpy.step_loss, "keras": run.keras.step_loss} for run in result.runs}
    return {"key": asdict(key), "settings": settings.as_dict(), "status": "ok", "rows": rows,
            "step_loss": step_loss, "seconds": time.perf_counter() - start,
            "worker": {"host": os.uname().nodename, "pid": os.getpid(), **_threads(), "environment": environment()}}


def environment():
    """The worker's versions and flags (``parity.report.environment.manifest`` without a seed): the sweep's
    manifest is made of these, so it describes the processes that computed, on whatever machines they ran."""
    env = manifest(None)
    env.pop("seed")
    return env


def failure_record(key, settings, error):
    """What is kept of a task that failed twice (or whose workers died twice)."""
    return {"key": asdict(key), "settings": settings.as_dict(), "status": "failed", "rows": [],
            "error": f"{type(error).__name__}: {error}"}


def key_of(record):
    return TaskKey(**record["key"])
