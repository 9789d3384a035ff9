"""``parity.verify``: does a NumPy twin agree with its Keras model, and if not, where does it first go wrong?

One call checks every layer's output and input gradient (chained and, with
``substitute=True``, each layer on the Keras inputs), the outputs, input and
weight gradients of the whole model (Keras autodiff, and finite differences on
a sample), and ``steps`` training steps with the compiled (or given) loss and
optimizer, then names the first divergence: layer, step and phase.
"""
import importlib.util
import time
import warnings

from numpy_models.conventions import conventions
from parity.convert import from_keras, to_keras
from parity.convert.compile import keras_loss_config, numpy_optimizer
from parity.convert.from_keras import compiled_loss, compiled_loss_weights
from parity.report import quiet
from parity.verify import data, divergence, gradients, h5, layers, masks, substitute, training
from parity.verify.backend import check_backend, run_on, running_backend
from parity.verify.finite_differences import check_finite_differences
from parity.verify.floors import Floors
from parity.verify.hints import model_hints
from parity.verify.keras_trace import trace
from parity.verify.result import VerifyResult, comparison_row, failed_checks


def keras_model(model, dtype=None, loss=None, optimizer=None, x=None):
    """(The Keras model to verify, in ``dtype``, compiled with ``loss``/``optimizer`` (or its own, or mse/adam);
    the input shapes its twin is built for: None, or x's where an input has dimensions of variable size)."""
    import keras  # imports TensorFlow

    from keras_models import model_dtype  # imports TensorFlow
    from keras_models.build import keras_dtype  # imports TensorFlow
    from keras_models.functional import load_model  # imports TensorFlow

    if isinstance(model, (str, bytes)) or hasattr(model, "__fspath__"):
        k_model = h5.load(str(model)) if str(model).endswith(".h5") else load_model(str(model))
    else:
        k_model = model
    # every unsupported layer refused up front; the compiled loss and optimizer are converted with the model
    # verify runs (they may be replaced below: --loss, --optimizer, or made anew in another dtype)
    shapes = data.twin_input_shapes(k_model, x)  # inputs of variable size: x's shape (refused without x)
    twin = from_keras(k_model, with_compiled=False, input_shapes=shapes)
    compiled = getattr(k_model, "compiled", False)
    own = model_dtype(k_model)
    dtype = str(dtype or own)
    if dtype == own and compiled and loss is None and optimizer is None:
        return k_model, shapes
    # the compiled loss weights go with the compiled loss (a list or a dict by output name), not with an override
    weights = compiled_loss_weights(k_model) if loss is None else None
    loss = loss or (_loss_in(k_model.loss, dtype) if compiled else "mse")
    old = k_model.optimizer if compiled else None
    if dtype != own:
        twin.cast(dtype)
        k_model = to_keras(twin)
    with keras_dtype(dtype):
        opt = keras.optimizers.get(optimizer) if optimizer else \
            (type(old).from_config(old.get_config()) if old is not None else keras.optimizers.Adam())
        k_model.compile(loss=loss, optimizer=opt, loss_weights=weights)
    return k_model, shapes


def _loss_in(loss, dtype):
    """The compiled ``loss`` for a recompile in ``dtype``: each Keras loss object made anew from its config in
    that dtype (Keras computes a loss object in the dtype it was made with); names and functions as they are."""
    if isinstance(loss, dict):
        return {name: _loss_in(item, dtype) for name, item in loss.items()}
    if isinstance(loss, (list, tuple)):
        return [_loss_in(item, dtype) for item in loss]
    if hasattr(loss, "get_config") and hasattr(loss, "dtype"):
        return type(loss).from_config({**keras_loss_config(loss), "dtype": dtype})
    return loss


def _twin(k_model, twin, input_shapes=None):
    twin = from_keras(k_model, input_shapes=input_shapes) if twin is None else twin
    if getattr(twin, "loss", None) is None:
        twin.loss, twin.loss_weights = compiled_loss(k_model)
    if getattr(twin, "optimizer", None) is None:
        twin.optimizer = numpy_optimizer(k_model.optimizer)
    twin.loss_weights = getattr(twin, "loss_weights", None)
    return twin


