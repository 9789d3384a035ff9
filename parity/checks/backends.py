"""Run parity checks on each Keras backend, in worker processes of their own.

Keras fixes its backend when it is first imported, so each backend gets a
spawned process with ``KERAS_BACKEND`` set before anything imports Keras. A
worker runs ``yield_checks`` for the specs it is given and returns rows (plain
data), the precision switches its backend set (``keras_models.backend``) and
the Keras arrays of one forward/backward pass per spec and dtype, from which
the parent measures backend-vs-backend differences. The NumPy side is computed
once, in the parent (``numpy_halves``: each check's NumPy half, plain data) and
sent to every worker, which builds only the Keras twins and runs the Keras
halves. Two kinds of case compute their NumPy half in the worker instead: a
training-mode pass that replays Keras's random streams (the backend's masks,
``CheckCase.backend_independent``), and every variant re-run (a variant may
change the NumPy twin: its NumPy half is computed where the variant is on).
Workers run one thread each; JAX, which compiles every eager op, gets its specs
dealt out over ``JAX_PROCESSES`` processes.
"""
import multiprocessing
import os
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from threadpoolctl import threadpool_limits

from parity.checks import yield_checks
from parity.checks.backend_halves import numpy_halves, share_of, twin_for
from parity.checks.backend_variants import SEPARATE, apply_variant, measured, rerun_plan, switched_on
from parity.checks.model_checks import clear_keras_products, keras_product
from parity.checks.optimizer_checks import check_optimizer_trajectory
from parity.checks.optimizer_settings import OPTIMIZER_SETTINGS
from parity.compare import relative_difference
from parity.report import quiet
from parity.specs import SPECS, make_inputs

BACKENDS = ("tensorflow", "jax", "torch")
SINGLE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                 "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1",
                 "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false"}
# JAX compiles each eager op (XLA) and is 10-30x slower than TensorFlow or PyTorch here: its specs are split over
# this many processes when there are at least SPLIT_MIN_SPECS of them.
JAX_PROCESSES, SPLIT_MIN_SPECS = 2, 20
BACKEND_MODULES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}

def available(backend):
    """Whether ``backend``'s package is installed (without importing it)."""
    import importlib.util

    return importlib.util.find_spec(BACKEND_MODULES[backend]) is not None


def _start_worker(backend):
    """Spawned-worker initializer: the backend is chosen before anything imports Keras; one thread per
    process (several workers share the cores; as the report's own workers, ``parity.sweep.cluster``)."""
    if "keras" in sys.modules:
        raise RuntimeError(f"Keras was imported before the backend was set. Received: backend={backend!r}")
    os.environ["KERAS_BACKEND"] = backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    for name, value in SINGLE_THREAD.items():
        os.environ.setdefault(name, value)
    threadpool_limits(1)  # NumPy's BLAS read its variables when unpickling this initializer imported NumPy
    if backend == "tensorflow":  # as the report's own workers: TensorFlow's start-up lines only with --verbose
        quiet.import_tensorflow()


_REUSED = {}  # backend -> a spawned process kept for ``run_on(..., reuse=True)`` calls


def run_on(backend, fn, *args, reuse=False):
    """``fn(*args)`` in a spawned process running ``backend`` (``fn`` and its result cross as pickles).

    ``reuse``: in this process's one kept process for ``backend`` (started on first use, ended at exit), for
    calls that leave no state behind (no variant switched on); saves a start and an import of the backend.
    """
    context = multiprocessing.get_context("spawn")
    if reuse:
        if backend not in _REUSED:
            _REUSED[backend] = ProcessPoolExecutor(1, mp_context=context, initializer=_start_worker,
                                                   initargs=(backend,))
        try:
            return _REUSED[backend].submit(fn, *args).result()
        except BrokenProcessPool:  # the kept process died (a crash, the OOM killer): the next call starts afresh
            _REUSED.pop(backend).shutdown(wait=False)
            raise
    with ProcessPoolExecutor(1, mp_context=context, initializer=_start_worker, initargs=(backend,)) as pool:
        return pool.submit(fn, *args).result()


