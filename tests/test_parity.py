"""Every registered spec x every applicable check: NumPy twin vs Keras twin."""
from parity import assert_all_passed
from parity.specs import SPECS
from parity.testing import parametrize_with_checks


@parametrize_with_checks(SPECS.values())
def test_spec(spec, check_id, check):
    assert_all_passed(check(), context=f"{spec.id} {check_id}")
