"""A check's NumPy half and Keras half (parity.checks.HALVES): the same numbers as a direct computation, the Keras
half runs no NumPy twin, and the backend matrix computes each NumPy half once for all backends."""
import pickle
from concurrent.futures import Future

import numpy as np
import pytest

import numpy_models
from keras_models import forward, forward_backward
from parity import twins
from parity.checks import CheckCase, backend_halves, backends, model_checks, three_way, yield_checks
from parity.checks.backends import case_row
from parity.checks.model_checks import upstream_gradient
from parity.compare import compare
from parity.specs import SPECS, make_inputs, make_targets
from parity.tolerances import tolerance

# Dropout masks replayed in training (Sequential), BatchNorm moving statistics, a graph calling a layer twice.
SEQUENTIAL = ("dense_dropout", "batch_norm_frozen_2d")
GRAPH = "shared_layer"
DTYPES = ("float32", "float64")


def _by_name(comparisons):
    return {c.name: c for c in comparisons}


@pytest.mark.parametrize("training", [False, True], ids=["inference", "training"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("spec_id", SEQUENTIAL)
def test_forward_and_backward_halves_give_a_fresh_builds_differences(spec_id, dtype, training):
    """Every output and gradient difference equals the one of a fresh ``build_twins`` pair run directly."""
    spec = SPECS[spec_id]
    got = {check: _by_name(CheckCase(spec, check, dtype, training).run()) for check in ("check_forward",
                                                                                        "check_backward")}
    np_model, k_model = twins.build_twins(spec, dtype)
    x = make_inputs(spec, dtype, 0)
    _, acts = np_model.forward(x, training=training, return_activations=True)
    for layer, a, b in zip(np_model.layers, acts, forward(k_model, x, training=training), strict=True):
        assert got["check_forward"][f"{layer.name}:output"].max_abs == compare(a, b, layer.name, 1.0).max_abs
    np_model, k_model = twins.build_twins(spec, dtype)  # fresh: the masks drawn again from the start
    dout = upstream_gradient(spec, np_model.output_shape, dtype, 0)
    np_model.forward(x, training=training)
    dx = np_model.backward(dout)
    ref = forward_backward(k_model, x, dout, training=training)
    for key, grad in np_model.grads.items():
        assert got["check_backward"][key].max_abs == compare(grad, ref["grads"][key], key, 1.0).max_abs
    assert got["check_backward"][f"{np_model.layers[0].name}:input_grad"].max_abs == compare(dx, ref["dx"], "dx",
                                                                                             1.0).max_abs


@pytest.mark.parametrize("dtype", DTYPES)
def test_graph_forward_half_gives_a_fresh_builds_differences(dtype):
    from keras_models.functional import graph_node_outputs

    spec = SPECS[GRAPH]
    got = _by_name(CheckCase(spec, "check_forward", dtype, False).run())
    np_model, k_model = twins.build_twins(spec, dtype)
    x = make_inputs(spec, dtype, 0)
    _, ours = np_model.forward(x, return_activations=True)
    theirs = graph_node_outputs(k_model, [x])
    assert sorted(got) == sorted(f"{name}:output" for name in ours)
    for name, a in ours.items():
        assert got[f"{name}:output"].max_abs == compare(a, theirs[name], name, 1.0).max_abs


def test_three_way_half_gives_a_fresh_builds_backward_differences():
    """The NumPy backward against Keras (the three-way check's first comparisons), from a fresh build."""
    spec = SPECS["dense_dropout"]
    got = _by_name(CheckCase(spec, "check_gradients_three_way", "float64", True).run())
    np_model, k_model = twins.build_twins(spec, "float64")
    x = make_inputs(spec, "float64", 0)
    dout = upstream_gradient(spec, np_model.output_shape, "float64", 0)
    np_model.forward(x, training=True)
    dx = np_model.backward(dout)
    ref = forward_backward(k_model, x, dout, training=True)
    for key, grad in {**np_model.grads, "dx": dx}.items():
        expected = compare(grad, ref["dx"] if key == "dx" else ref["grads"][key], key, tolerance("float64"))
        assert got[key].max_abs == expected.max_abs
    assert any(c.kind == "finite_difference" for c in got.values())


def _no_numpy_twin(monkeypatch):
    """Building or running a NumPy twin raises from here on."""
    def refuse(*args, **kwargs):
        raise AssertionError("the Keras half built or ran a NumPy twin")

    model_checks.clear_keras_products()  # nothing the halves left cached (twins, Keras products) may serve Keras
    for owner, name in ((numpy_models.Sequential, "forward"), (numpy_models.Model, "forward"),
                        (numpy_models.Sequential, "backward"), (numpy_models.Model, "backward"),
                        (twins, "numpy_twin"), (twins, "build_twins"), (twins, "_pristine"),
                        (twins, "twin_data"), (twins, "numpy_side")):
        monkeypatch.setattr(owner, name, refuse)
    for module in (model_checks, backend_halves, three_way):  # the names these modules imported
        for name in ("twin_data", "numpy_side", "numpy_twin", "numpy_model"):
            if hasattr(module, name):
                monkeypatch.setattr(module, name, refuse)


@pytest.mark.parametrize("spec_id", ["batch_norm_frozen_2d", GRAPH])
def test_the_keras_half_builds_and_runs_no_numpy_twin(spec_id, monkeypatch):
    """A backend worker's part (``case_row`` given the NumPy half, pickled as it crosses) runs Keras only."""
    cases = list(yield_checks(SPECS[spec_id]))
    halves = [pickle.loads(pickle.dumps(case.numpy_half())) for case in cases]
    expected = [[(c.name, c.max_rel, c.passed) for c in case.run()] for case in cases]
    _no_numpy_twin(monkeypatch)
    for case, half, want in zip(cases, halves, expected, strict=True):
        assert [(c.name, c.max_rel, c.passed) for c in case.keras_half(half)] == want, case.id
        assert case_row(case, "tensorflow", half)["error"] is None, case.id


def test_a_training_pass_replaying_keras_masks_is_left_to_the_backend():
    """Dropout masks replay the backend's own random stream: those NumPy halves are the worker's to compute."""
    spec = SPECS["dense_dropout"]
    assert not CheckCase(spec, "check_forward", "float32", True).backend_independent
    assert CheckCase(spec, "check_forward", "float32", False).backend_independent
    assert CheckCase(SPECS["batch_norm_frozen_2d"], "check_moving_statistics", "float32").backend_independent
    halves = backend_halves.numpy_halves(["dense_dropout"], DTYPES)
    cases = list(yield_checks(spec, DTYPES))
    assert sorted(halves["cases"]) == sorted(c.key for c in cases if c.backend_independent)
    assert len(halves["cases"]) < len(cases)


class _InProcess:
    """A ``ProcessPoolExecutor`` stand-in running each job here (TensorFlow plays every backend)."""

    def __init__(self, *args, **kwargs):
        pass

    def submit(self, fn, *args):
        future = Future()
        future.set_result(fn(*args))
        return future

    def shutdown(self, *args, **kwargs):
        pass


def test_each_numpy_half_is_computed_once_for_all_backends(monkeypatch):
    """Three backends, one NumPy half per backend-independent case (the masked ones once per backend)."""
    calls = []
    numpy_half = CheckCase.numpy_half
    monkeypatch.setattr(CheckCase, "numpy_half", lambda case: calls.append(case.key) or numpy_half(case))
    monkeypatch.setattr(backends, "ProcessPoolExecutor", _InProcess)
    spec_ids = ["batch_norm_frozen_2d", "dense_dropout"]
    results = backends.run_backends(list(backends.BACKENDS), spec_ids, checks=("check_forward", "check_loss"))
    cases = [c for s in spec_ids for c in yield_checks(SPECS[s]) if c.check in ("check_forward", "check_loss")]
    shared = [c.key for c in cases if c.backend_independent]
    masked = [c.key for c in cases if not c.backend_independent]
    assert masked and shared
    assert sorted(calls) == sorted(shared + masked * len(backends.BACKENDS))
    assert all(r["passed"] for backend in backends.BACKENDS for r in results[backend]["rows"])
    assert results["_numpy_halves_seconds"] > 0  # the report states the parent's share


def test_a_backend_worker_given_the_halves_builds_and_runs_no_numpy_twin(monkeypatch):
    """The worker function itself (rows and the cross-backend arrays), here on TensorFlow, with no random layer."""
    spec_ids = ["batch_norm_frozen_2d", GRAPH]
    halves = backend_halves.share_of(backend_halves.numpy_halves(spec_ids, DTYPES), spec_ids)
    _no_numpy_twin(monkeypatch)
    result = backends._worker("tensorflow", spec_ids, DTYPES, None, [], None, halves)
    assert result["rows"] and all(r["passed"] for r in result["rows"])
    assert sorted(result["arrays"]) == sorted((s, d) for s in spec_ids for d in DTYPES)


def _assert_same_arrays(got, want):
    assert got.keys() == want.keys()
    for key in want:
        g, w = got[key], want[key]
        items = (g.items(), w.items()) if isinstance(w, dict) else (enumerate(g), enumerate(w)) \
            if isinstance(w, list) else (((0, g),), ((0, w),))
        for (_, a), (_, b) in zip(*items, strict=True):
            np.testing.assert_array_equal(a, b, err_msg=key)


@pytest.mark.parametrize("training", [False, True], ids=["inference", "training"])
@pytest.mark.parametrize("spec_id", ["dense_dropout", "mlp_bn_784_100x4_10", "embedding_default_init"])
def test_one_forward_for_backward_and_loss_gives_each_pass_its_own_bits(spec_id, training):
    """``backward_and_loss`` (the products ``check_forward``, ``check_backward`` and ``check_loss`` share) equals
    ``forward_backward`` and ``loss_and_gradients`` each run on the freshly reset twin, bit for bit."""
    from keras_models import loss_and_gradients
    from keras_models.runtime import backward_and_loss

    spec, dtype = SPECS[spec_id], "float32"
    twin = twins.twin_data(spec, dtype)
    x, dout = make_inputs(spec, dtype, 0), upstream_gradient(spec, twin["output_shape"], dtype, 0)
    y_true, loss_fn = make_targets(spec, twin["output_shape"], dtype, 0), twins.keras_loss(spec, dtype)
    joint = backward_and_loss(twins.keras_side(spec, dtype, 0, twin), x, dout, loss_fn, y_true, training=training)
    alone = (forward_backward(twins.keras_side(spec, dtype, 0, twin), x, dout, training=training),
             loss_and_gradients(twins.keras_side(spec, dtype, 0, twin), loss_fn, x, y_true, training=training))
    for got, want in zip(joint, alone, strict=True):
        _assert_same_arrays(got, want)
    plain = forward(twins.keras_side(spec, dtype, 0, twin), x, training=training)  # what check_forward compared
    _assert_same_arrays({"outputs": joint[0]["outputs"]}, {"outputs": plain})
