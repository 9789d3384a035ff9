"""How backend work is shared out and put back, and how a row that raises is explained (measured, not assumed)."""
import os
from concurrent.futures.process import BrokenProcessPool

import pytest

from parity.checks.backends import JAX_PROCESSES, SPLIT_MIN_SPECS, explain, keras_alone, merge, run_on, shares
from parity.specs import SPECS

IDS = [f"spec_{i}" for i in range(SPLIT_MIN_SPECS + 3)]


def _part(spec_ids, optimizer=False):
    rows = [{"spec": "net", "check": "optimizer sgd", "dtype": "float32"}] if optimizer else []
    rows += [{"spec": s, "check": f"check_forward({d})", "dtype": d} for s in spec_ids for d in ("float32", "float64")]
    return {"backend": "jax", "rows": rows, "settings": {"backend": "jax"},
            "arrays": {(s, "float32"): {} for s in spec_ids},
            "variant_rows": {"float64_kept": [r for r in rows if r["dtype"] == "float64"]}}


def test_jax_specs_are_dealt_out_and_other_backends_keep_one_process():
    parts = shares("jax", IDS)
    assert len(parts) == JAX_PROCESSES and sorted(s for p in parts for s in p) == sorted(IDS)
    assert shares("torch", IDS) == [IDS] and shares("jax", IDS[:SPLIT_MIN_SPECS - 1]) == [IDS[:SPLIT_MIN_SPECS - 1]]


def test_merged_rows_come_in_the_order_one_process_gives():
    parts = [_part(p, optimizer=k == 0) for k, p in enumerate(shares("jax", IDS))]
    merged, alone = merge(parts, IDS), _part(IDS, optimizer=True)
    assert merged["rows"] == alone["rows"]
    assert merged["arrays"].keys() == alone["arrays"].keys() and merged["processes"] == JAX_PROCESSES
    assert sorted(r["spec"] for r in merged["variant_rows"]["float64_kept"]) == sorted(IDS)


def _error_row(error, alone):
    return {"passed": False, "max_rel": None, "backend": "torch", "error": error, "keras_alone": alone}


def test_an_error_is_explained_only_when_stock_keras_alone_raises_the_same():
    error = "RuntimeError: Given normalized_shape=[5], expected input with shape [*, 5]"
    assert "stock Keras model alone" in explain(_error_row(error, error))
    assert explain(_error_row(error, None)) is None  # Keras alone runs: the error is ours
    assert explain(_error_row(error, "RuntimeError: something else")) is None


@pytest.mark.xdist_group("backend_torch")
def test_torch_layer_normalization_over_a_non_last_axis_raises_in_keras_itself():
    pytest.importorskip("torch", reason="torch is not installed: pip install -e '.[torch]'")
    spec = SPECS["layer_norm_axis1_3d"]
    assert keras_alone(spec, "float32") is None  # TensorFlow, this process
    error = run_on("torch", keras_alone, spec, "float32", reuse=True)
    assert error.startswith("RuntimeError") and "normalized_shape" in error


def test_the_matrix_renders_rows_that_raise_and_re_runs_that_raise():
    from parity.report.backend_html import backend_page
    from parity.report.backend_report import render_backend_matrix

    error = "RuntimeError: Given normalized_shape=[5]"
    base = {"spec": "layer_norm_axis1_3d", "dtype": "float64", "backend": "torch", "seconds": 0.1, "rtol": 1e-12}
    rows = [{**base, "check": "check_forward(dtype=float64)", **_error_row(error, error)},
            {**base, "check": "check_loss(dtype=float64)", "passed": False, "max_rel": 1e-7, "error": None,
             "first_failing": "loss"}]
    variants = {("torch", "layer_norm_axis1_3d", "check_loss(dtype=float64)", "float64"):
                {"variant": "float64_kept", "cause": "c", "max_rel": None, "passed": False}}
    results = {"torch": {"rows": rows, "arrays": {}, "settings": {}}, "_variants": variants}
    text = render_backend_matrix(results)
    assert "error, explained" in text and "| float64_kept | error | **no** |" in text
    assert "class='explained'" in backend_page(results) and "class='bad'" in backend_page(results)


def test_a_kept_process_that_died_is_replaced_by_the_next_call():
    """A crash of the kept process fails its own call only (no backend is imported by these calls).

    On "jax": its worker's start only names the backend (TensorFlow's imports TensorFlow, 4 s of CPU for each of
    the two processes here), and the calls import nothing, so JAX need not be installed; keeping, dropping and
    replacing the process is the same code for every backend."""
    first = run_on("jax", os.getpid, reuse=True)
    assert run_on("jax", os.getpid, reuse=True) == first  # kept
    with pytest.raises(BrokenProcessPool):
        run_on("jax", os._exit, 1, reuse=True)
    assert run_on("jax", os.getpid, reuse=True) not in (first, os.getpid())


def test_the_tensorflow_backend_worker_imports_tensorflow_without_its_start_up_lines():
    """`report --backend jax` runs TensorFlow's share of the matrix in a spawned worker too, which printed
    TensorFlow's absl and oneDNN lines (walkthrough 2); it imports TensorFlow quietly, as the report's own workers."""
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "PARITY_VERBOSE")}
    code = "from parity.checks.backends import _start_worker; _start_worker('tensorflow'); import keras"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr
    assert "absl::InitializeLog" not in done.stderr and "oneDNN" not in done.stderr, done.stderr
