"""Functional graphs in NumPy alone: gradients by finite differences, sharing, fan-out, files, configs."""
import numpy as np
import pytest

import numpy_models as nm
from parity.compare import compare
from parity.gradcheck.finite_differences import probe_direction
from parity.tolerances import tolerance


def _block(x, prefix):
    """conv-BN-tanh-conv-BN + identity, tanh (smooth: no kinks for finite differences)."""
    h = nm.Conv2D(3, 3, padding="same", name=f"{prefix}_c1")(x)
    h = nm.Activation("tanh", name=f"{prefix}_a1")(nm.BatchNormalization(name=f"{prefix}_bn1")(h))
    h = nm.BatchNormalization(name=f"{prefix}_bn2")(nm.Conv2D(3, 3, padding="same", name=f"{prefix}_c2")(h))
    return nm.Activation("tanh", name=f"{prefix}_out")(nm.Add(name=f"{prefix}_add")([h, x]))


def graph_model():
    """Residual block, inception concat, fan-out, a shared Dense, a nested model, two inputs and two outputs."""
    img, vec = nm.Input((6, 6, 3), name="img"), nm.Input((4,), name="vec")
    h = _block(img, "res")
    branches = [nm.Conv2D(2, 1, name="b1")(h), nm.Conv2D(2, 3, padding="same", name="b3")(h),
                nm.Conv2D(2, 5, padding="same", name="b5")(h),
                nm.AveragePooling2D(3, strides=1, padding="same", name="pool")(h)]
    h = nm.GlobalAveragePooling2D(name="gap")(nm.Concatenate(name="cat")(branches))
    shared = nm.Dense(4, activation="tanh", name="shared")
    inner_in = nm.Input((4,), name="inner_in")
    inner = nm.Model(inner_in, nm.Dense(4, activation="tanh", name="inner_dense")(inner_in), name="inner")
    a, b = shared(nm.Dense(4, name="proj")(h)), shared(inner(vec))
    merged = [nm.Maximum(name="max")([a, b]), nm.Multiply(name="mul")([a, b]), nm.Subtract(name="sub")([a, b])]
    out1 = nm.Dense(3, name="head1")(nm.Concatenate(name="cat2")(merged))
    out2 = nm.Dense(2, name="head2")(nm.Average(name="avg")([a, b, nm.Minimum(name="min")([a, b])]))
    model = nm.Model([img, vec], [out1, out2], name="graph")
    model.cast("float64")
    return model


@pytest.fixture(scope="module")
def model_and_data():
    model = graph_model()
    rng = np.random.default_rng(0)
    for key, w in model.params.items():
        w[...] = rng.normal(0.0, 0.5, w.shape)
    xs = [rng.standard_normal((3, 6, 6, 3)), rng.standard_normal((3, 4))]
    douts = [rng.standard_normal((3, 3)), rng.standard_normal((3, 2))]
    return model, xs, douts


def _objective(model, xs, douts):
    def f():
        ys = model.forward(xs, training=False)
        return float(sum(np.sum(y * d) for y, d in zip(ys, douts, strict=True))), model.kink_signature()
    return f


def _check_direction(name, objective, array, analytic, rng):
    direction = rng.standard_normal(array.shape)
    numeric, kink = probe_direction(objective, array, direction)
    assert not kink, f"{name}: finite differences straddle a kink"
    result = compare(np.asarray(np.sum(analytic * direction)), np.asarray(numeric), name,
                     tolerance("float64", "finite_difference"), labels=("analytic", "numeric"))
    assert result.passed, result.message()


def test_weight_gradients_match_finite_differences(model_and_data):
    model, xs, douts = model_and_data
    model.forward(xs)
    model.backward(douts)
    grads = {k: v.copy() for k, v in model.grads.items()}
    rng = np.random.default_rng(1)
    for key, array in model.params.items():
        _check_direction(key, _objective(model, xs, douts), array, grads[key], rng)


def test_input_gradients_match_finite_differences(model_and_data):
    model, xs, douts = model_and_data
    model.forward(xs)
    dxs = model.backward(douts)
    rng = np.random.default_rng(2)
    for x, dx, name in zip(xs, dxs, ("img", "vec"), strict=True):
        _check_direction(name, _objective(model, xs, douts), x, dx, rng)


