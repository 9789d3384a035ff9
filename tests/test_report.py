"""The parity report: files written, summary printed, non-zero exit on failure, nothing partial."""
import json
import re

import pytest

from numpy_models import core
from parity import cli
from parity.checks.optimizer_settings import OPTIMIZER_SETTINGS
from parity.report import experiment_report, html_page, load, optimizer_report
from parity.report.parity_report import counts, summary_line
from parity.sweep import report_parts

NET_CHECKS = "only-checks+variants+net_2_3_1_sigmoid_mse-float64"  # a filtered run's own folder


def test_report_writes_markdown_and_json(tmp_path, capsys):
    code = cli.main(["report", "--out", str(tmp_path), "--spec", "net_2_3_1_sigmoid_mse", "--dtype", "float64",
                     "--section", "checks", "--section", "variants"])
    assert code == 0
    assert [p.name for p in tmp_path.iterdir()] == [NET_CHECKS]
    data = json.loads((tmp_path / NET_CHECKS / "parity.json").read_text())
    assert data["manifest"]["seed"] == 0 and data["manifest"]["keras"]
    assert all(r["passed"] for r in data["rows"]) and len(data["rows"]) == 5
    assert any("three_way" in r["check"] for r in data["rows"])  # Keras and finite-difference tolerances in one row
    assert all(r["max_rel"] <= r["rtol"] for r in data["rows"])  # the tolerance shown is the one applied
    checks = load(tmp_path)[f"{NET_CHECKS}/checks"]  # the frame parity.md's table is rendered from
    assert (checks["max_rel"] <= checks["rtol"]).all() and list(checks["result"]) == ["pass"] * 5
    md = (tmp_path / NET_CHECKS / "parity.md").read_text()
    assert "| net_2_3_1_sigmoid_mse | check_forward(dtype=float64, training=False) |" in md
    assert "5 of 5 checks passed" in capsys.readouterr().out
    assert "## Textbook variants" in md and "TextbookNesterov" in md
    assert {r["name"] for r in data["variants"]} >= {"TextbookMomentum", "TextbookAdam", "TextbookL2", "SharedPReLU"}


def test_report_has_the_optimizer_table(tmp_path, monkeypatch):
    """The table for one setting per optimizer class; test_optimizers checks every setting's trajectory."""
    first_of_each_class = {}
    for setting in OPTIMIZER_SETTINGS.values():
        first_of_each_class.setdefault(setting.class_name, setting)
    monkeypatch.setattr(optimizer_report, "OPTIMIZER_SETTINGS", {s.id: s for s in first_of_each_class.values()})
    assert cli.main(["report", "--out", str(tmp_path), "--dtype", "float64", "--section", "optimizers"]) == 0
    rows = json.loads((tmp_path / "only-optimizers-float64" / "parity.json").read_text())["optimizers"]
    assert {r["optimizer"] for r in rows} == {"SGD", "RMSprop", "Adagrad", "Adadelta", "Adam", "AdamW", "Nadam", "Adamax"}
    assert len(rows) == 2 * len(first_of_each_class)  # both models, one row per setting
    assert all(r["passed"] and r["max_rel_step_20"] <= r["rtol"] for r in rows)
    assert "| max rel @1 | @10 | @20 |" in (tmp_path / "only-optimizers-float64" / "parity.md").read_text()


def test_report_is_deterministic(tmp_path):
    args = ["report", "--spec", "xor_2_2_1", "--dtype", "float64", "--section", "checks", "--out"]
    cli.main(args + [str(tmp_path / "a")])
    cli.main(args + [str(tmp_path / "b")])
    a, b = (json.loads((tmp_path / x / "only-xor_2_2_1-float64" / "parity.json").read_text()) for x in "ab")
    assert a["rows"] == b["rows"] and a["summary"] == b["summary"]
    assert a["manifest"]["run_id"] != b["manifest"]["run_id"]  # what differs is which run wrote them