def case_row(case, backend, numpy_half=None):
    """One row for a ``CheckCase`` on ``backend``: worst comparison, first failing tensor, the error.

    ``numpy_half``: the case's NumPy half computed elsewhere (``numpy_halves``); None computes it here.
    """
    start = time.perf_counter()
    try:
        comparisons = case.run() if numpy_half is None else case.keras_half(numpy_half)
    except Exception as exc:  # a backend that cannot run a layer is a result, not a crash of the matrix
        return {"spec": case.spec.id, "check": case.id, "dtype": case.dtype, "backend": backend, "passed": False,
                "max_rel": None, "rtol": None, "first_failing": None, "error": f"{type(exc).__name__}: {exc}",
                "keras_alone": keras_alone(case.spec, case.dtype), "seconds": time.perf_counter() - start}
    failing = [c for c in comparisons if not c.passed]
    worst = max(comparisons, key=lambda c: c.max_rel / c.rtol if c.rtol else c.max_rel)
    return {"spec": case.spec.id, "check": case.id, "dtype": case.dtype, "backend": backend,
            "passed": not failing, "expected_failure": case.expected_failure is not None,
            "max_rel": worst.max_rel, "rtol": worst.rtol, "worst_tensor": worst.tensor,
            "first_failing": failing[0].tensor if failing else None, "error": None,
            "seconds": time.perf_counter() - start}


def keras_alone(spec, dtype, seed=0):
    """The error of the stock Keras model of a Sequential spec called alone on this process's backend (no NumPy
    twin, no weights copied, no parity code in the call), or None when it runs (or the spec is a graph)."""
    if spec.is_graph:
        return None
    from keras_models import build_sequential  # imports the backend

    try:  # building may raise too (the row's error may be the build's): a measurement, never a crash
        model = build_sequential(spec.layer_tuples(), spec.input_shape, dtype)
        model(make_inputs(spec, dtype, seed), training=False)
    except Exception as exc:  # the measurement: does Keras itself raise the row's error?
        return f"{type(exc).__name__}: {exc}"
    return None


def keras_arrays(spec, dtype, twin, seed=0):
    """{name: array}: the Keras output and every gradient of one forward/backward pass (inference): the
    product ``check_backward`` took (``keras_product``), when it ran just before in this process. ``twin``:
    ``parity.twins.twin_data``."""
    ref = keras_product(spec, dtype, seed, False, twin, "backward")
    return {"output": ref["outputs"][-1], "dx": ref["dx"], **ref["grads"]}


def optimizer_row(setting, spec, dtype, backend, steps=20):
    """One row for an optimizer trajectory (every step, parameters and slots) on ``backend``."""
    start = time.perf_counter()
    comparisons = check_optimizer_trajectory(setting, spec, dtype, steps=steps)
    failing = [c for c in comparisons if not c.passed]
    worst = max(comparisons, key=lambda c: c.max_rel / c.rtol if c.rtol else c.max_rel)
    return {"spec": spec.id, "check": f"optimizer {setting.id}", "dtype": dtype, "backend": backend,
            "passed": not failing, "max_rel": worst.max_rel, "rtol": worst.rtol, "worst_tensor": worst.name,
            "first_failing": failing[0].name if failing else None, "error": None,
            "slots_only": all(c.kind == "slot" for c in failing), "seconds": time.perf_counter() - start}


def _rows(backend, spec_ids, dtypes, checks, optimizer_spec_ids, settings, halves=None):
    """The rows of ``spec_ids`` (and optimizer rows); ``halves``: ``numpy_halves`` (None: computed here)."""
    cases = {} if halves is None else halves["cases"]
    rows = []
    for spec_id in optimizer_spec_ids:
        rows += [optimizer_row(setting, SPECS[spec_id], dtype, backend)
                 for setting in OPTIMIZER_SETTINGS.values() if not settings or setting.id in settings
                 for dtype in dtypes]
    for spec_id in spec_ids:
        rows += [case_row(case, backend, cases.get(case.key)) for case in yield_checks(SPECS[spec_id], dtypes)
                 if not checks or case.check in checks]
    return rows


