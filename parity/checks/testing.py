"""pytest integration: turn the spec registry into one test case per spec x check."""
import pytest

from parity.checks import yield_checks


def check_params(specs, dtypes=("float32", "float64")):
    """pytest.param(CheckCase) entries with ids "<spec id>-<check>(kwargs)"; known divergences are strict xfails.

    A spec's cases form one pytest-xdist group: with ``--dist loadgroup`` (pyproject's
    addopts) one worker runs them all and builds the spec's twins once
    (``parity.twins.shared_twins``) instead of once per worker.
    """
    params = []
    for spec in specs:
        for case in yield_checks(spec, dtypes):
            marks = [pytest.mark.xdist_group(spec.id)]
            if case.expected_failure is not None:
                marks.append(pytest.mark.xfail(strict=True, reason=case.expected_failure))
            params.append(pytest.param(case, marks=marks, id=f"{spec.id}-{case.id}"))
    return params


def parametrize_with_checks(specs, dtypes=("float32", "float64")):
    """Decorator: ``@parametrize_with_checks(SPECS.values())`` over one ``case`` (a ``CheckCase``)."""
    return pytest.mark.parametrize("case", check_params(specs, dtypes))