def test_shared_layer_gradient_is_the_sum_over_its_calls():
    x = nm.Input((3,), name="x")
    shared = nm.Dense(2, name="d")
    model = nm.Model(x, nm.Add(name="add")([shared(x), shared(nm.Dense(3, name="pre")(x))]), name="m")
    rng = np.random.default_rng(0)
    data, dout = rng.standard_normal((4, 3)).astype("float32"), rng.standard_normal((4, 2)).astype("float32")
    model.forward(data)
    model.backward(dout)
    pre = data @ model.params["pre/kernel"] + model.params["pre/bias"]
    expected = data.T @ dout + pre.T @ dout
    result = compare(model.grads["d/kernel"], expected, "d/kernel", tolerance("float32"), labels=("graph", "by hand"))
    assert result.passed, result.message()


@pytest.mark.parametrize("layer_class", [nm.Maximum, nm.Minimum], ids=["Maximum", "Minimum"])
def test_ties_send_the_gradient_to_the_earliest_input(layer_class):
    x = np.array([[1.0, 2.0, 3.0]])
    dxs = layer_class(name="sel")
    dxs.forward([x, x.copy(), x.copy()])
    grads = dxs.backward(np.ones_like(x))
    assert [g.tolist() for g in grads] == [[[1.0, 1.0, 1.0]], [[0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0]]]


@pytest.mark.parametrize("make, message", [
    (lambda a, b: nm.Add(name="bad_add")([a, b]), "same shape"),
    (lambda a, b: nm.Subtract(name="bad_sub")([a, a, a]), "exactly 2"),
    (lambda a, b: nm.Concatenate(axis=1, name="bad_cat")([nm.Input((2, 3)), nm.Input((2, 4))]), "every axis but 1"),
], ids=["add-shapes", "subtract-arity", "concat-axis"])
def test_merge_shape_errors_name_the_layer(make, message):
    a, b = nm.Input((3,)), nm.Input((4,))
    with pytest.raises(ValueError, match=message):
        make(a, b)


def test_disconnected_graph_is_refused():
    a, b = nm.Input((3,), name="a_in"), nm.Input((3,), name="b_in")
    out = nm.Add(name="ab")([a, b])
    with pytest.raises(ValueError, match="Graph disconnected: input 'b_in'"):
        nm.Model(a, out)


def test_sequential_records_its_linear_graph_and_nests():
    seq = nm.Sequential([nm.Dense(3, activation="tanh", name="s1"), nm.Dense(2, name="s2")], name="seq")
    x = nm.Input((4,), name="x")
    model = nm.Model(x, nm.Dense(2, name="after")(seq(x)), name="outer")
    assert [n.layer.name for n in seq._nodes] == ["s1", "s2"]
    assert list(model.weights)[:2] == ["seq/s1/kernel", "seq/s1/bias"]
    data = np.random.default_rng(0).standard_normal((5, 4)).astype("float32")
    expected = model.get_layer("after").forward(seq.forward(data))
    np.testing.assert_array_equal(model.forward(data), expected)


def test_config_round_trip_rebuilds_the_same_function(model_and_data):
    model, xs, _ = model_and_data
    rebuilt = nm.model_from_config(model.get_config())
    rebuilt.set_weights(model.get_weights())
    assert rebuilt.get_config() == model.get_config()
    for a, b in zip(rebuilt.forward(xs), model.forward(xs), strict=True):
        np.testing.assert_array_equal(a, b)


