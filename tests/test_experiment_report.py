"""The experiment report: every table and image the HTML references is there; errors leave nothing behind."""
import base64
import csv
import html
import json
from html.parser import HTMLParser

import numpy as np
import pytest

from parity import cli, tolerance
from parity.report import experiment_report
from tests.report_parts_run import OPTIMIZER_PATHS_GROUP, OPTIMIZER_PATHS_RUN, precomputed


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.tables, self.rows, self.parts, self._in_body = [], [], 0, 0, False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        elif tag == "table":
            self.tables.append(attrs.get("id"))
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            if self.tables[-1] == "parts":  # the Run section's table of worker parts
                self.parts += 1
            else:
                self.rows += 1

    def handle_endtag(self, tag):
        if tag == "tbody":
            self._in_body = False


# Tests of the module fixture below share one xdist group: it is computed once, on one worker.
EXPERIMENT_REPORT = pytest.mark.xdist_group("experiment_report")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    code = cli.main(["report", "--section", "experiments", "--experiment", "two_layer_net", "--experiment",
                     "optimizer_paths", "--epochs", "2", "--dtype", "float64", "--out", str(out)])
    return code, out / "digits-epochs2-only-two_layer_net+optimizer_paths-float64"


@EXPERIMENT_REPORT
def test_report_exits_zero_and_writes_every_file(report):
    code, run = report
    assert code == 0
    assert {p.name for p in run.iterdir()} == {"index.html", "summary.md", "results.csv", "results.json", "manifest.json"}


@EXPERIMENT_REPORT
def test_html_is_self_contained_and_every_referenced_image_and_table_is_there(report):
    _, run = report
    page = _Page()
    page.feed((run / "index.html").read_text())
    rows = json.loads((run / "results.json").read_text())["rows"]
    assert page.tables == ["summary", None, "parts"] and page.rows == len(rows) == 2 + 6  # accuracy table, study
    assert page.parts == len(json.loads((run / "manifest.json").read_text())["processes"]) > 0
    assert ">none<" not in (run / "index.html").read_text()
    assert len(page.images) == 3  # two training figures and the optimizer paths
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"


@EXPERIMENT_REPORT
def test_summary_rows_csv_and_manifest(report):
    _, run = report
    rows = list(csv.DictReader((run / "results.csv").open()))
    assert rows[0]["experiment"] == "two_layer_net" and rows[0]["passed"] == "True"
    assert float(rows[0]["max_rel_loss_diff"]) <= tolerance("float64", "training").rtol and rows[0]["first_step_over_tol"] == ""
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["dataset"] == "digits" and len(manifest["dataset_checksum"]) == 16
    assert {"numpy", "tensorflow", "keras", "seed", "flags"} <= set(manifest)
    assert "| two_layer_net | two_layer_sgd |" in (run / "summary.md").read_text()


@EXPERIMENT_REPORT
def test_two_layer_net_note_states_the_updates_this_run_made(report):
    """--epochs 2 at the preset's batch 100 on this run's training set, not the presets' epochs or MNIST's size."""
    _, run = report
    train_size = json.loads((run / "manifest.json").read_text())["train_size"]
    did = f"2 epochs of batch 100 ({2 * -(-train_size // 100):,} updates)"  # a smaller last batch is one more update
    page = html.unescape((run / "index.html").read_text())
    assert f"On {train_size:,} digits training images, SGD(0.1) ran {did} and Adam(0.01) {did}." in page


