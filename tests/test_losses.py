"""Losses on raw arrays: NumPy vs Keras values and gradients, including the clipped probability path."""
import numpy as np
import pytest

from numpy_models import losses
from parity import compare, tolerance

CASES = [
    ("MeanSquaredError", {}, "real"),
    ("MeanAbsoluteError", {}, "real"),
    ("BinaryCrossentropy", {}, "prob"),
    ("BinaryCrossentropy", {"label_smoothing": 0.2}, "prob"),
    ("BinaryCrossentropy", {"from_logits": True}, "real"),
    ("CategoricalCrossentropy", {}, "simplex"),
    ("CategoricalCrossentropy", {"label_smoothing": 0.1}, "simplex"),
    ("CategoricalCrossentropy", {"from_logits": True}, "real"),
    ("SparseCategoricalCrossentropy", {}, "simplex"),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, "real"),
    ("Huber", {}, "real"),
    ("Huber", {"delta": 0.1}, "real"),  # not a float32 number: Keras casts it to float64 unrounded
    ("LogCosh", {}, "real"),
    ("MeanSquaredLogarithmicError", {}, "positive"),
]


def _case_id(value):
    """Readable pytest ids: kwargs as k=v (e.g. label_smoothing=0.1), {} as "defaults"."""
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items()) or "defaults"
    return str(value)


