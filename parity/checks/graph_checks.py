"""Checks that a NumPy twin computes what its Keras model computes: gradients and training steps.

Each check returns a list of ``Comparison`` (``parity.compare``) at the
tolerances of ``parity.tolerances``; ``assert_all_passed`` turns them into a
test. Bias-like gradients are measured against their condition scale
(``tolerances.CONDITION_SCALE``), as ``parity.checks`` does for Sequential specs.
"""
import numpy as np

from parity.checks.optimizer_checks import ADAPTIVE
from parity.checks.sum_terms import term_sums
from parity.compare import compare
from parity.tolerances import tolerance


def condition_scales(twin, prefix=""):
    """{"layer/weight": the largest sum(|terms|) over its elements} from the last backward: biases, kernels,
    BatchNormalization's beta and gamma (``sum_scales``)."""
    scales = {}
    caches = twin._cache[1] if getattr(twin, "_cache", None) else {}
    at_logits = getattr(twin, "logits_grads", set())
    for node, grad in getattr(twin, "output_grads", {}).items():
        layer = node.layer
        if hasattr(layer, "output_grads") and hasattr(layer, "_nodes"):
            found = condition_scales(layer, f"{prefix}{layer.name}/")
        else:
            found = {f"{prefix}{k}": v for k, v in sum_scales(layer, grad, caches.get(node), node in at_logits).items()}
        for k, v in found.items():  # a shared layer's gradient sums over its calls, and so do the scales
            scales[k] = scales.get(k, 0.0) + v
    return scales


def sum_scales(layer, grad, cache, at_logits=False):
    """{"layer/weight": the largest sum(|terms|) over its elements} for the layer's sum-over-the-batch gradients.

    ``grad`` is dL/d(the layer's output) (dL/d(its logits) when ``at_logits``) and
    ``cache`` the layer's cache of that call. A Dense or convolution's bias sums
    dL/dz and its kernel x * dL/dz (``sum_terms``); a normalization's beta sums
    ``grad``, BatchNormalization's gamma ``grad * x_hat`` (channels last only).
    """
    if grad is None or getattr(layer, "per_activation", False):
        return {}
    terms = {"beta": np.abs(grad)} if "beta" in layer.params else {}
    if type(layer).__name__ == "BatchNormalization" and "gamma" in layer.params and cache is not None \
            and layer._channel_axis == grad.ndim - 1:
        terms["gamma"] = np.abs(grad * cache[0])  # cache[0]: x_hat of this call
    sums = {k: t.reshape(-1, t.shape[-1]).sum(axis=0) for k, t in terms.items()}
    sums.update(term_sums(layer, grad, cache, at_logits))
    return {f"{layer.name}/{k}": float(s.max()) for k, s in sums.items()}


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def check_gradients(k_model, twin, xs, douts, training=False):
    """Outputs, input gradients and every weight gradient for upstream ``douts`` (one per output)."""
    from keras_models.functional import graph_forward_backward

    xs, douts = _as_list(xs), _as_list(douts)
    ref = graph_forward_backward(k_model, xs, douts, training=training)
    ys = _as_list(twin.forward(xs if len(xs) > 1 else xs[0], training=training))
    dxs = _as_list(twin.backward(douts if len(douts) > 1 else douts[0]))
    tol = tolerance(twin.dtype)
    out = [compare(y, r, f"output {i}", tol) for i, (y, r) in enumerate(zip(ys, ref["outputs"], strict=True))]
    out += [compare(d, r, f"d input {i}", tol) for i, (d, r) in enumerate(zip(dxs, ref["dxs"], strict=True))]
    scales = condition_scales(twin)
    grads = twin.grads
    return out + [compare(grads[k], g, f"d {k}", tol, floor=scales.get(k, 0.0)) for k, g in ref["grads"].items()]


def _state_tolerance(optimizer, dtype):
    """See TOLERANCES[("float32", "adaptive_own_gradients")]: adaptive float32 steps amplify round-off."""

    if dtype == "float32" and type(optimizer).__name__ in ADAPTIVE:
        return tolerance("float32", "adaptive_own_gradients")
    return tolerance(dtype)


def _loss_comparison(step, value, ref):
    """Keras's CompileLoss reports the loss value cast to float32 (its gradient is unaffected: d cast = 1),
    so a float64 model's loss value is compared at float32 resolution."""
    result = compare(np.asarray(value), np.asarray(ref["value"]), f"step {step}: loss", tolerance(ref["value_dtype"]))
    result.note = f"Keras reports the compiled loss in {ref['value_dtype']}"
    return result


def check_training_steps(k_model, twin, xs, ys, steps=10):
    """``steps`` steps of the compiled loss and optimizer on both sides; loss, gradients, weights, slots each step.

    Each side computes its own gradients, as ``parity.checks.optimizer_checks.check_training_steps``:
    the loss is compared at every step, gradients at step 1 (equal weights; afterwards
    the weights differ by round-off, so gradients are taken at slightly different
    points), weights (moving statistics included) and optimizer slots after every step
    at ``_state_tolerance``.
    """
    from keras_models.functional import fresh_optimizer, graph_compiled_gradients, keyed_variables
    from keras_models.optimizers import slots, stepper

    k_opt = fresh_optimizer(k_model.optimizer, twin.dtype)
    np_opt = twin.optimizer
    tol, state_tol = tolerance(twin.dtype), _state_tolerance(np_opt, twin.dtype)
    keyed, weights = keyed_variables(k_model, trainable_only=True), keyed_variables(k_model)
    keras_step = stepper(k_opt, k_model, keyed)
    xs, ys = _as_list(xs), _as_list(ys)
    result = []
    for step in range(1, steps + 1):
        ref = graph_compiled_gradients(k_model, xs, ys)
        y_pred = twin.forward(xs if len(xs) > 1 else xs[0], training=True)
        y_true = ys if len(ys) > 1 else ys[0]
        weighted = {"loss_weights": twin.loss_weights} if getattr(twin, "loss_weights", None) else {}
        value = twin.compute_loss(twin.loss, y_true, y_pred, **weighted)
        twin.backward_loss(twin.loss, y_true, y_pred, **weighted)
        result.append(_loss_comparison(step, value, ref))
        if step == 1:  # equal weights; later each side's weights differ by round-off (see the docstring)
            scales, grads = condition_scales(twin), twin.grads
            result += [compare(grads[k], g, f"step {step}: d {k}", tol, floor=scales.get(k, 0.0))
                       for k, g in ref["grads"].items()]
        np_opt.update(twin.params, twin.grads)
        keras_step(ref["grads"])
        current = twin.weights
        result += [compare(current[k], v.numpy(), f"step {step}: {k}", state_tol) for k, v in weights]
        for slot, per_key in slots(k_opt, keyed).items():
            result += [compare(np_opt.slots[slot][k], a, f"step {step}: {k} [{slot}]", state_tol)
                       for k, a in per_key.items()]
    return result