@pytest.mark.parametrize("argv, message", [
    (["--experiment", "nope"], "Unknown experiment(s) nope"),
    (["--dataset", "mnist", "--data-path", "/no/such/mnist.npz"], "no such file or folder"),
    (["--dataset", "mnist"], "needs --data-path"),
    (["--dataset", "cifar10"], "Unknown dataset"),
], ids=["unknown_experiment", "missing_data_file", "mnist_without_data_path", "unknown_dataset"])
def test_bad_arguments_give_one_error_line_and_no_report(tmp_path, capsys, argv, message):
    assert cli.main(["report", "--out", str(tmp_path)] + argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert list(tmp_path.iterdir()) == []


def test_malformed_data_file_gives_one_error_line(tmp_path, capsys):
    np.savez(tmp_path / "mnist.npz", x_train=np.zeros((3, 28, 28)), y_train=np.zeros(3), x_test=np.zeros((1, 28, 28)),
             y_test=np.zeros(1))
    assert cli.main(["report", "--dataset", "mnist", "--data-path", str(tmp_path / "mnist.npz"),
                     "--out", str(tmp_path / "out")]) == 2
    assert "x_train must be uint8" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


PATHS_RUN = "digits-only-optimizer_paths-float64"  # the filtered run's own folder


@OPTIMIZER_PATHS_GROUP
def test_failure_while_writing_leaves_the_previous_report_intact(tmp_path, monkeypatch, report_parts):
    monkeypatch.setattr(cli, "_compute", precomputed(report_parts))  # the parts of this run, computed once
    run = tmp_path / PATHS_RUN
    run.mkdir()
    (run / "index.html").write_text("previous")

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(experiment_report, "page", broken)
    with pytest.raises(RuntimeError):
        cli.main(["report", "--section", "experiments", "--experiment", "optimizer_paths", "--dtype", "float64",
                  "--out", str(tmp_path)])
    assert (run / "index.html").read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == [PATHS_RUN]


@OPTIMIZER_PATHS_GROUP
def test_a_rerun_replaces_its_own_files_and_keeps_the_users(tmp_path, monkeypatch, report_parts):
    monkeypatch.setattr(cli, "_compute", precomputed(report_parts))  # the parts of this run, computed once
    run = tmp_path / PATHS_RUN
    run.mkdir()
    (run / "index.html").write_text("previous")
    (run / "my-notes.txt").write_text("mine")
    (tmp_path / "digits").mkdir()  # a full report's folder: a filtered run never touches it
    (tmp_path / "digits" / "index.html").write_text("full report")
    assert cli.main(OPTIMIZER_PATHS_RUN + ["--out", str(tmp_path)]) == 0
    assert (run / "my-notes.txt").read_text() == "mine"
    assert (run / "index.html").read_text().startswith("<!DOCTYPE html>")
    assert (tmp_path / "digits" / "index.html").read_text() == "full report"


def test_experiment_tables_render_as_captioned_html_and_markdown_tables():
    tables = [("Rates (float64)", [{"epoch": 1, "numpy_lr": 0.5}, {"epoch": 2, "numpy_lr": 0.2, "keras_lr": 0.2}])]
    html_text = experiment_report.page([], [], [], {}, tables)
    page = _Page()
    page.feed(html_text)
    assert page.tables == [None] and html_text.count("<td>") == 2 * 3  # no runs: only this table, 2 rows x 3 columns
    assert "<h3>Rates (float64)</h3>" in html_text and "<th>keras_lr</th>" in html_text
    md = experiment_report.markdown([], {}, "note", tables)
    assert "### Rates (float64)" in md and "| 2 | 0.2000 | 0.2000 |" in md and "| 1 | 0.5000 | n/a |" in md


@EXPERIMENT_REPORT
def test_every_result_set_loads_as_a_dataframe_matching_the_csv(report):
    import pandas as pd

    from parity.report import load

    _, run = report
    frames = load(run.parent)
    summary = frames[f"{run.name}/experiments"]
    assert list(summary["run"]) == [r["run"] for r in json.loads((run / "results.json").read_text())["rows"]]
    from_csv = pd.read_csv(run / "results.csv")
    assert list(from_csv["run"]) == list(summary["run"])
    assert np.allclose(from_csv["max_rel_loss_diff"], summary["max_rel_loss_diff"], rtol=0, atol=0)


def test_the_divergence_line_tells_the_first_node_off_from_the_tensor_over_tolerance():
    """A replayed step's first node off (block2b_conv) and the tensor over tolerance (an earlier layer's kernel,
    which the backward pass reaches later) are two findings, labelled as such rather than as one."""
    from parity.report.experiment_report import _divergence_markdown

    row = {"run": "resnet", "dtype": "float32", "first_step_over_tol": 41, "divergence_step": 38,
           "divergence_phase": "gradient", "divergence_layer": "block2b_conv", "divergence_tensor": "stem_conv/kernel",
           "divergence_max_rel": 2e-5, "divergence_replayed_steps": 4, "divergence_cpu_seconds": 1.5}
    text = "\n".join(_divergence_markdown([row]))
    assert "layer `block2b_conv` (the first node off when that step is replayed)" in text
    assert "tensor `stem_conv/kernel` over tolerance, max rel 2.00e-05" in text
