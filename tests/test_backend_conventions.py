"""The NumPy-side measurement variants: TensorFlow's float64 rules switched to JAX's and PyTorch's.

Each switch is checked against an independent reference (the exact constant,
the layer's own float64 textbook path, PyTorch's own hardsigmoid backward),
switched off cleanly, and measured on the backends: the float64 rows it names
fail with ``float64_kept`` alone and pass with it.
"""
import numpy as np
import pytest

import numpy_models
from numpy_models import activations, conventions
from numpy_models.optimizers import base
from parity.checks import backend_conventions
from parity.checks.backend_conventions import twin_conventions
from parity.checks.backend_pooling import _SHIPPED
from parity.checks.backend_variants import _TF_CONSTANT, candidate, switched_on


TENSORFLOW = {"float32_constants": True, "float32_resize": True, "cached_logits": True}  # the defaults


def _leaky(slope, x):
    layer = numpy_models.LeakyReLU(negative_slope=slope, name="leaky", dtype="float64")
    return layer.call(x), layer


def test_layer_constants_are_float32_rounded_by_default_and_exact_when_switched():
    x = np.array([-1.0, -2.5, 3.0])
    rounded, _ = _leaky(1.7, x)
    np.testing.assert_array_equal(rounded[:2], x[:2] * float(np.float32(1.7)))
    with conventions.conventions(float32_constants=False):
        exact, layer = _leaky(1.7, x)
        np.testing.assert_array_equal(exact[:2], x[:2] * 1.7)
        np.testing.assert_array_equal(layer.backward_call(np.ones(3))[:2], [1.7, 1.7])
    assert conventions.current() == TENSORFLOW  # restored
    assert not np.array_equal(rounded, exact)


def test_unknown_convention_is_refused_by_name():
    with pytest.raises(ValueError, match="Received: float32_constant=False"):
        conventions.set_conventions(float32_constant=False)


def test_float64_resize_is_the_layers_own_float64_path():
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 2))
    layers = [numpy_models.UpSampling2D(size=(2, 3), interpolation="bilinear", name=f"up{i}", dtype="float64",
                                        compute_in_float32=flag) for i, flag in enumerate((True, False))]
    for layer in layers:
        layer.build(x.shape)
    tf_rule, float64_path = (layer.call(x) for layer in layers)
    with conventions.conventions(float32_resize=False):
        switched = layers[0].call(x)
    np.testing.assert_array_equal(switched, float64_path)
    assert not np.array_equal(tf_rule, float64_path)  # the default really computes in float32


def test_torch_hardsigmoid_sixth_is_pytorchs_own_backward():
    torch = pytest.importorskip("torch", reason="torch is not installed: pip install -e '.[torch]'")
    x = np.linspace(-4, 4, 17)
    dout = np.random.default_rng(1).standard_normal(17)
    xt = torch.tensor(x, requires_grad=True)
    torch.nn.functional.hardsigmoid(xt).backward(torch.tensor(dout))
    with switched_on("torch_hardsigmoid_sixth"):
        mine = activations.backward("hard_sigmoid", x, None, dout)
    np.testing.assert_array_equal(mine, xt.grad.numpy())
    shipped = activations.backward("hard_sigmoid", x, None, dout)
    assert not np.array_equal(shipped, mine)  # switched off again: TensorFlow's / 6


@pytest.mark.parametrize("spec_id, backend, expected", [
    ("leaky_relu_layer_1_7", "jax", ("exact_constants",)), ("activation_gelu", "torch", ("exact_constants",)),
    ("regularizers_l1_l2", "jax", ("exact_constants",)), ("upsampling2d_bilinear_2", "torch", ("float64_resize",)),
    ("activation_hard_sigmoid", "torch", ("torch_hardsigmoid_sixth",)), ("activation_hard_sigmoid", "jax", ()),
    ("lenet_digits_8", "torch", ()), ("activation_hard_silu", "torch", ())])
def test_a_convention_is_named_only_where_it_changes_the_twin(spec_id, backend, expected):
    assert twin_conventions(spec_id, backend) == expected
    assert conventions.current() == TENSORFLOW
    assert activations.ACTIVATIONS["hard_sigmoid"] == backend_conventions._SHIPPED_HARD_SIGMOID


