"""The ``torch_replicate_pool`` variant: the NumPy twin's average pooling as Keras's PyTorch backend computes it.

The variant is checked on its own (an independent edge-pad-and-average
reference, and its backward against the Jacobian built column by column), then
measured on PyTorch: the uneven-'same' specs fail there without it and pass
with it at the table's float32 tolerance.
"""
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from numpy_models import pooling
from numpy_models.pooling1d import AveragePooling1D
from parity.checks.backend_pooling import replicate_same_average_pooling, uneven_same_average_pooling
from parity.checks.backend_variants import candidate
from parity.compare import compare
from parity.tolerances import tolerance

# (input shape, pool size, strides): an uneven split on both axes, on one axis only, and an even one.
CASES = {"uneven_both": ((2, 8, 7, 3), (3, 3), (2, 2)), "uneven_width": ((1, 5, 6, 2), (3, 4), (1, 1)),
         "even": ((1, 7, 7, 1), (3, 3), (2, 2))}


@pytest.fixture
def replicated(monkeypatch):
    """The variant switched on for one test (the class's methods restored after it)."""
    cls = pooling.AveragePooling2D
    monkeypatch.setattr(cls, "pool", cls.pool)
    monkeypatch.setattr(cls, "pool_backward", cls.pool_backward)
    replicate_same_average_pooling()


def _layer(shape, pool_size, strides):
    layer = pooling.AveragePooling2D(pool_size=pool_size, strides=strides, padding="same", name="avgpool")
    layer.dtype = "float64"
    layer.build(shape)
    return layer


def _reference(x, pool_size, strides, pads):
    """Edge-replicated padding, then the plain mean of every window (torch avg_pool2d with no padding)."""
    xp = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), mode="edge")
    windows = sliding_window_view(xp, pool_size, axis=(1, 2))[:, ::strides[0], ::strides[1]]
    return windows.mean(axis=(-2, -1))


def _valid_mean(x, pool_size, strides, pads):
    """The mean of each window's valid (unpadded) elements: TensorFlow's rule, torch's for an even split."""
    def sums(a):
        ap = np.pad(a, ((0, 0), pads[0], pads[1], (0, 0)))
        return sliding_window_view(ap, pool_size, axis=(1, 2))[:, ::strides[0], ::strides[1]].sum(axis=(-2, -1))

    return sums(x) / sums(np.ones_like(x))


@pytest.mark.parametrize("case", CASES)
def test_forward_pads_by_edge_replication_only_when_the_split_is_uneven(replicated, case):
    shape, pool_size, strides = CASES[case]
    layer = _layer(shape, pool_size, strides)
    x = np.random.default_rng(0).standard_normal(shape)
    _, _, ph, pw = layer._plan
    rule = _reference if ph[0] != ph[1] or pw[0] != pw[1] else _valid_mean
    assert (rule is _valid_mean) == (case == "even")
    assert compare(layer.call(x), rule(x, pool_size, strides, (ph, pw)), "avgpool:output", tolerance("float64")).passed


@pytest.mark.parametrize("case", CASES)
def test_backward_is_the_transposed_jacobian(replicated, case):
    shape, pool_size, strides = CASES[case]
    layer = _layer(shape, pool_size, strides)
    size = int(np.prod(shape))
    columns = [layer.call(np.eye(size)[i].reshape(shape)).ravel() for i in range(size)]  # the map is linear
    dout = np.random.default_rng(1).standard_normal(layer.call(np.zeros(shape)).shape)
    layer.call(np.random.default_rng(2).standard_normal(shape))
    expected = (np.stack(columns) @ dout.ravel()).reshape(shape)
    assert compare(layer.backward_call(dout), expected, "avgpool:input_grad", tolerance("float64")).passed


def test_one_dimensional_pooling_takes_the_rule_through_its_two_dimensional_kernel(replicated):
    layer = AveragePooling1D(pool_size=4, strides=1, padding="same", name="avgpool")  # length 6: pads (1, 2)
    layer.dtype = "float64"
    layer.build((2, 6, 3))
    x = np.random.default_rng(0).standard_normal((2, 6, 3))
    expected = _reference(x[:, None], (1, 4), (1, 1), ((0, 0), (1, 2)))[:, 0]
    assert compare(layer.call(x), expected, "avgpool:output", tolerance("float64")).passed


def test_the_variant_is_the_candidate_only_for_torch_rows_of_same_average_pooling():
    row = {"passed": False, "backend": "torch", "dtype": "float32", "check": "check_forward(dtype=float32)",
           "spec": "pooling_same_overlapping", "max_rel": 0.14}
    assert uneven_same_average_pooling("pooling_same_overlapping")
    assert candidate(row) == "torch_replicate_pool"
    assert candidate({**row, "dtype": "float64"}) == "float64_kept+torch_replicate_pool"
    assert candidate({**row, "backend": "jax"}) is None
    assert candidate({**row, "spec": "lenet_digits_8"}) is None


def _torch_rows_with_and_without():
    """In the kept PyTorch process: the rows, then the rows with the variant, which is switched off again."""
    from parity.checks.backend_variants import switched_on
    from parity.checks.backends import _rows
    from parity.checks.model_checks import clear_keras_products

    specs = ["pooling_same_overlapping", "averagepooling1d_same_overlap"]
    before = _rows("torch", specs, ("float32",), ["check_forward", "check_backward"], [], None)
    with switched_on("torch_replicate_pool"):
        clear_keras_products()
        after = _rows("torch", specs, ("float32",), ["check_forward", "check_backward"], [], None)
    clear_keras_products()
    return before, after


@pytest.mark.xdist_group("backend_torch")
def test_torch_uneven_same_average_pooling_fails_without_the_variant_and_passes_with_it():
    pytest.importorskip("torch", reason="torch is not installed: pip install -e '.[torch]'")
    from parity.checks.backends import run_on

    before, after = run_on("torch", _torch_rows_with_and_without, reuse=True)
    assert [r for r in before if not r["passed"] and "training=False" in r["check"]]
    assert [r["first_failing"] for r in before if r["check"].startswith("check_forward") and not r["passed"]] \
        == ["avgpool", "pool"]  # the layer names of the two specs
    assert all(r["passed"] for r in after), [(r["spec"], r["check"], r["max_rel"]) for r in after if not r["passed"]]
