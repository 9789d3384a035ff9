"""Every registered spec x every applicable check: NumPy twin vs Keras twin."""
from parity import assert_all_passed
from parity.checks import yield_checks
from parity.checks.testing import parametrize_with_checks
from parity.specs import SPECS


@parametrize_with_checks(SPECS.values())
def test_spec(case):
    assert_all_passed(case.run(), context=f"{case.spec.id} {case.id}")


def test_check_cases_name_themselves_and_tag_their_comparisons():
    case = next(c for c in yield_checks(SPECS["xor_2_2_1"], ("float64",)) if c.check == "check_forward")
    assert case.id == "check_forward(dtype=float64, training=False)" and case.expected_failure is None
    assert {(c.spec, c.check, c.dtype, c.kind) for c in case.run()} == {("xor_2_2_1", "check_forward", "float64", "output")}