def _rerun_failing(backend, rows):
    """{variant: rows}: the failing float64 rows again, each with the variant that may explain them.

    Each variant is switched on for its own re-run only (``switched_on``), in this worker, one after the
    other: no new process per variant, and no variant's switches left on for the next. A variant may change
    the NumPy twin, so the re-runs compute their NumPy halves here, with the variant on.
    """
    plan = {variant: part for (_, variant), part in rerun_plan(rows).items() if variant not in SEPARATE}
    out = {}
    for variant in sorted(plan):
        part = plan[variant]
        with switched_on(variant):
            clear_keras_products()  # products and twins cached under other switches would be compared
            out[variant] = _rows(backend, sorted(part["spec_ids"]), ("float64",), sorted(part["checks"]) or None,
                                 sorted(part["optimizer_spec_ids"]), sorted(part["settings"]) or None)
        clear_keras_products()
    return out


def _worker(backend, spec_ids, dtypes, checks, optimizer_spec_ids, settings, halves=None):
    from keras_models.backend import precision_settings  # imports the backend

    rows, arrays = _rows(backend, [], dtypes, checks, optimizer_spec_ids, settings), {}
    twins = {} if halves is None else halves["twins"]
    for spec_id in spec_ids:  # a spec's arrays right after its checks: their twins and products are still cached
        rows += _rows(backend, [spec_id], dtypes, checks, [], None, halves)
        arrays.update({(spec_id, dtype): keras_arrays(SPECS[spec_id], dtype, twin_for(twins, spec_id, dtype))
                       for dtype in dtypes
                       if not any(r["error"] for r in rows if (r["spec"], r["dtype"]) == (spec_id, dtype))})
    return {"backend": backend, "rows": rows, "arrays": arrays, "settings": precision_settings(),
            "variant_rows": _rerun_failing(backend, rows)}  # last: the variants change this process


def _warm_up():
    """Import the backend (a process's first job), while the parent computes the NumPy halves."""
    from keras_models.backend import precision_settings  # imports the backend

    return precision_settings()


def run_backends(backends, spec_ids, dtypes=("float32", "float64"), checks=None, optimizer_spec_ids=(),
                 settings=None):
    """{backend: worker result} for each backend, each in its own spawned processes, all at once (and
    ``"_numpy_halves_seconds"``: the parent's time computing the shared NumPy halves).

    ``checks``/``settings``: only these check names / optimizer setting ids (default: all). Each worker
    also re-runs its failing float64 rows with the variant that may explain them (``variant_rows``).
    JAX's specs are shared out over ``JAX_PROCESSES`` processes (``shares``). The NumPy halves are computed
    here once (``numpy_halves``) while the workers import their backends, and sent to every worker.
    """
    missing = [b for b in backends if b not in BACKENDS]
    if missing:
        raise ValueError(f"Unknown backend(s); expected some of {BACKENDS}. Received: backends={missing}")
    context = multiprocessing.get_context("spawn")
    jobs = [(b, share, list(optimizer_spec_ids) if k == 0 else []) for b in backends
            for k, share in enumerate(shares(b, list(spec_ids)))]
    pools = [ProcessPoolExecutor(1, mp_context=context, initializer=_start_worker, initargs=(b,)) for b, _, _ in jobs]
    try:
        warm = [pool.submit(_warm_up) for pool in pools]
        start = time.perf_counter()
        halves = numpy_halves(list(spec_ids), tuple(dtypes), checks)
        numpy_seconds = time.perf_counter() - start
        for future in warm:  # a worker that cannot start raises here, as its job would
            future.result()
        futures = [pool.submit(_worker, b, share, tuple(dtypes), checks, opt, settings, share_of(halves, share))
                   for pool, (b, share, opt) in zip(pools, jobs, strict=True)]
        parts = [f.result() for f in futures]
    finally:
        for pool in pools:
            pool.shutdown()
    results = {b: merge([p for p, (pb, _, _) in zip(parts, jobs, strict=True) if pb == b], list(spec_ids))
               for b in backends}
    return {**results, "_numpy_halves_seconds": numpy_seconds}