def _layer_checks(result, k_model, twin, xs, douts, use_substitute, floors):
    ref = trace(k_model, xs, douts, training=False)
    result.layers = layers.chained_rows(twin, ref, xs, douts, run=floors)
    found = {"chained": divergence.layer_divergence(twin, ref, result.layers, "chained", False)}
    if use_substitute:
        result.substitute_layers = substitute.substitute_rows(twin, ref, underflow=floors.underflow)
        found["substitute"] = divergence.layer_divergence(twin, ref, result.substitute_layers, "substitute", False)
    found = {m: f for m, f in found.items() if f[0] is not None}
    result.divergence["layers"] = {m: f[0] for m, f in found.items()}
    names = {f[0]["node"] for f in found.values()}
    result.divergence["layers_disagree"] = len(names) > 1 or (use_substitute and len(found) == 1)
    chosen = found.get("substitute", found.get("chained"))
    result.repro = chosen[1] if chosen else None


def _training_checks(result, k_model, twin, xs, ys, douts, steps):
    run = training.run_steps(training.start(k_model, twin, xs, ys), steps)
    try:
        found, result.bisection, phases, payload = divergence.locate(run, steps, lambda step, batch: douts)
        result.steps = [{**comparison_row(c), "step": i + 1} for i, c in enumerate(run.losses)]
        result.phases = [{"phase": p, **comparison_row(c)} for p in training.PHASES for c in phases.get(p, [])]
        if found is not None:
            result.divergence["training"] = found
            result.repro = result.repro or payload
    finally:
        training.finish(run)


def _verify_elsewhere(model, kwargs):
    """The spawned worker's side of ``verify(..., backend=...)``: the result and the backend's settings. Keras
    imports TensorFlow on every backend when it is installed: its start-up lines are captured, as in the report's
    workers (``parity.report.quiet``), and so is the warning about the saved optimizer's variables (verify makes
    fresh optimizers), as the command line does in its own process."""
    if importlib.util.find_spec("tensorflow") is not None:
        quiet.import_tensorflow()
    warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
    from keras_models.backend import precision_settings  # imports the backend

    result = verify(model, **kwargs)
    result.settings["backend_settings"] = precision_settings()
    return result


def _by_output_name(k_model):
    """The output names when the model was compiled with a dict of losses or loss weights, else None."""
    weights = compiled_loss_weights(k_model)
    names = getattr(k_model, "output_names", None)  # a Sequential has none
    return list(names) if names and (isinstance(k_model.loss, dict) or isinstance(weights, dict)) else None


def _loss_name(twin, outputs=None):
    """'MeanSquaredError', or one per output with the loss weights: 'CategoricalCrossentropy, MeanSquaredError
    (weights 1, 0.5)'; by output name when the model was compiled with a dict (``outputs``): 'out_a:
    CategoricalCrossentropy (weight 1), out_b: MeanSquaredError (weight 0.5)'."""
    weights = getattr(twin, "loss_weights", None)
    if isinstance(weights, dict):  # a user's twin may hold them by output name, as its compute_loss accepts
        weights = twin.loss_weight_list(weights, len(twin.outputs))
    per_output = isinstance(twin.loss, (list, tuple))
    if outputs is not None:  # counts that do not match are refused by the twin's compute_loss, naming them
        losses = twin.loss if per_output else [twin.loss] * len(outputs)
        return ", ".join(f"{name}: {type(l).__name__}" + (f" (weight {w:g})" if weights else "")
                         for name, l, w in zip(outputs, losses, weights or losses, strict=False))
    names = ", ".join(type(l).__name__ for l in twin.loss) if per_output else type(twin.loss).__name__
    return names + (f" (weights {', '.join(f'{w:g}' for w in weights)})" if weights else "")


def _optimizer_name(optimizer):
    """``Adam``, or ``Adam (ExponentialDecay)`` where the learning rate is a schedule."""
    rate = getattr(optimizer, "learning_rate", None)
    return type(optimizer).__name__ + (f" ({type(rate).__name__})" if callable(rate) else "")


