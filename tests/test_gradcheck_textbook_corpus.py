"""The gradient checker on textbook-style code: correct code passes, planted bugs are flagged and explained.

The default run checks 12 randomised cases of each correct class and 3 of each planted bug; the 1,000+ case
sweep is ``python -m benchmarks.gradcheck_corpus`` (or ``PARITY_SLOW=1 pytest -m slow`` for the same sweep
as a test).
"""
import json
import os

import numpy as np
import pytest

from parity import assert_gradients_ok, gradcheck_net
from parity.compare import compare
from parity.tolerances import tolerance
from tests import textbook_cases as cases
from tests import textbook_corpus as tc

SEEDS, PLANTED_SEEDS, SLOW_SEEDS = 12, 3, 100
CORRECT = [(name, seed) for name in cases.CORRECT for seed in range(SEEDS)]
PLANTED = [(name, seed) for name in cases.PLANTED for seed in range(PLANTED_SEEDS)]


def _correct(name, seed):
    return cases.CORRECT[name](np.random.default_rng([seed, len(name)]))


@pytest.mark.parametrize("name, seed", CORRECT, ids=[f"{n}-{s}" for n, s in CORRECT])
def test_correct_textbook_code_passes(name, seed):
    result = _correct(name, seed).run(seed)
    assert result.ok, str(result)


@pytest.mark.parametrize("name, seed", PLANTED, ids=[f"{n}-{s}" for n, s in PLANTED])
def test_planted_bug_is_flagged_naming_the_parameter_and_the_cause(name, seed):
    case = cases.PLANTED[name](np.random.default_rng([seed, len(name), 7]))
    result = case.run(seed)
    flagged, cause_right = cases.planted_verdict(case, result)
    assert flagged, str(result)
    assert cause_right, str(result)


def test_every_correct_class_is_in_the_default_sample_and_the_sample_is_about_150():
    assert {n for n, _ in CORRECT} == set(cases.CORRECT) and len(CORRECT) + len(PLANTED) >= 150


def test_a_correct_bias_whose_every_element_straddles_packed_kinks_is_a_hazard_not_a_failure():
    """std 0.01 weights: b3 moves many ReLU inputs near 0 within the smallest step; nothing is comparable."""
    result = _correct("weight_decay_net", 7).run(7)
    assert result.ok and result["b3"].unverified, str(result)
    assert [h.split(":")[0] for h in result.hazards] == ["b3"]


def test_loss_epsilon_is_reported_as_such_not_as_a_wrong_gradient():
    result = _correct("loss_epsilon_net", 0).run(0)
    assert result.ok, str(result)
    causes = {p.name: p.likely_cause for p in result.params if p.likely_cause is not None}
    assert causes and all(c.name == "loss_epsilon" and c.explains_away and c.value == 1e-7 for c in causes.values())
    assert "Not a bug in the backward" in str(result) and "FAILED" not in str(result)
    data = json.loads(result.to_json())
    assert any(p["likely_cause"] and p["likely_cause"]["name"] == "loss_epsilon" for p in data["params"])


def test_bn_dropout_net_loss_runs_in_the_gradients_mode_and_its_statistics_stay_untouched():
    case = _correct("bn_dropout_net", 3)
    net = case.subject
    net.loss(*case.args, train_flg=True)  # running statistics exist
    before = {k: (v.running_mean.copy(), v.running_var.copy()) for k, v in net.layers.items() if k.startswith("Batch")}
    result = gradcheck_net(net, *case.args)
    assert result.ok, str(result)
    assert any("train_flg=True" in n and "dropout masks held fixed" in n for n in result.notes)
    assert all(np.array_equal(net.layers[k].running_mean, m) and np.array_equal(net.layers[k].running_var, v)
               for k, (m, v) in before.items())


def test_the_784_50_10_net_checks_b1_without_false_kink_alarms():
    result = _correct("two_layer_net_784", 0).run(0)
    assert result.ok, str(result)
    assert result["b1"].direction["kink_handling"] in {"none", "smaller_step", "reprobed_without_kinks",
                                                           "coordinate_fallback"}


def test_hazard_is_reported_apart_from_the_verdict_and_fails_only_when_strict():
    from tests import textbook_layers as tb

    x = np.random.default_rng(0).standard_normal((4, 5))
    result = assert_gradients_ok(tb.WritesIntoDout(), x)  # a correct gradient
    assert result.ok and result.hazards and str(result).splitlines()[1].startswith("  HAZARD: backward() wrote")
    with pytest.raises(AssertionError, match="HAZARD"):
        assert_gradients_ok(tb.WritesIntoDout(), x, strict=True)
    with pytest.raises(AssertionError, match="strict: hazards fail"):
        assert_gradients_ok(result, strict=True)


def test_a_planted_routing_bug_names_its_cause_with_evidence_in_json():
    case = cases.pool_routes_to_min(np.random.default_rng(0))
    result = case.run(0)
    cause = json.loads(result.to_json())["params"][-1]["likely_cause"]
    assert cause["name"] == "wrong_routing" and "routed to the wrong element" in cause["evidence"]
    assert result["dx"].likely_cause.fit_rel_err <= 1e-3


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("PARITY_SLOW"), reason="1,000-case sweep: set PARITY_SLOW=1 (or run "
                    "python -m benchmarks.gradcheck_corpus)")
def test_no_false_alarm_over_1000_correct_cases():
    alarms = [(name, seed) for name in cases.CORRECT for seed in range(SLOW_SEEDS) if not _correct(name, seed).run(seed).ok]
    assert len(cases.CORRECT) * SLOW_SEEDS >= 1000 and not alarms, alarms


def test_textbook_conv_layer_matches_its_im2col_definition():
    """The corpus conv is itself right: a direct sum over the window agrees with the im2col forward."""
    rng = np.random.default_rng(5)
    w, b, x = rng.standard_normal((2, 3, 3, 3)), rng.standard_normal(2), rng.standard_normal((2, 3, 5, 6))
    out = tc.Convolution(w, b).forward(x)
    direct = np.einsum("nchwij,fcij->nfhw", np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(2, 3)), w)
    assert compare(out, direct + b[None, :, None, None], "conv", tolerance("float64")).passed
