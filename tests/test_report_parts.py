"""``parity report``'s parts: run in any order, they assemble into the rows one process computes section by section."""
import random

import pytest

from parity.checks import yield_checks
from parity.checks.optimizer_settings import OPTIMIZER_SETTINGS
from parity.sweep import report_parts
from parity.specs import SPECS

DTYPES = ("float32", "float64")


def _fake_rows(specs, dtypes, progress=False):  # run_parity's order: spec by spec, then dtype, then check
    return [{"spec": case.spec.id, "check": case.id} for spec in specs for case in yield_checks(spec, dtypes)]


def _fake_optimizer_rows(specs, dtypes, progress=False):  # optimizer_rows' order: model, setting, dtype
    return [(s.id, setting, d) for s in specs for setting in OPTIMIZER_SETTINGS for d in dtypes]


@pytest.fixture
def fake_work(monkeypatch):
    monkeypatch.setattr(report_parts, "run_parity", _fake_rows)
    monkeypatch.setattr(report_parts, "optimizer_rows", _fake_optimizer_rows)
    monkeypatch.setattr(report_parts, "variant_rows", lambda dtypes: [("variant", d) for d in dtypes])
    monkeypatch.setattr(report_parts, "manifest", lambda seed: {"flags": {"tf32_execution": False, "gpus": []}})


def test_parts_in_any_order_assemble_into_the_one_process_order(fake_work):
    specs = list(SPECS.values())[:45]
    optimizer_specs = [SPECS["net_2_3_1_sigmoid_mse"], SPECS["lenet_digits_8"]]
    parts = report_parts.plan({"checks", "optimizers", "variants"}, DTYPES, specs, optimizer_specs, [], ())
    order = report_parts.run_order(parts)
    random.Random(0).shuffle(order)  # workers finish in any order; results are keyed by part
    done = {i: parts[i][2](*parts[i][3]) for i in order}
    rows, opt, var, experiments, infos = report_parts.assemble(parts, [done[i] for i in range(len(parts))], DTYPES)
    assert rows == _fake_rows(specs, DTYPES)
    assert opt == _fake_optimizer_rows(optimizer_specs, DTYPES)
    assert var == [("variant", "float32"), ("variant", "float64")] and experiments == []
    assert {(i["section"], i["dtype"]) for i in infos} == {("checks", "float32"), ("checks", "float64"),
                                                           ("optimizers", "float32"), ("optimizers", "float64"),
                                                           ("variants", None)}
    assert all(i["seconds"] >= 0 and i["cpu_seconds"] >= 0 for i in infos)


def test_longest_parts_run_first():
    parts = report_parts.plan({"checks", "experiments"}, DTYPES, list(SPECS.values())[:3], [],
                              ["optimizer_paths", "logic_gates"], (None, 0, None, False))
    costs = [parts[i][1] for i in report_parts.run_order(parts)]
    assert costs == sorted(costs, reverse=True)
    assert parts[report_parts.run_order(parts)[0]][3][0] == "logic_gates"


def test_only_a_report_of_several_kinds_of_work_starts_workers():
    specs = list(SPECS.values())[:3]
    plan = report_parts.plan
    assert not report_parts.worth_workers(plan({"checks", "optimizers", "variants"}, DTYPES, specs, specs, [], ()))
    assert not report_parts.worth_workers(plan({"experiments"}, ("float64",), [], [], ["cnn", "resnet"], ()))
    assert report_parts.worth_workers(plan({"experiments"}, DTYPES, [], [], ["cnn"], ()))
    assert report_parts.worth_workers(plan({"checks", "experiments"}, ("float64",), specs, [], ["cnn"], ()))


def test_the_benchmark_table_sums_the_parts_per_section_and_dtype():
    from benchmarks.walltimes import phase_rows, render_walltimes

    part = {"pid": 1, "tf32_execution": False, "gpus": []}
    manifest = {"phase_seconds": {"setup": 1.0, "parts": 50.0},
                "processes": [{**part, "section": "checks", "dtype": "float64", "seconds": 4.0, "cpu_seconds": 3.0},
                              {**part, "section": "checks", "dtype": "float64", "seconds": 6.0, "cpu_seconds": 5.0},
                              {**part, "section": "variants", "dtype": None, "seconds": 2.0, "cpu_seconds": 1.5}]}
    rows = phase_rows(manifest, 0)
    assert [(r["what"].strip(), r["wall_s"], r["cpu_s"]) for r in rows] == [
        ("phase setup", 1.0, None), ("phase parts", 50.0, None), ("checks float64 (2 parts)", 10.0, 8.0),
        ("variants (1 part)", 2.0, 1.5)]
    assert "checks float64 (2 parts) | 10.0 | 8.0 | 0 |" in render_walltimes(rows)
