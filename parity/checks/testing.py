"""pytest integration: turn the spec registry into one test case per spec x check."""
import pytest

from parity.checks import yield_checks


def check_params(specs, dtypes=("float32", "float64")):
    """pytest.param(CheckCase) entries with ids "<spec id>-<check>(kwargs)"; known divergences are strict xfails."""
    params = []
    for spec in specs:
        for case in yield_checks(spec, dtypes):
            marks = [pytest.mark.xfail(strict=True, reason=case.expected_failure)] if case.expected_failure is not None else []
            params.append(pytest.param(case, marks=marks, id=f"{spec.id}-{case.id}"))
    return params


def parametrize_with_checks(specs, dtypes=("float32", "float64")):
    """Decorator: ``@parametrize_with_checks(SPECS.values())`` over one ``case`` (a ``CheckCase``)."""
    return pytest.mark.parametrize("case", check_params(specs, dtypes))
