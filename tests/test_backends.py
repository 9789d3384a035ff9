"""The twins on JAX and PyTorch: a representative subset of specs x checks, one spawned process per backend.

Each backend's tests skip, with the install command as the reason, when its
package is absent. Float64 rows may fail only for a measured, explained reason
(``parity.checks.backends.explain`` with the row's variant re-run); float32 rows
must pass at the table's tolerance. The full matrix is ``parity report --backend all``.
"""
import pytest

from parity.checks.backends import BACKENDS, explain, rerun_with_variants, run_backends
from parity.cli import _parser
from parity.report.backend_html import backend_page
from parity.report.backend_report import backend_rows

# Dense + loss, dropout (mask replay), conv + BatchNorm + pooling (moving statistics), a graph with a shared layer.
# Kept small: JAX runs eagerly.
SPEC_IDS = ("xor_2_2_1", "dense_dropout", "conv_bn_relu_pool", "shared_layer")
CHECKS = ("check_forward", "check_loss", "check_moving_statistics")
SETTINGS = ("sgd_momentum", "nadam")


# One xdist group per backend: a worker runs all of a backend's tests and spawns its process once (the module
# fixture would otherwise run again on every worker that gets one of them).
@pytest.fixture(scope="module", params=[pytest.param(b, marks=pytest.mark.xdist_group(f"backend_{b}"))
                                        for b in ("jax", "torch")])
def results(request):
    pytest.importorskip(request.param, reason=f"{request.param} is not installed: pip install -e '.[{request.param}]'")
    out = run_backends([request.param], SPEC_IDS, checks=CHECKS, optimizer_spec_ids=("net_2_3_1_sigmoid_mse",),
                       settings=SETTINGS)
    out["_variants"] = rerun_with_variants(out)
    return out


@pytest.fixture(scope="module")
def result(results):
    return next(v for k, v in results.items() if not k.startswith("_"))


def _rows(result, dtype):
    return [r for r in result["rows"] if r["dtype"] == dtype]


def test_worker_ran_its_backend_with_reduced_precision_off(result):
    settings = result["settings"]
    assert settings["backend"] in BACKENDS
    assert settings.get("jax_default_matmul_precision", "highest") == "highest"
    assert settings.get("jax_enable_x64", True) is True
    assert settings.get("cuda_matmul_allow_tf32", False) is False and settings.get("cudnn_allow_tf32", False) is False


def test_every_case_ran(result):
    rows = result["rows"]
    assert not [r for r in rows if r["error"]], [r["error"] for r in rows if r["error"]]
    assert {r["spec"] for r in rows} == set(SPEC_IDS) | {"net_2_3_1_sigmoid_mse"}


def test_float32_checks_pass_or_a_measured_variant_explains_them(results):
    rows = [r for r in backend_rows(results) if r["dtype"] == "float32" and not r["passed"]]
    assert not [(r["spec"], r["check"], r["first_failing"], r["max_rel"]) for r in rows if not r["explanation"]]
    assert all(r["variant"] and r["variant"]["passed"] for r in rows)


def test_dropout_masks_replay_in_training(result):
    rows = [r for r in _rows(result, "float32") if r["spec"] == "dense_dropout" and "training=True" in r["check"]]
    assert rows and all(r["passed"] for r in rows)


def test_float64_failures_are_explained_by_a_measured_variant(results):
    rows = [r for r in backend_rows(results) if r["dtype"] == "float64" and not r["passed"]]
    assert rows, "float64 on JAX/PyTorch is demoted by Keras: some rows should fail before the variant"
    assert not [(r["spec"], r["check"], r["max_rel"], r["variant"]) for r in rows if r["explanation"] is None]
    assert all(r["variant"]["passed"] and r["variant"]["max_rel"] < r["max_rel"] for r in rows)


def test_an_unmeasured_float64_failure_is_not_explained(result):
    row = next(r for r in _rows(result, "float64") if not r["passed"] and not r["check"].startswith("optimizer "))
    assert explain(row) is None
    assert explain(row, variant={"variant": "float64_kept", "cause": "c", "max_rel": 1.0, "passed": False}) is None


def test_optimizer_trajectories_hold(results):
    rows = [r for r in backend_rows(results) if r["check"].startswith("optimizer ")]
    assert len(rows) == 2 * len(SETTINGS)
    assert all(r["passed"] or r["explanation"] for r in rows)


def test_graph_spec_runs_node_by_node(result):
    rows = [r for r in _rows(result, "float32") if r["spec"] == "shared_layer"]
    assert rows and all(r["passed"] for r in rows)


def test_html_matrix_has_a_column_per_backend(results):
    page = backend_page(results)
    backend = next(k for k in results if not k.startswith("_"))
    assert f"<th>{backend}</th>" in page and "shared_layer" in page and "class='bad'" not in page


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="Received: backends=\\['theano'\\]"):
        run_backends(["theano"], SPEC_IDS)


def test_report_defaults_to_tensorflow_only():
    assert _parser().parse_args(["report"]).backend == "tensorflow"


def test_verify_on_another_backend_needs_a_file():
    from parity.verify.backend import check_backend

    with pytest.raises(TypeError, match="Received: model=object"):
        check_backend("jax", object())
    with pytest.raises(ValueError, match="Received: backend='theano'"):
        check_backend("theano", "net.keras")


def test_verify_runs_on_torch_in_its_own_process(tmp_path):
    pytest.importorskip("torch", reason="torch is not installed: pip install -e '.[torch]'")
    keras = pytest.importorskip("keras")
    from keras_models.build import keras_dtype
    from parity.verify.api import verify
    from tests.graph_models import residual_inception_model

    keras.utils.set_random_seed(0)
    with keras_dtype("float32"):
        residual_inception_model().save(tmp_path / "net.keras")
    result = verify(tmp_path / "net.keras", steps=1, backend="torch")
    assert result.settings["backend_settings"]["backend"] == "torch"
    assert result.passed, result.divergence


def test_experiment_tables_have_a_column_per_backend_and_the_variant_rerun():
    from parity.report.experiment_backends import render_experiment_tables

    def row(backend, dtype, passed, variant=None):
        return {"experiment": "two_layer_net", "run": "two_layer_sgd", "dtype": dtype, "backend": backend,
                "variant": variant, "numpy_test_acc": 0.5, "keras_test_acc": 0.5, "differing_test_predictions": 0,
                "max_rel_loss_diff": 1e-16 if passed else 1e-7, "passed": passed}

    text = render_experiment_tables([row("tensorflow", "float64", True), row("torch", "float64", False),
                                     row("torch", "float64", True, "float64_kept")])
    header = next(line for line in text.splitlines() if line.startswith("| run |"))
    assert header.split("|")[3:5] == [" tensorflow ", " torch "]
    assert "float64, variant float64_kept" in text and "BIT64_TO_BIT32_DTYPE" in text
