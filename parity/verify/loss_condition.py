"""How finely a training step's loss and gradients can be compared: the loss's sensitivity to its outputs.

Near a fit the loss cancels: an MSE of residual r is r^2, and an output moving by
d (round-off of ~eps |y_pred|) moves it by ~2 r d, a relative change of 2 d / r
that grows without bound as r shrinks. Judged only against |L|, a correct float32
twin fails once r is small (measured: a batch-1 MSE run, states within 1e-6, loss
1.6e-5 apart at step 10). The floor is sum_outputs w * sum |dL/dy_pred * y_pred|:
what the loss moves by when every output moves by its own size. A difference in
the loss is then read as the output change it implies, held to the same rtol as
the outputs themselves (a 1e-5 output slip still fails).

The step's gradients cancel the same way: an MSE's dL/dy_pred is 2 r / n, so an
output moving by d moves it by 2 d / n, d / r of its own size (``near_fit_shares``).
"""
import numpy as np

from numpy_models.functional import set_grad
from numpy_models.losses import MeanSquaredError
from parity.checks.graph_checks import condition_scales


def _terms(twin, y_true, y_pred):
    """(|loss weight|, loss, y_true, y_pred) per output."""
    outputs = y_pred if isinstance(y_pred, (list, tuple)) else [y_pred]
    targets = y_true if isinstance(y_true, (list, tuple)) else [y_true]
    losses = twin.loss if isinstance(twin.loss, (list, tuple)) else [twin.loss] * len(outputs)
    weights = getattr(twin, "loss_weights", None)
    if isinstance(weights, dict):
        weights = twin.loss_weight_list(weights, len(outputs))
    weights = weights or [1.0] * len(outputs)
    return [(abs(float(w)), loss, yt, yp) for loss, w, yt, yp in zip(losses, weights, targets, outputs, strict=True)]


def loss_condition(twin, y_true, y_pred):
    """sum over outputs of |loss weight| * sum |dL/dy_pred * y_pred| (non-finite terms, from a probability of
    exactly 0 that the loss clips, left out)."""
    total = 0.0
    for weight, loss, yt, yp in _terms(twin, y_true, y_pred):
        with np.errstate(all="ignore"):
            terms = np.abs(np.asarray(loss.gradient(yt, yp), dtype=np.float64) * np.asarray(yp, dtype=np.float64))
        total += weight * float(np.sum(terms[np.isfinite(terms)]))
    return total


EXPLAINED_MARGIN = 2.0  # near_fit_shares: the explained difference, twice, for the backward's own round-off on top


def near_fit_shares(model, y_true, y_pred, keras_outputs):
    """{weight key: share} after ``model``'s backward of its loss: EXPLAINED_MARGIN times the largest |gradient|
    its backward gives for the difference Keras's outputs make to a MeanSquaredError's dL/dy_pred.

    An MSE's dL/dy_pred = 2 r / n cancels near a fit: an output moving by d moves it by 2 d / n, d / r of its own
    size, so the outputs' float32 round-off (an ulp or two of |y_pred|) reaches the step's gradients as
    ~eps |y_pred| / r of theirs (measured: residual 1e-3, batch 1, float32 Adam on an AVX2 CPU, correct twin:
    9.8e-5..2.3e-4 against rtol 1e-5). That share is taken exactly: the twin's backward of 2 (y_keras - y_twin) / n
    (each MSE output's, with its loss weight), the first-order difference the outputs' measured difference makes;
    a gradient is judged on a floor of that share over the comparison's rtol (``gradient_scales``). What the outputs do
    not explain (a slip in the loss's gradient, a layer's backward, another output's loss) is judged as before.
    The outputs themselves are compared elsewhere. No other loss gets one: a kink (MAE, Huber's) or a clip (the
    cross-entropies) makes the difference a jump, not a share; near a fit they are left to a float64 verify. The
    step's own backward (grads, the per-node gradients of the model and of nested models) is left as it was.
    {} when no output is under an MSE.
    """
    terms = _terms(model, y_true, y_pred)
    if not any(isinstance(loss, MeanSquaredError) for _, loss, _, _ in terms):
        return {}
    douts = [weight * loss.gradient(np.zeros_like(yp), np.asarray(k, yp.dtype) - yp)
             if isinstance(loss, MeanSquaredError) else np.zeros_like(yp)
             for (weight, loss, _, yp), k in zip(terms, keras_outputs, strict=True)]
    grads, records = model.grads, _backward_records(model)
    model.backward_call(douts if model.multiple_outputs else douts[0])
    shares = {key: EXPLAINED_MARGIN * float(np.abs(grad).max(initial=0.0)) for key, grad in model.grads.items()}
    for key, grad in grads.items():
        set_grad(model, key, grad)
    for graph, output_grads, logits_grads in records:
        graph.output_grads, graph.logits_grads = output_grads, logits_grads
    return shares


def _backward_records(model):
    """[(graph, its output_grads, its logits_grads)] of ``model`` and every model nested in it (what
    ``condition_scales`` reads after a backward)."""
    found = [(model, model.output_grads, model.logits_grads)]
    for node in model._nodes:
        if hasattr(node.layer, "_nodes") and hasattr(node.layer, "output_grads"):
            found += _backward_records(node.layer)
    return found


def gradient_scales(model, shares, rtol):
    """``condition_scales`` of ``model`` after its backward, each at least its ``near_fit_shares`` entry over the
    ``rtol`` it is compared at (so that rtol of the scale is the share)."""
    scales = condition_scales(model)
    for key, share in shares.items():
        scales[key] = max(scales.get(key, 0.0), share / rtol)
    return scales
