"""The experiments' second round: each run still failing float64_kept+exact_cast re-run with the conventions
measured to change its twin, alone first, and explained by the first that passes.

The trainings are stand-ins here (``train`` returns rows whose verdict depends on the variant); the
conventions themselves are measured on the backends in ``tests/test_probability_crossentropy.py``.
"""
from parity.report.experiment_backends import FIRST, render_experiment_tables, second_round

RUNS = ("mlp_bn_sgd", "mlp_dropout_l2_adam")


def _row(run, variant, passed, conventions=None):
    row = {"experiment": "deep_mlps", "run": run, "dtype": "float64", "backend": "jax", "variant": variant,
           "numpy_test_acc": 0.9, "keras_test_acc": 0.9, "differing_test_predictions": 0,
           "max_rel_loss_diff": 1e-15 if passed else 1e-8, "passed": passed}
    return {**row, "conventions": conventions} if conventions is not None else row


def _trainer(needs):
    """A stand-in training: run ``r`` passes when its variant holds every convention in ``needs[r]``."""
    calls = []

    def train(backend, experiment, variant):
        calls.append((backend, experiment, variant))
        return [_row(r, variant, set(needs[r]) <= set(variant.split("+"))) for r in RUNS]
    return train, calls


def _failing_first():
    return [_row("mlp_bn_sgd", FIRST, False, ("probability_crossentropy",)),
            _row("mlp_dropout_l2_adam", FIRST, False, ("exact_constants", "probability_crossentropy"))]


def test_each_run_is_explained_by_the_first_convention_that_passes_alone():
    train, calls = _trainer({"mlp_bn_sgd": ["probability_crossentropy"], "mlp_dropout_l2_adam": ["exact_constants"]})
    rows = second_round(_failing_first(), train)
    assert [c[2] for c in calls] == [f"{FIRST}+exact_constants", f"{FIRST}+probability_crossentropy"]
    assert [(r["run"], r["variant"], r["passed"]) for r in rows] == [
        ("mlp_bn_sgd", f"{FIRST}+probability_crossentropy", True),
        ("mlp_dropout_l2_adam", f"{FIRST}+exact_constants", True)]


def test_all_conventions_together_only_when_none_alone_explains_a_run():
    train, calls = _trainer({"mlp_bn_sgd": ["probability_crossentropy"],
                             "mlp_dropout_l2_adam": ["exact_constants", "probability_crossentropy"]})
    rows = second_round(_failing_first(), train)
    both = f"{FIRST}+exact_constants+probability_crossentropy"
    assert [c[2] for c in calls][-1] == both and len(calls) == 3
    assert [(r["variant"], r["passed"]) for r in rows] == [(f"{FIRST}+probability_crossentropy", True),
                                                           (both, True)]


def test_an_unexplained_run_keeps_the_last_trial_and_passing_runs_are_not_retrained():
    train, calls = _trainer({"mlp_bn_sgd": ["float64_resize"], "mlp_dropout_l2_adam": []})
    rows = second_round([_row("mlp_bn_sgd", FIRST, False, ("probability_crossentropy",)),
                         _row("mlp_dropout_l2_adam", FIRST, True)], train)
    assert len(calls) == 1
    assert [(r["run"], r["variant"], r["passed"]) for r in rows] == [
        ("mlp_bn_sgd", f"{FIRST}+probability_crossentropy", False)]


def test_the_table_has_a_row_per_run_and_variant_and_names_each_cause_once():
    train, _ = _trainer({"mlp_bn_sgd": ["probability_crossentropy"], "mlp_dropout_l2_adam": ["exact_constants"]})
    first = _failing_first()
    text = render_experiment_tables([_row(r, None, False) for r in RUNS] + first + second_round(first, train))
    table = [line for line in text.splitlines() if line.startswith("| mlp_")]
    assert len(table) == 6 and len(set(table)) == 6
    causes = [line for line in text.splitlines() if line.startswith("- ")]
    assert [c.split(":")[0] for c in causes] == ["- float64_kept", "- exact_cast", "- probability_crossentropy",
                                                 "- exact_constants"]
    assert "_keras_logits" in text