def test_failing_check_exits_non_zero_and_names_the_row(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(core.Dense, "backward_preactivation",
                        lambda self, dz: dz @ self.params["kernel"].T)  # forgets to set grads
    code = cli.main(["report", "--out", str(tmp_path), "--spec", "net_2_2_2_sigmoid_mse", "--dtype", "float64",
                     "--section", "checks"])
    assert code == 1
    out = capsys.readouterr().out
    assert "FAIL net_2_2_2_sigmoid_mse check_backward(dtype=float64, training=False)" in out
    md = (tmp_path / "only-net_2_2_2_sigmoid_mse-float64" / "parity.md").read_text()
    failures = md.index("## Failures")
    assert "net_2_2_2_sigmoid_mse / check_backward(dtype=float64, training=False): **FAIL**" in md[failures:]
    assert failures < md.index("## Checks")  # failures first


def test_unknown_spec_gives_one_error_line_and_no_report(tmp_path, capsys):
    assert cli.main(["report", "--out", str(tmp_path), "--spec", "nope"]) == 2
    assert "Unknown spec" in capsys.readouterr().err
    assert not (tmp_path / "parity.md").exists()


def test_interrupted_report_leaves_nothing_behind(tmp_path, monkeypatch):
    from parity.report import parity_report as report

    def explode(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(report, "render_markdown", explode)
    assert cli.main(["report", "--out", str(tmp_path), "--spec", "xor_2_2_1", "--dtype", "float64"]) == 130
    assert list(tmp_path.iterdir()) == []


def test_benchmark_script_runs_and_writes_its_table(tmp_path):
    """A smoke test on tiny sizes; the real measurement is `python -m benchmarks.bench`."""
    from benchmarks import bench

    assert bench.main(["--quick", "--reps", "1", "--out", str(tmp_path)]) == 0
    text = (tmp_path / "benchmarks.md").read_text()
    for workload in ("cnn_train_step", "cnn_predict_10k", "mlp_train_step"):
        assert text.count(f"| {workload} |") == 2  # default and single-thread BLAS
    assert "| dense | 24704 |" in text  # gradcheck timing of LeNet's largest layer
    assert "| whole model | 27962 |" in text  # and of the whole network
    for layer in ("conv1", "pool1", "conv2", "dense", "output"):  # the roofline: forward and backward per layer
        assert f"| {layer} | forward |" in text and f"| {layer} | backward |" in text


def _numbers(text):
    return re.findall(r"\d+(?:\.\d+)?(?:e[+-]?\d+)?", text)


def test_html_banner_states_the_counts_of_parity_md_and_summary_md(tmp_path, monkeypatch):
    """A spec with an expected failure and an experiment: the banner's checks line, parity.md's and summary.md's
    state the same passed / total, expected failures and worst error / tolerance."""
    monkeypatch.setattr(report_parts, "worth_workers", lambda parts: False)  # computed here: no Dask workers
    assert cli.main(["report", "--spec", "upsampling2d_bilinear_2", "--experiment", "optimizer_paths", "--dtype",
                     "float64", "--out", str(tmp_path)]) == 0
    folder = tmp_path / "digits-only-upsampling2d_bilinear_2+optimizer_paths-float64"
    summary = json.loads((folder / "parity.json").read_text())["summary"]
    assert summary["expected_failures"] == 1 and summary["worst_margin"] is not None
    stated = re.search(r"^\*\*(.*)\.\*\*$", (folder / "parity.md").read_text(), re.M).group(1)
    in_summary_md = re.search(r"^Parity checks: (.*) \(see parity.md\)\.$", (folder / "summary.md").read_text(),
                              re.M).group(1)
    in_banner = re.search(r"<div id='verdict'.*?<li>Parity checks: (.*?)</li>", (folder / "index.html").read_text())
    assert _numbers(in_banner.group(1)) == _numbers(in_summary_md) == _numbers(stated)
    assert (folder / "index.html").read_text().count(stated) == 1  # in the banner, not repeated under it
    assert f"{summary['passed']} of {summary['total']}" in stated and f"{summary['worst_margin']:.2g}" in stated


@pytest.mark.parametrize("ran", [True, False], ids=["checks_ran", "checks_not_run"])
def test_html_page_states_the_parity_checks_line_once_and_links_under_it(tmp_path, ran):
    """summary.md states the checks' line with the path to parity.md; index.html states it once, in its banner."""
    c = counts([{"passed": True, "margin": 0.5}, {"passed": False, "margin": 2.0}]) if ran else None
    note = f"Parity checks: {summary_line(c)} (see ../parity.md)." if ran else "Parity checks were not run in this report."
    experiment_report.write_run(tmp_path, [], {}, note, c, [("summary.md", "summary.md"), ("parity.md", "../parity.md")])
    text = (tmp_path / "index.html").read_text()
    line = summary_line(c) if ran else "not run in this report"
    assert text.count(line) == 1 and line in re.search(r"<div id='verdict'.*?</div>", text).group(0)
    assert "<a href='summary.md'>summary.md</a> · <a href='../parity.md'>parity.md</a>" in text
    assert note in (tmp_path / "summary.md").read_text()  # the markdown has no banner: it keeps the line


def test_html_banner_with_a_failed_check_says_they_disagree():
    rows = [{"passed": True, "margin": 0.5}, {"passed": False, "margin": 3.0},
            {"passed": False, "margin": 9.0, "expected_failure": True}]
    banner = html_page.banner([], counts(rows))
    assert "DISAGREE" in banner and "<b>1 failed</b>" in banner and "1 expected failures" in banner
    assert "worst error / tolerance 3" in banner  # the expected failure's 9 is not the worst


@pytest.mark.parametrize("make, error, needle", [
    (lambda p: p / "missing", FileNotFoundError, "does not exist"),
    (lambda p: p / "notes.txt", ValueError, "is a file"),
    (lambda p: p / "empty", ValueError, "holds no parity.json or results.json"),
    (lambda p: p / "other", ValueError, "holds no parity.json or results.json"),
], ids=["missing_path", "a_file", "empty_folder", "folder_of_other_files"])
def test_load_refuses_what_is_not_a_report_naming_the_path(tmp_path, make, error, needle):
    (tmp_path / "notes.txt").write_text("a user's notes")
    (tmp_path / "empty").mkdir()
    (tmp_path / "other" / "sub").mkdir(parents=True)
    (tmp_path / "other" / "sub" / "data.json").write_text("{}")
    path = make(tmp_path)
    with pytest.raises(error, match=needle) as info:
        load(path)
    assert f"Received: folder={path}" in str(info.value) and "expected a folder written by `parity report`" in str(info.value)