def test_weights_file_round_trip_and_errors(model_and_data, tmp_path):
    model, xs, _ = model_and_data
    path = tmp_path / "w.npz"
    model.save_weights(path)
    twin = graph_model()
    twin.load_weights(path)
    for a, b in zip(twin.forward(xs), model.forward(xs), strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(FileNotFoundError, match="no weights file"):
        twin.load_weights(tmp_path / "missing.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a readable .npz"):
        twin.load_weights(tmp_path / "bad.npz")
    np.savez(tmp_path / "short.npz", **{"head1/kernel": np.zeros((2, 2))})
    with pytest.raises(ValueError, match="missing"):
        twin.load_weights(tmp_path / "short.npz")


def test_loss_with_two_outputs_and_loss_weights_matches_finite_differences(model_and_data):
    model, xs, _ = model_and_data
    rng = np.random.default_rng(3)
    ys = [rng.standard_normal((3, 3)), rng.standard_normal((3, 2))]
    loss, weights = nm.losses.MeanSquaredError(), [1.0, 0.25]

    def objective():
        return float(model.compute_loss(loss, ys, model.forward(xs), loss_weights=weights)), model.kink_signature()
    model.backward_loss(loss, ys, model.forward(xs), loss_weights=weights)
    grads = {k: v.copy() for k, v in model.grads.items()}
    for key in ("head1/kernel", "head2/kernel", "shared/kernel", "res_c1/kernel"):
        _check_direction(key, objective, model.params[key], grads[key], rng)


def test_optimizer_updates_the_model_in_place(model_and_data):
    model, xs, douts = model_and_data
    before = {k: v.copy() for k, v in model.params.items()}
    model.forward(xs, training=True)
    model.backward(douts)
    nm.optimizers.Adam(learning_rate=0.01).update(model.params, model.grads)
    assert all(not np.array_equal(before[k], v) for k, v in model.params.items())


def test_an_intermediate_tensor_can_be_a_model_input():
    x = nm.Input((3,), name="x")
    hidden = nm.Dense(4, name="first")(x)
    head = nm.Model(hidden, nm.Dense(2, name="second")(hidden), name="head")
    assert [l.name for l in head.layers] == ["second"]
    data = np.random.default_rng(0).standard_normal((2, 4)).astype("float32")
    np.testing.assert_array_equal(head.forward(data), head.get_layer("second").forward(data))


@pytest.mark.parametrize("merge", ["add", "concatenate"])
def test_inputs_of_different_batch_sizes_are_refused_naming_each(merge):
    """A merge layer would broadcast a batch of 1 against 6 (walkthrough 2): refused at the model boundary."""
    a, b = nm.Input((4,), name="a"), nm.Input((4,), name="b")
    joined = nm.Add(name="j")([a, b]) if merge == "add" else nm.Concatenate(name="j")([a, b])
    model = nm.Model([a, b], nm.Dense(2, name="o")(joined), name="two_in")
    x = np.ones((6, 4))
    with pytest.raises(ValueError, match=r"Model 'two_in': every input must have the same batch size.*"
                                         r"Received: batch sizes \{'a': 6, 'b': 1\}"):
        model.forward([x, x[:1]])


def test_a_built_sequential_rebuilt_from_its_config_is_built_and_runs():
    """As keras.Sequential.from_config(get_config()) (walkthrough 2: the rebuilt model was unbuilt)."""
    model = nm.Sequential([nm.Dense(3, name="h"), nm.Dense(2, name="o")]).build((None, 4), seed=0)
    rebuilt = nm.model_from_config(model.get_config())
    assert rebuilt.built and rebuilt.input_shape == (None, 4)
    rebuilt.set_weights(model.get_weights())
    x = np.ones((2, 4), "float32")
    np.testing.assert_array_equal(rebuilt.forward(x), model.forward(x))
    assert "build_input_shape" not in nm.Sequential([nm.Dense(3)]).get_config()  # unbuilt: rebuilt unbuilt


def test_loss_weights_as_a_dict_name_the_outputs_as_in_keras():
    """{output name: weight} equals the list in output order; a dict missing an output or a non-number is refused
    naming loss_weights (walkthrough 2: a TypeError 'can't multiply sequence')."""
    a = nm.Input((4,), name="a")
    h = nm.Dense(3, name="h")(a)
    model = nm.Model(a, [nm.Dense(2, activation="softmax", name="o1")(h), nm.Dense(1, name="o2")(h)], name="two_out")
    ys = model.forward(np.random.default_rng(0).standard_normal((6, 4)))
    targets = [np.eye(2)[[0, 1, 0, 1, 0, 1]], np.zeros((6, 1))]
    losses = [nm.losses.CategoricalCrossentropy(), nm.losses.MeanSquaredError()]
    assert model.compute_loss(losses, targets, ys, loss_weights={"o2": 0.5, "o1": 1.0}) == \
        model.compute_loss(losses, targets, ys, loss_weights=[1.0, 0.5])
    with pytest.raises(ValueError, match=r"loss_weights as a dict names every output \['o1', 'o2'\]"):
        model.compute_loss(losses, targets, ys, loss_weights={"o1": 1.0})
    with pytest.raises(ValueError, match=r"loss_weights must be numbers, one per output. Received: loss_weights=\['x'"):
        model.compute_loss(losses, targets, ys, loss_weights=["x", 1.0])
