"""benchmarks/report_identity.py: the tool behind "the report's numbers are bit-identical" skips timings only."""
from benchmarks.report_identity import differences


def test_timings_are_skipped_and_everything_else_compared():
    before = {"keras_sec_per_epoch": 1.0, "cpu_seconds": 2.0, "divergence": {"bisection": [3, 5]}, "loss": 0.5}
    after = {"keras_sec_per_epoch": 9.0, "cpu_seconds": 7.0, "divergence": {"bisection": [4, 9]}, "loss": 0.5}
    assert differences(before, after) == ["$.divergence.bisection[0]: 3 != 4", "$.divergence.bisection[1]: 5 != 9"]


def test_nan_equals_nan_and_a_float_must_be_equal_not_close():
    assert differences({"x": float("nan")}, {"x": float("nan")}) == []
    assert differences({"x": 0.1 + 0.2}, {"x": 0.3}) == ["$.x: 0.30000000000000004 != 0.3"]