def test_float64_rows_are_re_run_with_the_conventions_on_top_of_float64_kept():
    row = {"passed": False, "backend": "jax", "dtype": "float64", "check": "check_forward(dtype=float64)",
           "spec": "leaky_relu_layer_1_7", "max_rel": 2.8e-8}
    assert candidate(row) == "float64_kept+exact_constants"
    assert candidate({**row, "spec": "lenet_digits_8"}) == "float64_kept"
    assert candidate({**row, "dtype": "float32"}) is None


def test_switched_on_puts_every_numpy_side_switch_back():
    variant = ("exact_cast+exact_constants+float64_resize+torch_hardsigmoid_sixth+torch_replicate_pool"
               "+probability_crossentropy")
    with switched_on(variant) as settings:
        assert base.constant is not _TF_CONSTANT and not any(conventions.current().values())
        assert settings["numpy_hard_sigmoid_derivative"].startswith("float32")
    assert base.constant is _TF_CONSTANT
    assert conventions.current() == TENSORFLOW
    assert activations.ACTIVATIONS["hard_sigmoid"] == backend_conventions._SHIPPED_HARD_SIGMOID
    cls = numpy_models.AveragePooling2D
    assert (cls.pool, cls.pool_backward) == _SHIPPED


def test_a_variant_with_an_unknown_part_switches_nothing_on():
    cls = numpy_models.AveragePooling2D
    with pytest.raises(ValueError, match="Received: variant='torch_replicate_pool\\+bogus'"):
        with switched_on("torch_replicate_pool+bogus"):
            pass
    assert (cls.pool, cls.pool_backward) == _SHIPPED


def test_conventions_are_measured_against_tensorflows_rules_whatever_is_switched_on():
    twin_conventions.cache_clear()
    try:
        with switched_on("exact_constants"):
            assert twin_conventions("leaky_relu_layer_1_7", "jax") == ("exact_constants",)
    finally:
        twin_conventions.cache_clear()


def test_exact_cast_reaches_the_schedules_decay_rate():
    from numpy_models.optimizers.schedules import ExponentialDecay

    schedule = ExponentialDecay(0.1, 1, 0.96)  # 0.96 is not a float32 number
    rounded = schedule.compute(1, np.dtype("float64"))
    with switched_on("exact_cast"):
        exact = schedule.compute(1, np.dtype("float64"))
    assert exact == 0.1 * 0.96 and rounded == 0.1 * float(np.float32(0.96))


def _rows_with_and_without(backend, specs):
    """In the kept backend process: float64 rows with float64_kept, then with each spec's conventions too."""
    from parity.checks.backends import _rows
    from parity.checks.model_checks import clear_keras_products

    out = {}
    for spec in specs:
        for variant in ("float64_kept", candidate({"passed": False, "backend": backend, "dtype": "float64",
                                                   "check": "check_forward", "spec": spec, "max_rel": 1.0})):
            with switched_on(variant):
                clear_keras_products()
                out[(spec, variant)] = _rows(backend, [spec], ("float64",), ["check_forward", "check_backward"],
                                             [], None)
            clear_keras_products()
    return out


def _assert_explained(out):
    for (spec, variant), rows in out.items():
        if variant == "float64_kept":
            assert not all(r["passed"] for r in rows), (spec, [r["max_rel"] for r in rows])
        else:
            assert all(r["passed"] for r in rows), (spec, variant, [r["max_rel"] for r in rows])


@pytest.mark.xdist_group("backend_torch")
def test_torch_float64_rows_pass_with_the_conventions_they_name():
    pytest.importorskip("torch", reason="torch is not installed: pip install -e '.[torch]'")
    from parity.checks.backends import run_on

    specs = ["leaky_relu_layer_1_7", "activation_hard_sigmoid", "upsampling2d_bilinear_2"]
    _assert_explained(run_on("torch", _rows_with_and_without, "torch", specs, reuse=True))


@pytest.mark.xdist_group("backend_jax")
def test_jax_float64_rows_pass_with_the_conventions_they_name():
    pytest.importorskip("jax", reason="jax is not installed: pip install -e '.[jax]'")
    from parity.checks.backends import run_on

    _assert_explained(run_on("jax", _rows_with_and_without, "jax", ["leaky_relu_layer_1_7"], reuse=True))
