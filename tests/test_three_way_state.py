"""The three-way check evaluates its pristine twin in place, its state put back before every evaluation (issue 17):
the same numbers as a deep copy per evaluation."""
import copy

import numpy as np
import pytest

import numpy_models as nm
from parity.checks import three_way
from parity.checks.three_way import _Evaluation, _hold_masks, gradients_three_way_numpy, put_back, saved_state
from parity.specs import SPECS, make_inputs
from parity.twins import numpy_twin


class _DeepCopyEvaluation(_Evaluation):
    """The reference: every evaluation on a fresh deep copy of the pristine twin (what the check did before)."""

    def _run(self, signature):
        twin = copy.deepcopy(self.pristine)
        value = float(np.sum(twin.forward(self.x, training=self.training) * self.dout))
        return value, twin.kink_signature() if signature else None


def _dout(model, x, seed=1):
    return np.random.default_rng(seed).standard_normal(model.forward(x, training=False).shape)


def _states(model):
    return {k: v.copy() for k, v in model.state.items()}


def _nested_graph():
    """x -> inner graph (Dense, BatchNormalization) -> Dense: the moving statistics sit one model down."""
    a = nm.Input((4,), name="a")
    inner = nm.Model(a, nm.BatchNormalization(name="bn")(nm.Dense(5, name="d1")(a)), name="inner")
    x = nm.Input((4,), name="x")
    return nm.Model(x, nm.Dense(3, name="o")(inner(x)), name="outer")


def _dropout_mlp():
    """Dense -> Dropout (drawing from its own generator: nothing holds its mask) -> Dense."""
    model = nm.Sequential([nm.Dense(6, name="d0"), nm.Dropout(0.5, seed=3, name="drop"), nm.Dense(3, name="o")])
    return model.build((None, 4), seed=0)


@pytest.mark.parametrize("build", [lambda: numpy_twin(SPECS["resnet_digits_8"], "float64", 0), _nested_graph,
                                   _dropout_mlp], ids=["resnet_bn_graph", "nested_graph_bn", "dropout_generator"])
def test_every_evaluation_computes_what_a_fresh_deep_copy_does(build):
    model = build()
    x = make_inputs(SPECS["resnet_digits_8"], "float64", 0) if model.input_shape[1:] == (8, 8, 1) else \
        np.random.default_rng(0).standard_normal((6, 4))
    dout, start = _dout(model, x), _states(model)
    reference = _DeepCopyEvaluation(copy.deepcopy(model), x, dout, True)
    in_place = _Evaluation(model, x, dout, True)
    expected = reference._run(True)
    for _ in range(3):  # without the state put back, the statistics and the generator would move on each time
        value, signature = in_place._run(True)
        assert value == expected[0]
        assert all(np.array_equal(a, b) for a, b in zip(signature, expected[1], strict=True))
    once = copy.deepcopy(reference.pristine)
    once.forward(x, training=True)
    assert all(np.array_equal(model.state[k], v) for k, v in once.state.items())  # as after one forward
    put_back(in_place._saved)
    assert all(np.array_equal(model.state[k], v) for k, v in start.items())


def test_saved_state_finds_moving_statistics_in_nested_models_and_every_generator():
    saved = {layer.name for layer, _, _ in saved_state(_nested_graph())}
    assert saved == {"bn"}
    assert {layer.name for layer, _, generator in saved_state(_dropout_mlp()) if generator is not None} == {"drop"}


def test_inference_mode_saves_nothing():
    assert _Evaluation(_nested_graph(), None, None, False)._saved == []


def test_a_nested_dropout_keeps_the_analytic_passes_mask_in_every_evaluation():
    """Finite differences need one function: a nested Dropout must not draw a new mask per evaluation."""
    inner = nm.Sequential([nm.Dense(6, name="d1"), nm.Dropout(0.5, name="drop")], name="inner")
    model = nm.Sequential([nm.Dense(5, name="d0"), inner, nm.Dense(3, name="o")], name="outer").build((None, 4), seed=0)
    x = np.random.default_rng(0).standard_normal((6, 4))
    pristine = copy.deepcopy(model)
    y = model.forward(x, training=True)
    _hold_masks(model, pristine)
    evaluation = _Evaluation(pristine, x, np.ones_like(y), True)
    assert all(evaluation._run(False)[0] == float(np.sum(y)) for _ in range(3))


@pytest.mark.parametrize("spec_id", ["mlp_bn_784_100x4_10", "dense_dropout", "gaussian_noise_small",
                                     "resnet_basic_block"])
def test_three_way_probes_are_those_of_a_deep_copy_per_evaluation(spec_id, monkeypatch):
    spec = SPECS[spec_id]
    ours = gradients_three_way_numpy(spec, "float64", 0, training=True)
    monkeypatch.setattr(three_way, "_Evaluation", _DeepCopyEvaluation)
    theirs = gradients_three_way_numpy(spec, "float64", 0, training=True)
    assert ours["probes"].keys() == theirs["probes"].keys()
    for key, probes in ours["probes"].items():
        assert [(p.where, p.numeric, p.kink) for p in probes] == \
               [(p.where, p.numeric, p.kink) for p in theirs["probes"][key]], key