def shares(backend, spec_ids):
    """The spec ids each of ``backend``'s processes runs: JAX's dealt out round-robin when there are many."""
    n = JAX_PROCESSES if backend == "jax" and len(spec_ids) >= SPLIT_MIN_SPECS else 1
    return [spec_ids[k::n] for k in range(n)]


def merge(parts, spec_ids):
    """One worker result from the results of one backend's processes: rows in the order one process gives."""
    order = {spec_id: i for i, spec_id in enumerate(spec_ids)}
    rows = [r for p in parts for r in p["rows"]]
    optimizer = [r for r in rows if r["check"].startswith("optimizer ")]
    checks = sorted((r for r in rows if not r["check"].startswith("optimizer ")), key=lambda r: order[r["spec"]])
    variant_rows = {}
    for p in parts:
        for variant, vrows in p["variant_rows"].items():
            variant_rows.setdefault(variant, []).extend(vrows)
    return {"backend": parts[0]["backend"], "rows": optimizer + checks, "settings": parts[0]["settings"],
            "arrays": {k: v for p in parts for k, v in p["arrays"].items()}, "variant_rows": variant_rows,
            "processes": len(parts)}


def rerun_with_variants(results):
    """{(backend, spec, check, dtype): variant re-run} for every failing float64 row on JAX/PyTorch
    (the workers' ``variant_rows``)."""
    reruns = {(b, variant): {"rows": rows} for b, result in results.items() if not b.startswith("_")
              for variant, rows in result.get("variant_rows", {}).items()}
    rows = [r for b, result in results.items() if not b.startswith("_") for r in result["rows"]]
    for (backend, variant), p in rerun_plan(rows).items():
        if variant in SEPARATE:  # its own process: the worker's other variants stay switched on
            reruns[(backend, variant)] = {"rows": run_on(backend, _variant_worker, backend, variant, p)}
    return measured(reruns)


def _variant_worker(backend, variant, part):
    apply_variant(variant)
    return _rows(backend, sorted(part["spec_ids"]), ("float32",), sorted(part["checks"]) or None,
                 sorted(part["optimizer_spec_ids"]), sorted(part["settings"]) or None)


def explain(row, variant=None):
    """The known convention (or Keras error) that explains a failing row, or None.

    ``variant``: the row's re-run with the variant that may explain it (``rerun_with_variants``): a cause
    counts as measured only when that re-run passes.
    """
    if row["passed"]:
        return None
    if row["max_rel"] is None:  # an error: explained when stock Keras alone raises the same on this backend
        if row.get("keras_alone") != row["error"]:
            return None
        message = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", row["error"]).split())
        return f"Keras's {row['backend']} backend raises on the stock Keras model alone (measured): {message[:240]}"
    if variant is not None and variant["passed"]:
        return f"{variant['cause']}: re-run with {variant['variant']}: {variant['max_rel']:.1e} (passes)"
    return None


def cross_backend(results):
    """[{spec, dtype, pair, max_rel}]: the largest relative difference of the Keras arrays between two backends."""
    names = sorted(results)
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            for key, arrays in results[a]["arrays"].items():
                other = results[b]["arrays"].get(key)
                if other is None:  # the spec raised on one of the two (its rows say so)
                    continue
                keys = sorted(arrays)
                _, rel = relative_difference([arrays[k] for k in keys], [other[k] for k in keys])
                out.append({"spec": key[0], "dtype": key[1], "pair": f"{a} vs {b}", "max_rel": rel})
    return out
