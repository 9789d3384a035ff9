"""Bad input raises an error that names the layer, what was expected and what was received."""
import numpy as np
import pytest

import numpy_models as nm


def _model():
    return nm.Sequential([nm.Dense(3, name="hidden"), nm.Dense(2, name="out")]).build((None, 4))


def test_wrong_input_shape():
    with pytest.raises(ValueError, match=r"expected shape \(None, 4\). Received: input.shape=\(5, 3\)"):
        _model().forward(np.zeros((5, 3)))


def test_wrong_input_shape_on_a_single_layer():
    layer = nm.Dense(3, name="hidden")
    layer.build((None, 4))
    with pytest.raises(ValueError, match=r"Layer 'hidden' \(Dense\).*\(None, 4\).*\(2, 5\)"):
        layer.forward(np.zeros((2, 5)))


def test_nan_input():
    x = np.zeros((2, 4))
    x[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"NaN or Inf \(first at index \(1, 2\)\)"):
        _model().forward(x)


def test_non_numeric_input():
    with pytest.raises(TypeError, match="expected a real numeric input.*<U1"):
        _model().forward(np.full((2, 4), "a"))


def test_wrong_dout_shape():
    model = _model()
    model.forward(np.zeros((5, 4)))
    with pytest.raises(ValueError, match=r"dout is incompatible: expected shape \(5, 2\).*\(5, 3\)"):
        model.backward(np.zeros((5, 3)))


def test_unknown_activation_names_the_layer():
    with pytest.raises(ValueError, match=r"Layer 'h' \(Dense\): unknown activation.*'rleu'"):
        nm.Dense(3, activation="rleu", name="h")


def test_unknown_layer_class():
    with pytest.raises(ValueError, match=r"Unknown layer class for layer 'c1'.*'Conv3D'"):
        nm.build_sequential([("Conv3D", {}, "c1")], (4,))


def test_unknown_layer_argument():
    with pytest.raises(TypeError, match=r"Layer 'd' \(Dense\): invalid arguments \['unit'\]"):
        nm.build_sequential([("Dense", {"unit": 3}, "d")], (4,))


def test_bad_units_and_dtype():
    with pytest.raises(ValueError, match="units must be a positive integer. Received: units=0"):
        nm.Dense(0)
    with pytest.raises(TypeError, match="dtype must be one of"):
        nm.Sequential([nm.Dense(2)], dtype="float16")


def test_weights_that_do_not_fit():
    model = _model()
    with pytest.raises(ValueError, match=r"expected 4 weight arrays"):
        model.set_weights(model.get_weights()[:3])
    with pytest.raises(TypeError, match="one float dtype"):
        model.set_weights([w.astype("float64") if i == 0 else w for i, w in enumerate(model.get_weights())])
    with pytest.raises(TypeError, match=r"Layer 'hidden' \(Dense\): weight 'kernel' expects dtype float32"):
        model.get_layer("hidden").set_weight("kernel", np.zeros((4, 3), "float64"))


def test_backward_before_forward():
    with pytest.raises(RuntimeError, match="before forward"):
        _model().backward(np.zeros((1, 2)))
