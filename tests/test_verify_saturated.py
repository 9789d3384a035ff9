"""parity.verify on models whose softmax saturates (raw 0..255 pixels): no false verdict either way.

TensorFlow flushes subnormal numbers to zero and NumPy keeps them, so a saturated
float32 model's gradients (round-off of one tiny probability) cannot be compared:
verify fails them as not comparable, naming float64 as the way to compare them
(``parity.tolerances.UNDERFLOW_SCALE``), and never passes a wrong twin there.
In float64 they are compared. Finite differences cannot resolve a gradient of
1e-40, and are truncated at h = 1e-3 on a steeply curved loss (step sweep).
"""
import numpy as np
import pytest

keras = pytest.importorskip("keras")

from keras import layers as L  # noqa: E402

from parity import from_keras, verify  # noqa: E402
from parity.random_streams import generator  # noqa: E402
from parity.verify.finite_differences import check_finite_differences  # noqa: E402
from parity.verify.result import VerifyResult, to_markdown  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")


def _pixels(which):
    """Raw 0..255 pixels and one-hot labels: "cnn" (16, 8, 8, 1) with 5 classes, "mlp" (16, 8) with 3."""
    rng = np.random.default_rng(0)
    cnn = rng.integers(0, 256, (16, 8, 8, 1)).astype("float32"), np.eye(5)[rng.integers(0, 5, 16)]
    mlp = rng.integers(0, 256, (16, 8)).astype("float32"), np.eye(3)[rng.integers(0, 3, 16)]
    return cnn if which == "cnn" else mlp


def _mlp():
    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((8,)), L.Dense(16, activation="relu", name="hidden"),
                          L.Dense(3, activation="softmax", name="out")])
    m.compile(loss="categorical_crossentropy", optimizer="adam")
    return m


def _cnn():
    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((8, 8, 1)), L.Conv2D(4, 3, padding="same", name="conv"),
                          L.BatchNormalization(name="bn"), L.ReLU(name="relu"), L.MaxPooling2D(2, name="pool"),
                          L.Flatten(name="flat"), L.Dense(5, activation="softmax", name="out")])
    m.compile(loss="categorical_crossentropy", optimizer="sgd")
    return m


def test_a_saturated_float32_mlp_is_not_comparable_and_says_to_verify_in_float64():
    x, y = _pixels("mlp")
    # 16 rows: on an AVX2 CPU, TF's float32 softmax multiplies >= 8 rows by an approximate reciprocal of their sums
    # (1 - 2^-24 where NumPy has 1.0), so its gradients are that round-off, not flushed ones: plainly FAILED (not
    # comparable on the CPU this test was first written on, where they were exactly 1.0); never passed, and the
    # first divergence advises float64
    found = verify(_mlp(), x, y.astype("float32"), steps=0)
    assert not found.passed and "--dtype float64" in str(found).split("## First divergence")[1].split("##")[0]
    x, y = x[:7], y[:7]  # fewer rows than one AVX2 vector: TF's probabilities exactly 1 and 0, as NumPy's
    result = verify(_mlp(), x, y.astype("float32"), steps=0)
    flushed = [r for r in result.gradients if not r["passed"]]
    assert not result.passed and flushed, str(result)
    assert all("not comparable" in r["note"] and "--dtype float64" in r["note"] for r in flushed)
    first = str(result).split("## First divergence")[1].split("##")[0]
    assert "not comparable" in first  # the reason is stated where the report names the divergence
    assert verify(_mlp(), x, y, steps=3, dtype="float64").passed


def _wrong_out_layer(twin):
    """The twin with its `out` layer's weight gradients at -2x (a subclass: verify's copies keep the bug)."""
    layer = twin.get_layer("out")
    base = type(layer)

    class WrongDense(base):
        def backward_call(self, dout):
            dx = base.backward_call(self, dout)
            for key in self.grads:
                self.grads[key] *= -2.0
            return dx
    layer.__class__ = WrongDense
    return twin


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_wrong_backward_in_a_saturated_model_never_passes(dtype):
    """Review, session 25: this twin passed in float32 under a floor measured from the twin itself."""
    x, y = _pixels("mlp")
    model = _mlp()
    twin = _wrong_out_layer(from_keras(model, dtype=dtype))
    assert not verify(model, x, y.astype(dtype), steps=0, twin=twin, dtype=dtype).passed


