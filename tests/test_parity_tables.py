"""parity.md's tables are DataFrames: rendered as markdown and CSV, rebuilt by ``parity.report.load``, failures first;
a variants-only report states what it ran."""
import itertools
import json
import re

import pandas as pd
import pytest

from parity import cli
from parity.report import load, parity_tables
from parity.report.parity_report import counts, summary_line, write_parity_report
from parity.sweep import report_parts


def _check(spec, passed, expected=False, max_rel=1e-14, rtol=1e-12):
    return {"spec": spec, "check": "check_forward(dtype=float64)", "passed": passed, "expected_failure": expected,
            "max_abs": max_rel, "max_rel": max_rel, "rtol": rtol, "margin": max_rel / rtol, "worst_tensor": "out",
            "error": None if passed or expected else f"{spec}: forward differs"}


ROWS = [_check("a_pass", True), _check("b_fail", False, max_rel=1e-3), _check("c_expected", False, expected=True),
        _check("d_pass", True, rtol=1e-6), _check("e_fail", False, max_rel=2e-3)]
VARIANTS = [{"name": n, "dtype": d, "max_abs": 0.5, "max_rel": 0.25, "reason": "why", "keras_setting": "Dense(2)"}
            for n in ("V1", "V2") for d in ("float32", "float64")]


def _table_rows(md, header):
    """The body rows of the markdown table whose header line starts with ``header``, as lists of cells."""
    lines = md.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header)) + 2
    body = itertools.takewhile(lambda line: line.startswith("|"), lines[start:])
    return [[c.strip() for c in line.strip("|").split("|")] for line in body]


@pytest.fixture
def written(tmp_path):
    write_parity_report(tmp_path, ROWS, {"seed": 0}, extra_json={"variants": VARIANTS}, var_rows=VARIANTS)
    return tmp_path


def test_checks_frame_lists_failures_first_then_expected_failures_in_run_order():
    df = parity_tables.checks_frame(ROWS)
    assert list(df["spec"]) == ["b_fail", "e_fail", "c_expected", "a_pass", "d_pass"]
    assert list(df["result"]) == ["FAIL", "FAIL", "expected failure", "pass", "pass"]


def test_load_returns_the_frames_the_markdown_and_csv_were_rendered_from(written):
    frames = load(written)
    assert set(frames) == {"checks", "variants", "tolerances"}
    pd.testing.assert_frame_equal(frames["checks"], parity_tables.checks_frame(ROWS))
    md = (written / "parity.md").read_text()
    shown = _table_rows(md, "| spec | check |")
    assert [r[0] for r in shown] == list(frames["checks"]["spec"])
    assert [float(r[4]) for r in shown] == pytest.approx(list(frames["checks"]["rtol"]), rel=1e-2)  # rtol applied
    assert [r[-1] for r in shown] == ["**FAIL**", "**FAIL**", "expected failure", "pass", "pass"]
    csv = pd.read_csv(written / "parity-checks.csv")
    assert list(csv.columns) == list(frames["checks"].columns) and list(csv["spec"]) == list(frames["checks"]["spec"])
    assert len(_table_rows(md, "| variant | dtype |")) == len(frames["variants"]) == len(VARIANTS)


def test_failures_section_comes_first_and_in_the_frames_order(written):
    md = (written / "parity.md").read_text()
    failures = md[md.index("## Failures"):md.index("## Run")]
    assert re.findall(r"- (\w+) /", failures) == ["b_fail", "e_fail", "c_expected"]
    assert md.index("## Failures") < md.index("## Checks")


def test_summary_counts_checks_and_variants_apart(written):
    c = counts(ROWS, (), VARIANTS)
    assert (c["passed"], c["total"], c["expected_failures"], c["failed"]) == (2, 5, 1, 2)
    assert (c["variant_rows"], c["variants"], c["variant_dtypes"]) == (4, 2, 2)
    assert json.loads((written / "parity.json").read_text())["summary"] == c
    assert summary_line(c).startswith("2 of 5 checks passed") and "4 textbook-variant rows measured" in summary_line(c)


def test_variants_only_report_states_the_variant_rows_not_zero_checks(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(report_parts, "variant_rows", lambda dtypes: [r for r in VARIANTS if r["dtype"] in dtypes])
    assert cli.main(["report", "--section", "variants", "--dtype", "float64", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    md = (tmp_path / "only-variants-float64" / "parity.md").read_text()
    line = "2 textbook-variant rows measured (2 variants x 1 dtype; differences from Keras, not pass/fail)"
    assert f"parity: {line}" in out and f"**{line}.**" in md
    assert "0 of 0" not in out + md and "## Checks" not in md
