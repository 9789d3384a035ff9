"""One xdist group per (model, optimizer setting, dtype) for the tests that step that optimizer on that model.

``parity.checks.optimizer_checks.kept_stepper`` keeps one traced Keras optimizer step per setting on each shared
twin (one per spec, dtype and seed) in a process (a trace costs 50-100 ms, a check's 20 steps 10-15 ms), and
test_optimizer_steps keeps each eager trajectory it compares against: in one group, the tests of a case run in the one pytest-xdist worker that
traced it (``--dist loadgroup``, pyproject's addopts).
"""
import pytest


def optimizer_group(spec, setting, dtype):
    """The xdist_group mark of a (model, optimizer setting, dtype) case."""
    return pytest.mark.xdist_group(f"optimizer-{spec.id}-{setting.id}-{dtype}")


def optimizer_cases(specs, settings, dtypes):
    """``pytest.param(spec, setting, dtype)`` for each case, id "spec-setting-dtype", in its group."""
    return [pytest.param(spec, setting, dtype, id=f"{spec.id}-{setting.id}-{dtype}",
                         marks=optimizer_group(spec, setting, dtype))
            for spec in specs for setting in settings for dtype in dtypes]
