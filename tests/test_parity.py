"""Every registered spec x every applicable check: NumPy twin vs Keras twin."""
from parity import assert_all_passed
from parity.checks.testing import parametrize_with_checks
from parity.specs import SPECS


@parametrize_with_checks(SPECS.values())
def test_spec(case):
    assert_all_passed(case.run(), context=f"{case.spec.id} {case.id}")
