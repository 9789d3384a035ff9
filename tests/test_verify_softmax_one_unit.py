"""A softmax over an axis of size 1 (``Dense(1, activation="softmax")``, a ``Softmax`` over a one-entry axis) outputs
1.0 for every input, so every gradient through it is 0: verify names that layer and the fix (``result.hints``, the
Markdown report, the command line), whatever its verdict, and says nothing of the kind for a well-formed output."""
import json

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import numpy_models as nm  # noqa: E402
from parity import verify  # noqa: E402
from parity.cli import main  # noqa: E402
from parity.verify.hints import model_hints  # noqa: E402
from parity.verify.layers import as_graph  # noqa: E402
from parity.verify.result import SOFTMAX_ONE_UNIT_ADVICE  # noqa: E402

pytestmark = [pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer"),
              pytest.mark.filterwarnings("ignore:You are using a softmax over axis")]  # Keras warns of it too
L = keras.layers
X = np.random.default_rng(0).standard_normal((16, 4)).astype("float32")  # >= 8 rows: TF's softmax gives 1 - 2**-24
Y = (np.random.default_rng(1).random((16, 1)) > 0.5).astype("float32")


def _advice(node, layer):
    return SOFTMAX_ONE_UNIT_ADVICE.format(node=node, layer=layer)


def _sequential(units, activation):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), L.Dense(3, activation="relu", name="h"),
                              L.Dense(units, activation=activation, name="out")])
    model.compile(loss="binary_crossentropy" if units == 1 else "mse", optimizer="adam")
    return model


def _functional(units, activation):
    keras.utils.set_random_seed(0)
    i = keras.Input((4,), name="x")
    model = keras.Model(i, L.Dense(units, activation=activation, name="out")(L.Dense(3, name="h")(i)))
    model.compile(loss="mse", optimizer="adam")
    return model


def test_a_sequential_one_unit_softmax_is_named_with_its_fix_in_the_result_and_the_report():
    result = verify(_sequential(1, "softmax"), X, Y, steps=1)
    hint = {"kind": "softmax_one_unit", "node": "out", "layer": "Dense", "axis": -1, "advice": _advice("out", "Dense")}
    assert result.hints == [hint]
    assert json.loads(result.to_json())["hints"] == [hint]
    assert f"- {hint['advice']}" in str(result).splitlines()
    assert "`sigmoid`" in hint["advice"] and ">= 2 units" in hint["advice"] and "1.0 for every input" in hint["advice"]


def test_a_functional_one_unit_softmax_is_named_on_the_command_line(tmp_path, capsys):
    _functional(1, "softmax").save(tmp_path / "m.keras")
    np.savez(tmp_path / "d.npz", x=X, y=Y)
    code = main(["verify", str(tmp_path / "m.keras"), "--data", str(tmp_path / "d.npz"), "--steps", "1",
                 "--out", str(tmp_path / "out")])
    report = json.loads((tmp_path / "out" / "verify.json").read_text())
    assert code == (0 if report["passed"] else 1)  # the verdict is verify's as ever: the hint only explains it
    printed = capsys.readouterr().out.splitlines()
    assert f"parity verify: {_advice('out', 'Dense')}" in printed[1:]
    assert [h["node"] for h in report["hints"]] == ["out"]
    assert _advice("out", "Dense") in (tmp_path / "out" / "verify.md").read_text()


@pytest.mark.parametrize("build", [_sequential, _functional])
@pytest.mark.parametrize("units, activation", [(2, "softmax"), (1, "sigmoid")])
def test_a_well_formed_output_gets_no_hint(build, units, activation, tmp_path, capsys):
    model = build(units, activation)
    result = verify(model, X, Y if units == 1 else np.tile(Y, 2), steps=0)
    assert result.hints == [] and "softmax over an axis of size 1" not in str(result)
    model.save(tmp_path / "m.keras")
    main(["verify", str(tmp_path / "m.keras"), "--steps", "0", "--out", str(tmp_path / "out")])
    assert "softmax over an axis of size 1" not in capsys.readouterr().out


def _graph(shape, *layers):
    return as_graph(nm.Sequential(list(layers)).build((None,) + shape, seed=0))


@pytest.mark.parametrize("shape, layer, hinted", [
    ((4,), nm.Dense(1, activation="softmax", name="s"), True),
    ((3, 4), nm.Dense(1, activation="softmax", name="s"), True),  # each of 3 rows a softmax over one unit
    ((4,), nm.Dense(2, activation="softmax", name="s"), False),
    ((3, 1), nm.Activation("softmax", name="s"), True),
    ((1, 3), nm.Activation("softmax", name="s"), False),
    ((3, 1), nm.Softmax(name="s"), True),
    ((1, 3), nm.Softmax(axis=1, name="s"), True),
    ((1, 3), nm.Softmax(name="s"), False),
    ((1, 1, 3), nm.Softmax(axis=[1, 2], name="s"), True),
    ((1, 2, 3), nm.Softmax(axis=[1, 2], name="s"), False),
    ((4,), nm.Dense(1, activation="sigmoid", name="s"), False),
], ids=["dense", "dense-3d", "dense-2-units", "activation", "activation-wide", "softmax", "softmax-axis-1",
        "softmax-other-axis", "softmax-axes", "softmax-axes-wide", "sigmoid"])
def test_the_twin_graph_names_each_softmax_over_one_entry(shape, layer, hinted):
    assert [h["node"] for h in model_hints(_graph(shape, layer))] == (["s"] if hinted else [])


def test_a_nested_models_softmax_is_named_by_its_path():
    inner = nm.Sequential([nm.Dense(1, activation="softmax", name="s")], name="inner").build((None, 4), seed=0)
    x = nm.Input((4,))
    graph = nm.Model(x, nm.Dense(2, name="after")(inner(x)))
    assert [(h["node"], h["layer"]) for h in model_hints(graph)] == [("inner/s", "Dense")]
