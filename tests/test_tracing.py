"""keras_models.trace_any_batch: one trace per step function, and the same numbers as Keras's own tracing."""
import numpy as np
import pytest

from keras_models import compile_model, evaluate, keras_dtype, trace_any_batch, train_on_batch
from keras_models.tracing import _ATTRIBUTE, _step_function, call_concrete, run_traced
from parity.checks.optimizer_settings import OptimizerSetting, keras_optimizer
from parity.specs import SPECS
from parity.training.datasets import load_digits
from parity.training.experiments import _deep_mlp
from parity.twins import build_twins, keras_loss

ADAM = OptimizerSetting("adam", "Adam", {"learning_rate": 0.003})
BATCHES = (32, 32, 11, 32)  # a ragged batch between full ones: Keras alone traces the step twice


def _compiled(spec, dtype):
    k_model = build_twins(spec, dtype, 0)[1]
    compile_model(k_model, keras_optimizer(ADAM, dtype), keras_loss(spec, dtype))
    return k_model


def _train(spec, dtype, x, y, traced_up_front):
    """Per-step losses, final variables and (loss, probabilities) of an evaluation in two chunk sizes."""
    k_model = _compiled(spec, dtype)
    if traced_up_front:
        assert trace_any_batch(k_model, x, y)
    starts = np.cumsum((0,) + BATCHES)
    losses = [train_on_batch(k_model, x[a:b], y[a:b]) for a, b in zip(starts[:-1], starts[1:], strict=True)]
    return losses, [v.numpy() for v in k_model.variables], evaluate(k_model, x, y, batch=60), k_model


_TRAINED = {}
MLP = _deep_mlp(64, "bn_dropout_l2")


def _shares_run(spec, dtype):
    """The xdist group of the tests reading ``_trained(spec, dtype, ...)``: one worker trains it once."""
    return pytest.mark.xdist_group(f"tracing-{spec.id}-{dtype}")


def _trained(spec, dtype, traced_up_front):
    """``_train`` on ``_digits``, run once per process for each spec, dtype and way of tracing: deterministic, and
    two tests read the same run (the returned model is only read)."""
    key = (spec.id, dtype, traced_up_front)
    if key not in _TRAINED:
        _TRAINED[key] = _train(spec, dtype, *_digits(spec, dtype), traced_up_front=traced_up_front)
    return _TRAINED[key]


def _digits(spec, dtype):
    d = load_digits()
    x = d.x_train[:sum(BATCHES)].astype(dtype)
    return (x.reshape(len(x), -1) if len(spec.input_shape) == 1 else x), d.y_train[:sum(BATCHES)]


@pytest.mark.parametrize("spec, dtype", [
    pytest.param(spec, dtype, id=f"{spec.id}-{dtype}", marks=_shares_run(spec, dtype) if spec is MLP else ())
    for spec in (MLP, SPECS["lenet_digits_8"]) for dtype in ("float32", "float64")])
def test_training_and_evaluation_are_bit_identical_to_kerass_own_tracing(spec, dtype):
    own, relaxed = _trained(spec, dtype, traced_up_front=False), _trained(spec, dtype, traced_up_front=True)
    assert own[0] == relaxed[0]
    for before, after in zip(own[1], relaxed[1], strict=True):
        np.testing.assert_array_equal(before, after)
    assert own[2][0] == relaxed[2][0]
    np.testing.assert_array_equal(own[2][1], relaxed[2][1])


def _state(k_model):
    """Every variable a step touches: weights, moving statistics, seed states, optimizer slots, metrics."""
    return [v.numpy() for v in k_model.variables + k_model.optimizer.variables + k_model.metrics_variables]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_one_call_steps_match_kerass_own_on_batch_methods_bit_for_bit(dtype):
    """The traced metrics reset and step against Keras's own ``train_on_batch``, ``test_on_batch`` and
    ``predict_on_batch`` on a twin, step after step: every log (loss and accuracy: a skipped reset would report a
    running mean), every variable and every prediction equal."""
    spec = _deep_mlp(64, "bn_dropout_l2")
    x, y = _digits(spec, dtype)
    own, traced = _compiled(spec, dtype), _compiled(spec, dtype)
    assert trace_any_batch(traced, x, y)
    starts = np.cumsum((0,) + BATCHES)
    for a, b in [*zip(starts[:-1], starts[1:], strict=True)] * 2:  # two epochs of the same batches
        with keras_dtype(dtype):
            expected = own.train_on_batch(x[a:b], y[a:b], return_dict=True)
        logs = run_traced(traced, "train", x[a:b], y[a:b])
        assert {name: float(value) for name, value in logs.items()} == expected
        for before, after in zip(_state(own), _state(traced), strict=True):
            np.testing.assert_array_equal(before, after)
    for chunk in (slice(0, 60), slice(60, None)):
        with keras_dtype(dtype):
            expected, probabilities = own.test_on_batch(x[chunk], y[chunk], return_dict=True), own.predict_on_batch(x[chunk])
        logs, predictions = run_traced(traced, "test", x[chunk], y[chunk])
        assert {name: float(value) for name, value in logs.items()} == expected
        np.testing.assert_array_equal(probabilities, predictions.numpy())


