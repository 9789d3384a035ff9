"""Report tables for optimizers (max parameter error after 1, 10, 20 steps) and textbook variants."""
import sys

from tqdm.auto import tqdm

from parity.checks.optimizer_checks import check_optimizer_trajectory, max_param_error_at
from parity.checks.optimizer_settings import OPTIMIZER_SETTINGS
from parity.variants import measure_all

STEPS = (1, 10, 20)


def optimizer_rows(specs, dtypes, progress=False):
    rows = []
    cases = [(spec, setting, dtype) for spec in specs for setting in OPTIMIZER_SETTINGS.values() for dtype in dtypes]
    for spec, setting, dtype in tqdm(cases, desc="optimizer table", disable=not progress, file=sys.stderr):
        comparisons = check_optimizer_trajectory(setting, spec, dtype, steps=max(STEPS))
        rows.append({"model": spec.id, "optimizer": setting.class_name, "setting": setting.id,
                     "kwargs": repr(setting.kwargs), "dtype": dtype,
                     **{f"max_rel_step_{s}": max_param_error_at(comparisons, s) for s in STEPS},
                     "max_rel_slots": max((c.max_rel for c in comparisons if c.kind == "slot"), default=0.0),
                     "rtol": comparisons[0].rtol, "passed": all(c.passed for c in comparisons)})
    return rows


def variant_rows(dtypes):
    return [r.to_dict() for r in measure_all(dtypes)]
