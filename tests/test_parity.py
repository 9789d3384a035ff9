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


def test_graph_specs_compare_every_layer_call():
    """A shared layer's second call is its own node: its output gradient is compared, its weights once (summed)."""
    case = next(c for c in yield_checks(SPECS["shared_layer"], ("float64",)) if c.check == "check_backward")
    comparisons = case.run()
    names = [c.name for c in comparisons]
    assert {"shared@1:output_grad", "shared:output_grad", "pre:output_grad", "input:input_grad"} <= set(names)
    assert names.count("shared/kernel") == 1 and all(c.passed for c in comparisons)
