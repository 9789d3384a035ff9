"""The tables of ``parity.md`` as pandas DataFrames: built once from the result rows, rendered as markdown and CSV,
and rebuilt by ``parity.report.load`` from ``parity.json`` with the same functions (so Python sees what the file shows).

Each frame lists failures first (then expected failures, then passes, each in run order). ``rtol`` is the
tolerance applied to the row's worst comparison (a three-way check's finite-difference tolerance where that
comparison is the worst), so ``max_rel <= rtol`` on every passing row.
"""
import pandas as pd

from parity.report.tables import frame, to_markdown
from parity.tolerances import TOLERANCES

RESULT_ORDER = {"FAIL": 0, "expected failure": 1, "pass": 2}

# Columns of each frame, with the header parity.md shows for the ones it renders (None: in the frame and CSV only).
CHECK_COLUMNS = {"spec": "spec", "check": "check", "max_abs": "max abs", "max_rel": "max rel", "rtol": "rtol applied",
                 "margin": "error / rtol", "worst_tensor": "worst tensor", "result": "result", "passed": None,
                 "expected_failure": None, "error": None}
OPTIMIZER_COLUMNS = {"model": "model", "setting": "setting", "kwargs": "kwargs", "dtype": "dtype",
                     "max_rel_step_1": "max rel @1", "max_rel_step_10": "@10", "max_rel_step_20": "@20",
                     "max_rel_slots": "slots (max rel)", "rtol": "rtol", "result": "result", "optimizer": None,
                     "passed": None}
VARIANT_COLUMNS = {"name": "variant", "dtype": "dtype", "max_abs": "max abs", "max_rel": "max rel",
                   "keras_setting": "Keras setting compared", "reason": "why they differ"}
TOLERANCE_COLUMNS = {"dtype": "dtype", "kind": "kind", "rtol": "rtol", "why": "why"}


def _result(row):
    if row.get("passed", True):
        return "pass"
    return "expected failure" if row.get("expected_failure") else "FAIL"


def _failures_first(rows, columns):
    rows = [{**r, "result": _result(r)} for r in rows]
    rows.sort(key=lambda r: RESULT_ORDER[r["result"]])  # stable: run order within each result
    return frame(rows, columns)[list(columns)]


def checks_frame(rows):
    return _failures_first(rows, CHECK_COLUMNS)


def optimizers_frame(rows):
    return _failures_first(rows, OPTIMIZER_COLUMNS)


def variants_frame(rows):
    return frame(rows, VARIANT_COLUMNS)[list(VARIANT_COLUMNS)]


def tolerances_frame(tolerances):
    """``tolerances``: parity.json's {"dtype/kind": {"rtol", "why"}} (see ``tolerances_json``)."""
    return frame([{"dtype": key.split("/")[0], "kind": key.split("/")[1], **t} for key, t in tolerances.items()],
                 TOLERANCE_COLUMNS)[list(TOLERANCE_COLUMNS)]


def tolerances_json():
    return {f"{d}/{k}": {"rtol": t.rtol, "why": t.why} for (d, k), t in TOLERANCES.items()}


def parity_frames(data):
    """The non-empty tables of a ``parity.json`` payload: 'checks', 'optimizers', 'variants', 'tolerances'."""
    built = {"checks": checks_frame(data.get("rows") or []), "optimizers": optimizers_frame(data.get("optimizers") or []),
             "variants": variants_frame(data.get("variants") or []),
             "tolerances": tolerances_frame(data.get("tolerances") or {})}
    return {name: df for name, df in built.items() if len(df)}


def _sci(digits):
    return lambda v: "-" if v is None or pd.isna(v) else f"{v:.{digits}e}"


def _code(v):
    return f"`{v}`"


FORMATS = {
    "checks": {"max_abs": _sci(2), "max_rel": _sci(2), "rtol": _sci(2), "margin": _sci(2),
               "worst_tensor": lambda v: v or "-", "result": lambda v: "**FAIL**" if v == "FAIL" else v},
    "optimizers": {**{f"max_rel_step_{s}": _sci(1) for s in (1, 10, 20)}, "max_rel_slots": _sci(1), "rtol": _sci(0),
                   "kwargs": _code, "result": lambda v: "**FAIL**" if v == "FAIL" else v},
    "variants": {"max_abs": _sci(2), "max_rel": _sci(2), "keras_setting": _code},
    "tolerances": {"rtol": _sci(0)},
}
HEADERS = {"checks": CHECK_COLUMNS, "optimizers": OPTIMIZER_COLUMNS, "variants": VARIANT_COLUMNS,
           "tolerances": TOLERANCE_COLUMNS}


def markdown(name, df):
    """Markdown lines of frame ``name`` ('checks', ...): its shown columns, each cell through the column's format."""
    shown = {c: h for c, h in HEADERS[name].items() if h is not None}
    return to_markdown(df[list(shown)].rename(columns=shown), str, formats={shown[c]: f for c, f in FORMATS[name].items()})


def write_csvs(folder, frames):
    """``parity-<name>.csv`` for each frame: every column, the rows in the frame's (failures-first) order."""
    for name, df in frames.items():
        df.to_csv(folder / f"parity-{name}.csv", index=False, lineterminator="\n")
