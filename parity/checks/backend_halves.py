"""The NumPy side of the backend matrix, computed once: ``numpy_halves`` for every backend's worker.

The parent of ``parity.checks.backends.run_backends`` computes each check's NumPy
half (``CheckCase.numpy_half``: plain data) once per spec, dtype and check and
sends it to every worker (TensorFlow, JAX, PyTorch), which runs only the Keras
halves. Left to the worker: cases whose NumPy half depends on the backend
(``CheckCase.backend_independent``) and the variant re-runs (their NumPy half
is computed where the variant is on, ``backends._rerun_failing``).
"""
from threadpoolctl import threadpool_limits

from parity.checks import yield_checks
from parity.specs import SPECS
from parity.twins import twin_data


def numpy_halves(spec_ids, dtypes, checks=None):
    """{"cases": {case key: NumPy half}, "twins": {(spec id, dtype): twin data}}: the NumPy side of the
    checks, computed once (in the parent) for every backend's worker.

    Left out, for the worker to compute: a case whose NumPy half depends on the backend
    (``CheckCase.backend_independent``), and one that raises (the worker raises the same, into its row).
    One BLAS thread, as in the workers (``_start_worker``).
    """
    out = {"cases": {}, "twins": {}}
    with threadpool_limits(1):
        for spec_id in spec_ids:
            for case in yield_checks(SPECS[spec_id], dtypes):
                if not checks or case.check in checks:
                    _add_half(out["cases"], case)
            for dtype in dtypes:
                try:
                    out["twins"][(spec_id, dtype)] = twin_data(SPECS[spec_id], dtype)
                except Exception:  # the worker's rows carry the error
                    continue
    return out


def _add_half(cases, case):
    try:
        if case.backend_independent:
            cases[case.key] = case.numpy_half()
    except Exception:  # computed again in the worker, whose row carries the error
        return


def share_of(halves, spec_ids):
    """The part of ``numpy_halves`` a process running ``spec_ids`` needs."""
    return {"cases": {k: v for k, v in halves["cases"].items() if k[0] in spec_ids},
            "twins": {k: v for k, v in halves["twins"].items() if k[0] in spec_ids}}


def twin_for(twins, spec_id, dtype):
    """The shipped ``twin_data`` of a spec and dtype, or (where the parent's raised) this process's own."""
    return twins[(spec_id, dtype)] if (spec_id, dtype) in twins else twin_data(SPECS[spec_id], dtype)
