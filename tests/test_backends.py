"""The twins on JAX and PyTorch: a representative subset of specs x checks, one spawned process per backend.

Each backend's tests skip, with the install command as the reason, when its
package is absent. Float64 rows may fail only for a measured, explained reason
(``parity.checks.backends.explain``); float32 rows must pass at the table's tolerance.
"""
import pytest

from parity.checks.backends import BACKENDS, explain, run_backends
from parity.cli import _parser

# Dense + loss, dropout (mask replay), conv + BatchNorm + pooling (moving statistics). Kept small: JAX runs eagerly.
SPEC_IDS = ("xor_2_2_1", "dense_dropout", "conv_bn_relu_pool")
CHECKS = ("check_forward", "check_loss", "check_moving_statistics")
SETTINGS = ("sgd_momentum", "adam")


# One xdist group per backend: a worker runs all of a backend's tests and spawns its process once (the module
# fixture would otherwise run again on every worker that gets one of them).
@pytest.fixture(scope="module", params=[pytest.param(b, marks=pytest.mark.xdist_group(f"backend_{b}"))
                                        for b in ("jax", "torch")])
def result(request):
    pytest.importorskip(request.param, reason=f"{request.param} is not installed: pip install -e '.[{request.param}]'")
    return run_backends([request.param], SPEC_IDS, checks=CHECKS, optimizer_spec_ids=("net_2_3_1_sigmoid_mse",),
                        settings=SETTINGS)[request.param]


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


def test_float32_checks_pass(result):
    failing = [(r["spec"], r["check"], r["first_failing"], r["max_rel"]) for r in _rows(result, "float32")
               if not r["passed"] and not explain({**r, "backend": result["settings"]["backend"]})]
    assert not failing


def test_dropout_masks_replay_in_training(result):
    rows = [r for r in _rows(result, "float32") if r["spec"] == "dense_dropout" and "training=True" in r["check"]]
    assert rows and all(r["passed"] for r in rows)


def test_float64_failures_are_explained(result):
    unexplained = [(r["spec"], r["check"], r["first_failing"], r["max_rel"]) for r in _rows(result, "float64")
                   if not r["passed"] and explain(r) is None]
    assert not unexplained


def test_optimizer_trajectories_hold(result):
    rows = [r for r in result["rows"] if r["check"].startswith("optimizer ")]
    assert len(rows) == 2 * len(SETTINGS)
    assert all(r["passed"] or explain(r) for r in rows)


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="Received: backends=\\['theano'\\]"):
        run_backends(["theano"], SPEC_IDS)


def test_report_defaults_to_tensorflow_only():
    assert _parser().parse_args(["report"]).backend == "tensorflow"