def _data(kind, cls, rng, dtype, saturate):
    z = rng.standard_normal((6, 4)) * (30 if saturate else 1)
    y_pred = {"real": z, "prob": 1 / (1 + np.exp(-z)),
              "simplex": np.exp(z - z.max(1, keepdims=True)) / np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True),
              "positive": np.abs(z)}[kind]
    if cls == "SparseCategoricalCrossentropy":
        y_true = rng.integers(0, 4, 6)
    elif cls == "CategoricalCrossentropy":
        y_true = np.eye(4)[rng.integers(0, 4, 6)]
    elif cls == "BinaryCrossentropy":
        y_true = rng.integers(0, 2, (6, 4)).astype(float)
    elif kind == "positive":
        y_true = np.abs(rng.standard_normal((6, 4)))
    else:
        y_true = rng.standard_normal((6, 4))
    return (y_true.astype(dtype) if y_true.dtype.kind == "f" else y_true), y_pred.astype(dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("saturate", [False, True], ids=["moderate", "saturated"])
@pytest.mark.parametrize("cls, kwargs, kind", CASES, ids=[f"{c}{k or ''}" for c, k, _ in CASES])
def test_loss_value_and_gradient_match_keras(cls, kwargs, kind, saturate, dtype):
    y_true, y_pred = _data(kind, cls, np.random.default_rng(0), dtype, saturate)
    _assert_value_and_gradient_match_keras(cls, kwargs, y_true, y_pred, dtype)


def _assert_value_and_gradient_match_keras(cls, kwargs, y_true, y_pred, dtype):
    """Our loss and dL/dy_pred vs Keras's loss and TF's autodiff (the loss made and run in ``dtype``); returns
    both gradients."""
    import keras
    import tensorflow as tf

    from keras_models import keras_dtype

    value, grad = losses.get(cls, **kwargs).value_and_gradient(y_true, y_pred)
    with keras_dtype(dtype):
        theirs = getattr(keras.losses, cls)(**kwargs)
        p = tf.Variable(y_pred)
        with tf.GradientTape() as tape:
            ref = theirs(tf.constant(y_true), p)
        ref, ref_grad = ref.numpy(), tape.gradient(ref, p).numpy()
    tol = tolerance(dtype)
    assert compare(np.asarray(value), ref, "loss", tol).passed, (value, ref)
    c = compare(grad, ref_grad, "dL/dy_pred", tol)
    assert c.passed, c.message()
    return grad, ref_grad


EPSILON32 = float(np.float32(1e-7))  # Keras's epsilon as MSLE's maximum takes it: a float32 tensor in float64 too
KINKS = {  # name: (loss, kwargs, y_true, y_pred)
    # |error| == delta exactly, both signs, beside errors of 0 (TF's sign(0) = 0), inside and outside delta
    "huber_delta_0.1": ("Huber", {"delta": 0.1}, [[0.0] * 4] * 2, [[0.1, -0.1, 0.0, 0.3], [0.05, -0.2, 0.1, -0.1]]),
    "huber_delta_1": ("Huber", {}, [[1.0, -2.0, 0.5, 0.0]], [[2.0, -1.0, -0.5, 1.0]]),
    # predictions at Keras's epsilon (a tie of the maximum), at 1e-7 (below it in float64), 0 and negative
    "msle_epsilon": ("MeanSquaredLogarithmicError", {}, [[0.3, 2.0, 1.0, 0.0], [1.0, 0.5, 1.0, -1.0]],
                     [[EPSILON32, 1e-7, 0.0, -0.5], [-3.0, 0.9e-7, 2e-7, 1.0]]),
    # errors of 0 and below float32 resolution, and far past the overflow of cosh
    "log_cosh_tiny_and_huge": ("LogCosh", {}, [[0.0] * 4] * 2,
                               [[0.0, 1e-8, -1e-8, 1e-4], [30.0, -30.0, 400.0, -400.0]]),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", list(KINKS))
def test_loss_at_its_kinks_matches_keras_and_tf_autodiff(case, dtype):
    """Values and gradients where the formula changes branch; zero gradients exactly where TF's are zero."""
    cls, kwargs, y_true, y_pred = KINKS[case]
    grad, ref_grad = _assert_value_and_gradient_match_keras(cls, kwargs, np.array(y_true, dtype),
                                                            np.array(y_pred, dtype), dtype)
    np.testing.assert_array_equal(grad == 0, ref_grad == 0, err_msg="elements with no gradient")


def test_softmax_output_uses_logits_path_without_clipping():
    """A true-class logit of -30: Keras's logits path gives ~30.69; the clipped path only 16.1."""
    import numpy_models as nm

    model = nm.Sequential([nm.Dense(2, activation="softmax", name="out", use_bias=False)], dtype="float64").build((None, 2))
    model.set_weights([np.array([[1.0, 0.0], [0.0, 1.0]])])
    x, t = np.array([[-30.0, 0.0]]), np.array([[1.0, 0.0]])
    y = model.forward(x)
    loss = losses.CategoricalCrossentropy()
    assert model.compute_loss(loss, t, y) == pytest.approx(30.0 + np.log1p(np.exp(-30.0)), rel=tolerance("float64").rtol)
    assert loss(t, y) == pytest.approx(-np.log(1e-7), rel=tolerance("float32").rtol)  # bare probabilities: clipped path (float32 epsilon)


@pytest.mark.parametrize("cls, kwargs, kind", CASES[:3] + CASES[5:7] + CASES[8:9] + CASES[10:],
                         ids=lambda v: _case_id(v))
def test_gradient_matches_finite_differences(cls, kwargs, kind):
    y_true, y_pred = _data(kind, cls, np.random.default_rng(1), "float64", saturate=False)
    loss = losses.get(cls, **kwargs)
    grad = loss.gradient(y_true, y_pred)
    h = 1e-6
    numeric = np.zeros_like(y_pred)
    for i in np.ndindex(y_pred.shape):
        up, down = y_pred.copy(), y_pred.copy()
        up[i] += h
        down[i] -= h
        numeric[i] = (loss(y_true, up) - loss(y_true, down)) / (2 * h)
    c = compare(grad, numeric, "dL/dy_pred", tolerance("float64", "finite_difference"))
    assert c.passed, c.message()


def test_bad_targets_raise_errors_naming_the_loss():
    with pytest.raises(ValueError, match=r"MeanSquaredError.*y_true.shape=\(3, 2\), y_pred.shape=\(3, 1\)"):
        losses.MeanSquaredError()(np.zeros((3, 2)), np.zeros((3, 1)))
    with pytest.raises(ValueError, match=r"SparseCategoricalCrossentropy: labels must lie in \[0, 3\)"):
        losses.SparseCategoricalCrossentropy()(np.array([0, 3]), np.full((2, 3), 1 / 3))
    with pytest.raises(ValueError, match="NaN"):
        losses.BinaryCrossentropy()(np.zeros((2, 1)), np.array([[0.5], [np.nan]]))
    with pytest.raises(ValueError, match="Unknown loss.*'mean_sqared_error'"):
        losses.get("mean_sqared_error")


def test_a_huber_delta_that_is_not_a_number_is_refused_by_name():
    with pytest.raises(ValueError, match=r"Huber: delta must be a finite number. Received: delta='0.5'"):
        losses.Huber(delta="0.5")



def test_every_keras_string_name_of_an_implemented_loss_is_accepted():
    """A model compiled with loss="MSE" or "bce" converts: every name Keras resolves to a loss numpy_models has."""
    import keras
    from keras.src.losses import ALL_OBJECTS_DICT

    by_function = {keras.losses.get(name).fn: cls for name, cls in losses.CLASSES.items()}  # Keras's own function
    for name, obj in ALL_OBJECTS_DICT.items():
        cls = losses.CLASSES.get(name) or by_function.get(obj)
        if cls is not None:
            assert type(losses.get(name)) is cls, name