def test_saturated_float64_mlp_passes_finite_differences_below_their_resolution():
    x, y = _pixels("mlp")
    result = verify(_mlp(), x, y, steps=0, dtype="float64")
    assert result.passed, str(result)
    assert all(0 < r["max_abs"] < 1e-30 for r in result.finite_differences)  # gradients of ~1e-38: unresolvable


@pytest.mark.parametrize("brightness", [1.0, 0.7], ids=["gradients-1e-30", "gradients-of-16"])
def test_a_saturated_cnn_passes_in_float64(brightness):
    # float32: gradients of ~1e-30 (one tiny probability's) or ~16 carry ~1e-4 of the logits' round-off, which no
    # floor measured from the twin may excuse (it would excuse a twin computing wrongly in float32 too)
    x, y = _pixels("cnn")
    result = verify(_cnn(), x * brightness, y, steps=2, dtype="float64")
    assert result.passed, str(result)
    assert max(r["max_rel"] for r in result.gradients if r["kind"] == "param") > 0


def _big_cnn():
    keras.utils.set_random_seed(1)
    i = keras.Input((12, 12, 3))
    h = L.ReLU(name="r1")(L.BatchNormalization(name="bn1")(L.Conv2D(8, 3, padding="same", name="c1")(i)))
    s = h
    h = L.BatchNormalization(name="bn2")(L.Conv2D(8, 3, padding="same", name="c2")(h))
    h = L.MaxPooling2D(2, name="mp")(L.ReLU(name="r2")(L.Add(name="add")([h, s])))
    h = L.GlobalAveragePooling2D(name="gap")(L.Conv2D(6, 2, strides=2, padding="same", name="c3")(h))
    return keras.Model(i, L.Dense(4, activation="softmax", name="out")(h))


def test_finite_differences_of_a_steeply_curved_loss_agree_at_a_smaller_step():
    rng = np.random.default_rng(0)
    for shape in ((16, 8, 8, 1), (16,), (16, 8), (16,)):  # the draws before these pixels (``_pixels``)
        rng.integers(0, 5, shape)
    x = rng.integers(0, 256, (16, 12, 12, 3)).astype("float32")
    dout = generator("upstream_gradient", 0).standard_normal((16, 4)).astype("float32")  # verify's own
    found = {c.tensor: c for c in check_finite_differences(from_keras(_big_cnn()), [x], [dout])}
    c3 = found["c3/kernel"]
    # c3/kernel's gradient is ~38, far above the noise floor; off by 7.4e-6 at h = 1e-3 (truncation)
    assert c3.passed and c3.scale > 1.0, c3.message()
    assert all(c.passed for c in found.values()), "\n".join(c.message() for c in found.values() if not c.passed)


def test_a_failed_check_is_named_in_the_first_divergence_never_every_check_held():
    row = {"name": "d c3/kernel (sampled)", "kind": "finite_difference", "tensor": "c3/kernel", "step": None,
           "max_rel": 3.4e-6, "rtol": 1e-6, "max_abs": 4.8e-4, "scale": 141.2, "passed": False}
    text = to_markdown(VerifyResult(model="m", dtype="float32", finite_differences=[row]))
    assert "every check held" not in text
    assert "`d c3/kernel (sampled)`" in text.split("## First divergence")[1].split("##")[0]


def test_tiny_tensors_that_agree_pass_and_only_flushed_ones_that_differ_are_not_comparable():
    from parity.tolerances import tolerance
    from parity.verify.flushed import floored_compare

    tol, underflow = tolerance("float32"), 1e-30  # flushed range: below 1e-35
    tiny = np.array([3e-37, -2e-37], np.float32)
    assert floored_compare(tiny, tiny * (1 + 1e-6), "agree", tol, underflow=underflow).passed
    assert floored_compare(np.zeros(2, np.float32), np.zeros(2, np.float32), "zeros", tol, underflow=underflow).passed
    flushed = floored_compare(tiny, np.zeros(2, np.float32), "flushed", tol, underflow=underflow)
    assert not flushed.passed and "not comparable" in flushed.note
    partly = floored_compare(np.array([1.0, 3e-37], np.float32), np.array([1.0, 0.0], np.float32), "partly", tol,
                             underflow=underflow)
    assert partly.passed  # the difference lies in a flushed element of a tensor compared on its normal part
