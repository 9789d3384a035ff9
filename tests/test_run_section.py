"""Every report's "Run" section: one line per manifest entry and per flag, the parts as a table (not one line of
thousands of characters), in parity.md, summary.md and index.html alike."""
import pandas as pd

from parity.report import html_page
from parity.report.run_section import parts_frame, run_html, run_markdown

MANIFEST = {"numpy": "2.4.6", "seed": 0, "phase_seconds": {"setup": 0.0306335, "parts": 253.361825},
            "flags": {"tf32_execution": False, "TF_ENABLE_ONEDNN_OPTS": "default (on)"},
            "processes": [{"part": f"checks float64 spec_{i}", "section": "checks", "dtype": "float64", "pid": 100 + i,
                           "tf32_execution": False, "gpus": [], "seconds": 1.25 * i, "cpu_seconds": 0.5 * i,
                           "environment": {"numpy": "2.4.6"}} for i in range(40)]}


def test_each_entry_and_flag_is_one_short_line_and_the_parts_a_table():
    lines = run_markdown(MANIFEST)
    assert "- numpy: 2.4.6" in lines and "- seed: 0" in lines
    assert "- flag tf32_execution: False" in lines and "- flag TF_ENABLE_ONEDNN_OPTS: default (on)" in lines
    assert "- phase_seconds parts: 253.4" in lines
    assert "| part | pid | seconds | cpu_seconds |" in lines and "| checks float64 spec_3 | 103 | 3.75 | 1.5 |" in lines
    assert max(map(len, lines)) < 120


def test_the_parts_table_is_the_manifests_parts_in_order():
    parts = parts_frame(MANIFEST)
    expected = pd.DataFrame([{k: p[k] for k in ("part", "pid", "seconds", "cpu_seconds")}
                             for p in MANIFEST["processes"]])
    pd.testing.assert_frame_equal(parts.reset_index(drop=True), expected, check_dtype=False)


def test_the_html_run_section_lists_the_entries_and_tabulates_the_parts():
    body = run_html(MANIFEST)
    assert "<li>flag tf32_execution: False</li>" in body and body.count("<tr>") == 41  # header + 40 parts
    assert "'environment'" not in body and "processes" not in body


def test_a_run_without_parts_has_no_table():
    assert "<table" not in run_html({"seed": 0}) and run_markdown({"seed": 0}) == ["- seed: 0"]


def test_the_banner_says_a_run_has_no_studies_rather_than_0_of_0():
    rows = [{"experiment": "two_layer_net", "run": "sgd", "passed": True, "margin": 0.1, "epochs": 2}]  # a training run
    assert "Studies: none in this run" in html_page.banner(rows, None)
