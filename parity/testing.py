"""pytest integration: turn the spec registry into one test case per spec x check."""
import pytest

from parity.checks import yield_checks


def check_params(specs, dtypes=("float32", "float64")):
    """pytest.param entries with ids "<spec id>-<check>(kwargs)"; known divergences are strict xfails."""
    params = []
    for spec in specs:
        for check_id, fn in yield_checks(spec, dtypes):
            name = check_id.split("(")[0]
            marks = []
            if name in spec.expected_failed_checks:
                marks.append(pytest.mark.xfail(strict=True, reason=spec.expected_failed_checks[name]))
            params.append(pytest.param(spec, check_id, fn, marks=marks, id=f"{spec.id}-{check_id}"))
    return params


def parametrize_with_checks(specs, dtypes=("float32", "float64")):
    """Decorator: ``@parametrize_with_checks(SPECS.values())`` over (spec, check_id, check)."""
    return pytest.mark.parametrize("spec, check_id, check", check_params(specs, dtypes))
