"""A softmax's input gradient ``s (g - sum(g s))`` is a cancelling sum: it is measured against the scale of its terms
(``parity.tolerances.CONDITION_SCALE``), which absorbs round-off but not a wrong backward."""
import numpy as np
import pytest

from numpy_models import activations
from numpy_models.activation_layers import Softmax
from numpy_models.core import Activation
from parity import ParityError, assert_all_passed
from parity.checks import check_backward
from parity.checks.model_checks import make_inputs, numpy_model, upstream_gradient
from parity.checks.nodes import numpy_backward
from parity.checks.sum_terms import input_grad_scale
from parity.specs.model_spec import LayerConfig, ModelSpec, node

MSE = ("MeanSquaredError", {})
# Softmax over an axis of size 1: s = 1 and the input gradient is 0 in exact arithmetic. TensorFlow's float32
# softmax may return s = 1 - 2^-24 (an approximate reciprocal, AVX2 CPUs), its gradient then is +-2.4e-7.
SIZE_ONE = {
    "softmax_axis_list": (LayerConfig("Softmax", {"axis": [2]}, "softmax"),),
    "softmax_axis_int": (LayerConfig("Softmax", {"axis": 2}, "softmax"),),
    "activation_softmax": (LayerConfig("Activation", {"activation": "softmax"}, "softmax"),),
}
GRAPH = ModelSpec("softmax_of_input", (node("Softmax", "softmax", ("input",), axis=[2]),), (3, 1), MSE, batch_size=3)


def _spec(layers, shape=(3, 1)):
    return ModelSpec("softmax_condition", layers, shape, MSE, batch_size=3)


def _terms_by_loops(s, g, axes):
    """sum of |terms| of each element of s (g - sum_axes(g s)), term by term: s_i g_i and each s_i s_j g_j."""
    rest = [a for a in range(s.ndim) if a not in axes]
    s_rows = np.moveaxis(s, rest + list(axes), range(s.ndim)).reshape(-1, int(np.prod([s.shape[a] for a in axes])))
    g_rows = np.moveaxis(g, rest + list(axes), range(s.ndim)).reshape(s_rows.shape)
    out = []
    for s_row, g_row in zip(s_rows, g_rows):
        for i in range(len(s_row)):
            out.append(abs(s_row[i] * g_row[i]) + sum(abs(s_row[i] * s_row[j] * g_row[j]) for j in range(len(s_row))))
    return max(out)


@pytest.mark.parametrize("case", SIZE_ONE)
def test_softmax_over_a_size_one_axis_passes_in_float32(case):
    comparisons = check_backward(_spec(SIZE_ONE[case]), "float32")
    assert_all_passed(comparisons)
    grad = next(c for c in comparisons if c.name == "softmax:input_grad")
    dout = upstream_gradient(_spec(SIZE_ONE[case]), (None, 3, 1), "float32", 0)
    assert grad.scale == pytest.approx(2 * np.abs(dout).max())  # s = 1: s |g| + s sum(s |g|) = 2 |g|


def test_a_graph_softmax_of_the_input_passes_in_float32():
    assert_all_passed(check_backward(GRAPH, "float32"))


@pytest.fixture(params=["dout_times_s", "half_subtraction"])
def wrong_softmax_backward(request, monkeypatch):
    """A softmax backward that drops (or halves) its cancelling subtraction, in the Softmax layer and the activation."""
    def buggy(x, y, dout):
        return dout * y if request.param == "dout_times_s" else y * (dout - 0.5 * (dout * y).sum(-1, keepdims=True))

    monkeypatch.setattr(Softmax, "backward_call", lambda self, dout: buggy(None, self._cache[1], dout))
    monkeypatch.setitem(activations.ACTIVATIONS, "softmax", (activations.ACTIVATIONS["softmax"][0], buggy))


@pytest.mark.parametrize("shape", [(3, 1), (3, 4)], ids=["size_one_axis", "size_four_axis"])
@pytest.mark.parametrize("case", ["softmax_axis_int", "activation_softmax"])
def test_a_wrong_softmax_backward_still_fails_its_input_gradient(wrong_softmax_backward, case, shape):
    with pytest.raises(ParityError, match=r"first: softmax:input_grad"):
        assert_all_passed(check_backward(_spec(SIZE_ONE[case], shape), "float32"))


def test_a_wrong_softmax_backward_fails_in_a_graph(wrong_softmax_backward):
    with pytest.raises(ParityError, match=r"first: input:input_grad"):
        assert_all_passed(check_backward(GRAPH, "float32"))


@pytest.mark.parametrize("layer, axes", [(Softmax(axis=[1, 3]), (1, 3)), (Softmax(axis=2), (2,)),
                                         (Activation("softmax"), (3,))], ids=["two_axes", "one_axis", "activation"])
def test_the_scale_is_the_largest_sum_of_the_terms_of_an_element(layer, axes):
    rng = np.random.default_rng(0)
    x, g = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((2, 3, 4, 5))
    layer.build(x.shape)
    s = layer.call(x)
    assert input_grad_scale(layer, g, layer._cache) == pytest.approx(_terms_by_loops(s, g, axes), rel=1e-12)


def test_other_layers_and_missing_gradients_have_no_scale():
    relu, softmax = Activation("relu"), Softmax()
    x = np.ones((2, 3))
    relu.build(x.shape), softmax.build(x.shape)
    relu.call(x), softmax.call(x)
    assert input_grad_scale(relu, x, relu._cache) == 0.0 and input_grad_scale(softmax, None, softmax._cache) == 0.0


def test_graph_scales_are_keyed_by_the_compared_gradient_and_summed_over_consumers():
    """A tensor feeding two softmax nodes: its output_grad's scale is the sum of theirs; the input's is 0."""
    spec = ModelSpec("two_softmaxes", (node("Activation", "pre", ("input",), activation="tanh"),
                                       node("Softmax", "a", ("pre",), axis=[1, 2]),
                                       node("Activation", "b", ("pre",), activation="softmax"),
                                       node("Add", "add", ("a", "b"))), (3, 4), MSE, batch_size=3)
    model = numpy_model(spec, "float64")
    model.forward(make_inputs(spec, "float64", 0))
    dout = upstream_gradient(spec, (None, 3, 4), "float64", 0)
    _, _, floors = numpy_backward(model, dout)
    s_a, s_b = (model._cache[0][id(n.outputs[0])] for n in model._nodes[1:3])
    expected = _terms_by_loops(s_a, dout, (1, 2)) + _terms_by_loops(s_b, dout, (2,))
    assert floors["pre:output_grad"] == pytest.approx(expected, rel=1e-12)
    assert "input:input_grad" not in floors and not any(k.endswith("/input_grad") for k in floors)
