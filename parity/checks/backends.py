"""Run parity checks on each Keras backend, one worker process per backend.

Keras fixes its backend when it is first imported, so each backend gets a
spawned process with ``KERAS_BACKEND`` set before anything imports Keras. A
worker runs ``yield_checks`` for the specs it is given and returns rows (plain
data), the precision switches its backend set (``keras_models.backend``) and
the Keras arrays of one forward/backward pass per spec and dtype, from which
the parent measures backend-vs-backend differences. The NumPy twin is rebuilt
in each worker from the same seed (same numbers; not shared memory).
"""
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

from parity.checks import yield_checks
from parity.checks.model_checks import upstream_gradient
from parity.compare import relative_difference
from parity.specs import SPECS, make_inputs
from parity.tolerances import tolerance
from parity.twins import build_twins

BACKENDS = ("tensorflow", "jax", "torch")
BACKEND_MODULES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}
# Keras 3 promotes float64 to float32 on JAX and PyTorch (keras.src.backend.common.dtypes.BIT64_TO_BIT32_DTYPE,
# "to be aligned with JAX's default behavior"): ops that go through result_type compute a float64 model in float32.
FLOAT64_DEMOTION = ("Keras demotes float64 to float32 in its type promotion on JAX and PyTorch "
                    "(BIT64_TO_BIT32_DTYPE); the error is float32 round-off: within the float32 tolerance")


def available(backend):
    """Whether ``backend``'s package is installed (without importing it)."""
    import importlib.util

    return importlib.util.find_spec(BACKEND_MODULES[backend]) is not None


def _start_worker(backend):
    """Spawned-worker initializer: the backend is chosen before anything imports Keras."""
    if "keras" in sys.modules:
        raise RuntimeError(f"Keras was imported before the backend was set. Received: backend={backend!r}")
    os.environ["KERAS_BACKEND"] = backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def case_row(case, backend):
    """One row for a ``CheckCase`` on ``backend``: worst comparison, first failing tensor, the error."""
    start = time.perf_counter()
    try:
        comparisons = case.run()
    except Exception as exc:  # a backend that cannot run a layer is a result, not a crash of the matrix
        return {"spec": case.spec.id, "check": case.id, "dtype": case.dtype, "backend": backend, "passed": False,
                "max_rel": None, "rtol": None, "first_failing": None, "error": f"{type(exc).__name__}: {exc}",
                "seconds": time.perf_counter() - start}
    failing = [c for c in comparisons if not c.passed]
    worst = max(comparisons, key=lambda c: c.max_rel / c.rtol if c.rtol else c.max_rel)
    return {"spec": case.spec.id, "check": case.id, "dtype": case.dtype, "backend": backend,
            "passed": not failing, "expected_failure": case.expected_failure is not None,
            "max_rel": worst.max_rel, "rtol": worst.rtol, "worst_tensor": worst.tensor,
            "first_failing": failing[0].tensor if failing else None, "error": None,
            "seconds": time.perf_counter() - start}


def keras_arrays(spec, dtype, seed=0):
    """{name: array}: the Keras output and every gradient of one forward/backward pass (inference)."""
    from keras_models import forward_backward  # imports the backend

    np_model, k_model = build_twins(spec, dtype, seed)
    x = make_inputs(spec, dtype, seed)
    ref = forward_backward(k_model, x, upstream_gradient(spec, np_model, dtype, seed))
    return {"output": ref["outputs"][-1], "dx": ref["dx"], **ref["grads"]}


def _worker(backend, spec_ids, dtypes, checks):
    from keras_models.backend import precision_settings  # imports the backend

    rows, arrays = [], {}
    for spec_id in spec_ids:
        spec = SPECS[spec_id]
        rows += [case_row(case, backend) for case in yield_checks(spec, dtypes) if not checks or case.check in checks]
        for dtype in dtypes:
            arrays[(spec_id, dtype)] = keras_arrays(spec, dtype)
    return {"backend": backend, "rows": rows, "arrays": arrays, "settings": precision_settings()}


def run_backends(backends, spec_ids, dtypes=("float32", "float64"), checks=None):
    """{backend: worker result} for each backend, each in its own spawned process, all at once."""
    missing = [b for b in backends if b not in BACKENDS]
    if missing:
        raise ValueError(f"Unknown backend(s); expected some of {BACKENDS}. Received: backends={missing}")
    context = multiprocessing.get_context("spawn")
    pools = [ProcessPoolExecutor(1, mp_context=context, initializer=_start_worker, initargs=(b,)) for b in backends]
    try:
        futures = [pool.submit(_worker, b, list(spec_ids), tuple(dtypes), checks) for pool, b in zip(pools, backends)]
        return {b: f.result() for b, f in zip(backends, futures, strict=True)}
    finally:
        for pool in pools:
            pool.shutdown()


def explain(row):
    """The known convention that explains a failing row, or None (measured: see FLOAT64_DEMOTION)."""
    if row["passed"] or row["max_rel"] is None:
        return None
    if row["backend"] in ("jax", "torch") and row["dtype"] == "float64" \
            and row["max_rel"] <= tolerance("float32").rtol:
        return FLOAT64_DEMOTION
    return None


def cross_backend(results):
    """[{spec, dtype, pair, max_rel}]: the largest relative difference of the Keras arrays between two backends."""
    names = sorted(results)
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            for key, arrays in results[a]["arrays"].items():
                other = results[b]["arrays"][key]
                keys = sorted(arrays)
                _, rel = relative_difference([arrays[k] for k in keys], [other[k] for k in keys])
                out.append({"spec": key[0], "dtype": key[1], "pair": f"{a} vs {b}", "max_rel": rel})
    return out