def test_a_second_trace_of_the_same_model_keeps_the_first():
    spec = _deep_mlp(64, "bn")
    x, y = _digits(spec, "float32")
    k_model = _compiled(spec, "float32")
    trace_any_batch(k_model, x, y)
    first = dict(getattr(k_model, _ATTRIBUTE))
    trace_any_batch(k_model, x[:7], y[:7])
    assert getattr(k_model, _ATTRIBUTE) == first
    compile_model(k_model, keras_optimizer(ADAM, "float32"), keras_loss(spec, "float32"))
    trace_any_batch(k_model, x, y)
    assert all(getattr(k_model, _ATTRIBUTE)[kind][2] is not first[kind][2] for kind in ("train", "test"))


@_shares_run(MLP, "float32")
def test_ragged_batches_and_chunks_reuse_the_one_trace():
    k_model = _trained(MLP, "float32", traced_up_front=True)[3]
    for kind in ("train", "test"):
        step = _step_function(getattr(k_model, f"{kind}_function"))
        assert {f.structured_input_signature[0][0][0].shape[0] for f in step._list_all_concrete_functions()} == {None}


def test_the_train_step_is_traced_once_when_the_optimizer_is_built():
    """The test step is traced first and builds the metrics: the train step creates no variable, so tf.function
    traces it once (twice when its trace creates the metrics)."""
    spec = _deep_mlp(64, "bn_dropout_l2")
    x, y = _digits(spec, "float32")
    k_model = _compiled(spec, "float32")
    k_model.optimizer.build(k_model.trainable_variables)  # as parity.training.reuse builds it
    assert trace_any_batch(k_model, x, y)
    assert _step_function(k_model.train_function).experimental_get_tracing_count() == 1


def test_a_model_run_eagerly_is_left_to_keras():
    k_model = _compiled(_deep_mlp(64, "bn"), "float32")
    k_model.run_eagerly = True
    assert not trace_any_batch(k_model, np.zeros((4, 64), "float32"), np.zeros(4, "int64"))
    assert k_model.train_function is None


def test_the_traced_step_serves_only_its_own_compile_and_input_types():
    spec = _deep_mlp(64, "bn")
    x, y = _digits(spec, "float32")
    k_model = _compiled(spec, "float32")
    trace_any_batch(k_model, x, y)
    assert run_traced(k_model, "train", x[:5], y[:5]) is not None
    assert run_traced(k_model, "train", x[:5].astype("float64"), y[:5]) is None  # Keras's own path converts it
    compile_model(k_model, keras_optimizer(ADAM, "float32"), keras_loss(spec, "float32"))  # a new optimizer
    assert run_traced(k_model, "train", x[:5], y[:5]) is None


def test_a_traced_model_is_freed_with_its_traces():
    import gc
    import weakref

    spec = _deep_mlp(64, "bn")
    x, y = _digits(spec, "float32")
    k_model = _compiled(spec, "float32")
    trace_any_batch(k_model, x, y)
    train_on_batch(k_model, x[:32], y[:32])
    alive = weakref.ref(k_model)
    del k_model
    gc.collect()
    assert alive() is None


@_shares_run(MLP, "float64")
def test_where_keras_moved_its_step_function_keras_trains_as_always(monkeypatch):
    from keras_models import tracing

    spec = MLP
    x, y = _digits(spec, "float64")
    own = _trained(spec, "float64", traced_up_front=False)
    monkeypatch.setattr(tracing, "_step_function", lambda function: None)
    k_model = _compiled(spec, "float64")
    assert not trace_any_batch(k_model, x, y) and run_traced(k_model, "train", x[:32], y[:32]) is None
    fallen_back = _train(spec, "float64", x, y, traced_up_front=False)
    assert own[0] == fallen_back[0] and own[2][0] == fallen_back[2][0]


class _PublicCallOnly:
    """A concrete function as a TensorFlow without the flat call would offer it."""

    def __init__(self, concrete):
        self.concrete, self.calls = concrete, 0

    def __call__(self, *args):
        self.calls += 1
        return self.concrete(*args)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_flat_call_returns_what_the_public_call_returns(dtype):
    """``call_concrete`` skips only the binding of arguments to the signature: the test step's logs and
    predictions through it equal those of the concrete function's own call, bit for bit; without a flat call
    (another TensorFlow) the public call is made."""
    spec = SPECS["lenet_digits_8"]
    x, y = _digits(spec, dtype)
    k_model = _compiled(spec, dtype)
    assert trace_any_batch(k_model, x, y)
    concrete = getattr(k_model, _ATTRIBUTE)["test"][2]
    (flat_logs, flat_probs), (own_logs, own_probs) = call_concrete(concrete, x, y), concrete(x, y)
    assert {k: float(v) for k, v in flat_logs.items()} == {k: float(v) for k, v in own_logs.items()}
    np.testing.assert_array_equal(np.asarray(flat_probs), np.asarray(own_probs))
    public = _PublicCallOnly(concrete)
    call_concrete(public, x, y)
    assert public.calls == 1