def verify(model, x=None, y=None, steps=10, twin=None, dtype=None, loss=None, optimizer=None, batch=None,
           substitute=False, seed=0, backend=None):
    """Check a NumPy twin against a Keras model (or ``.keras`` file) and find the first divergence.

    Args:
        model: a keras.Model (Sequential or Functional) or a path to a ``.keras`` file (or a legacy ``.h5``:
            compiled with the loss, loss weights and optimizer of its training config, ``parity.verify.h5``).
        x, y: arrays (lists for several inputs/outputs); default random, seeded by ``seed``. A model whose
            inputs have dimensions of variable size (``keras.Input((None, None, 3))``) is verified on x's shape
            (its twin built for it); without x it is refused naming the input and its None dimensions.
        steps: training steps to compare (0: none).
        twin: the NumPy model to verify (default ``parity.from_keras(model)``), e.g. one you edited.
        dtype: 'float32'/'float64' (default the model's); loss, optimizer: override the compiled ones.
        batch: rows of ``x`` used (default all; 4 random rows when ``x`` is None).
        substitute: also judge each layer on the Keras input of its node.
        backend: 'tensorflow', 'jax' or 'torch' (default: this process's); another backend runs in a
            spawned process (``parity.verify.backend``) and needs ``model`` as a ``.keras`` path.
    Returns:
        VerifyResult (``passed``, ``divergence``, tables, ``str()`` Markdown, ``to_json()``).
    """
    kwargs = {"x": x, "y": y, "steps": steps, "twin": twin, "dtype": dtype, "loss": loss, "optimizer": optimizer,
              "batch": batch, "substitute": substitute, "seed": seed}
    if backend is not None and backend != running_backend():
        check_backend(backend, model)
        return run_on(backend, _verify_elsewhere, str(model), kwargs)
    # Keras's cross-entropies read a softmax/sigmoid output's cached logits on TensorFlow only; on JAX and PyTorch
    # they take the output as it is (numpy_models.conventions): the twin does as the backend it is verified on
    with conventions(cached_logits=running_backend() == "tensorflow"):
        return _verify_here(model, **kwargs)


def _verify_here(model, x, y, steps, twin, dtype, loss, optimizer, batch, substitute, seed):
    """``verify`` on this process's backend."""
    start = time.perf_counter()
    k_model, shapes = keras_model(model, dtype, loss, optimizer, x)
    with masks.global_streams_kept():  # PyTorch: its global generator, drawn by unseeded Dropout, put back after
        if k_model is not model:  # loaded from a file or converted: verify's own, its unseeded Dropout seeded by `seed`
            masks.seed_unseeded(k_model, seed)
        twin = _twin(k_model, twin, shapes)
        xs, ys, douts = data.arrays(k_model, twin.loss, twin.dtype, x, y, batch, seed)
        result = VerifyResult(model=k_model.name, dtype=twin.dtype)
        result.settings = {"batch": len(xs[0]), "steps": steps, "loss": _loss_name(twin, _by_output_name(k_model)),
                           "optimizer": _optimizer_name(twin.optimizer), "substitute": substitute, "seed": seed,
                           "data": "random" if x is None else "given", "backend": running_backend()}
        graph = layers.as_graph(twin)
        result.hints = model_hints(graph)
        data.check_indices(graph, xs, data.tensor_names(k_model.inputs))
        floors = Floors(graph, xs, douts)  # the twin run once, and the run's flush-to-zero floor
        _layer_checks(result, k_model, twin, xs, douts, substitute, floors)
        result.gradients = [comparison_row(c) for c in gradients.check_gradients(k_model, floors, xs, douts)]
        result.finite_differences = [comparison_row(c) for c in check_finite_differences(twin, xs, douts, seed)]
        if steps:
            _training_checks(result, k_model, twin, xs, ys, douts, steps)
    result.divergence["checks"] = failed_checks(result)
    result.seconds = time.perf_counter() - start
    return result
