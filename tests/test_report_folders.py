"""Where `parity report` writes: only the full TensorFlow-only run writes at the top of --out; every filtered
run and every run on another backend gets its own folder, so no run replaces another's output."""
import pytest

from parity import cli
from parity.checks.backends import BACKENDS
from parity.report.run_output import MAX_NAME, filtered_name
from parity.sweep.tasks import DTYPES

FILTERS = {
    "spec": ["--spec", "mlp_784_50_10"],
    "section": ["--section", "checks"],
    "experiment": ["--experiment", "two_layer_net"],
    "dtype": ["--dtype", "float64"],
    "full": [],
}


def _layout(*argv):
    args = cli._parser().parse_args(["report", *argv])
    sections, dtypes, *_ = cli._plan(args)
    return cli._layout(args, sections, dtypes)


def _folders(*argv):
    return set(_layout(*argv))


@pytest.mark.parametrize("backend", ["jax", "torch", "all"])
@pytest.mark.parametrize("run", FILTERS)
def test_a_run_with_another_backend_never_shares_a_folder_with_the_tensorflow_only_run(run, backend):
    assert _folders(*FILTERS[run]).isdisjoint(_folders(*FILTERS[run], "--backend", backend))


@pytest.mark.parametrize("run", FILTERS)
def test_each_backend_choice_gets_its_own_folder_named_after_the_backends(run):
    layouts = {b: _layout(*FILTERS[run], "--backend", b) for b in ("jax", "torch", "all")}
    assert len({layout for layout in layouts.values()}) == 3
    assert all(str(layouts[b][0]).endswith("-with-jax+torch" if b == "all" else f"-with-{b}") for b in layouts)


def test_only_the_full_tensorflow_only_run_writes_parity_md_at_the_top():
    assert _layout() == _layout("--backend", "tensorflow") == (cli.Path("."), cli.Path("digits"))
    assert all(_layout(*argv)[0] != cli.Path(".") for argv in FILTERS.values() if argv)


def test_a_full_run_on_one_dtype_keeps_its_own_folder_as_documented():
    assert _layout("--dtype", "float32") == (cli.Path("digits-only-float32"),) * 2


def test_a_long_name_keeps_its_backends_and_distinct_filters_apart():
    specs = [f"spec_number_{i}" for i in range(12)]
    a, b = (filtered_name((), s, [], DTYPES, cli.SECTIONS, DTYPES, BACKENDS[1:]) for s in (specs, specs[1:]))
    assert a != b and len(a) <= MAX_NAME and len(b) <= MAX_NAME
    assert a.startswith("only-spec_number_0+") and a.endswith("-with-jax+torch")


def test_a_run_with_its_own_epoch_count_or_seed_keeps_the_default_runs_pages():
    assert _layout("--epochs", "2")[1] == cli.Path("digits-epochs2")
    assert _layout("--seed", "3", "--epochs", "2")[1] == cli.Path("digits-seed3-epochs2")
    assert _layout("--experiment", "two_layer_net", "--epochs", "2")[1].name.startswith("digits-epochs2-only-")
