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
output moving by d moves it by 2 d / n, d / r of its own size (``near_fit_floors``).
"""
import numpy as np

from numpy_models.functional import set_grad
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


def near_fit_floors(model, y_true, y_pred):
    """{weight key: floor} after ``model``'s backward of its loss: the largest |gradient| its backward gives when
    each output under a MeanSquaredError has the residual |y_pred| (the output's own size) instead of its own.

    An MSE's dL/dy_pred = 2 r / n cancels near a fit, and an output moving by d moves it by 2 d / n, d / r of its own
    size: a gradient compared at its own size reads the outputs' float32 round-off as ~eps |y_pred| / r of it
    (measured: residual 1e-3, batch 1, float32 Adam on an AVX2 CPU, correct twin: 9.8e-5..2.3e-4). Judged on these
    floors, a gradient's difference is read as the output change it implies, held to the outputs' rtol, as
    ``loss_condition`` reads the loss's. Per weight and per output (the backward takes each output's share, with
    its loss weight); no other loss gets one: a kink (MAE, Huber's), a clip (the cross-entropies) or another
    curvature would have to be located first, and near a fit they are left to a float64 verify. {} when no output
    is under an MSE.
    """
    terms = _terms(model, y_true, y_pred)
    if not any(type(loss).__name__ == "MeanSquaredError" for _, loss, _, _ in terms):
        return {}
    douts = [weight * loss.gradient(np.zeros_like(yp), np.abs(yp)) if type(loss).__name__ == "MeanSquaredError"
             else np.zeros_like(yp) for weight, loss, _, yp in terms]
    kept = model.grads, model.output_grads, model.logits_grads  # the step's own backward, restored below
    model.backward_call(douts if model.multiple_outputs else douts[0])
    floors = {key: float(np.abs(grad).max(initial=0.0)) for key, grad in model.grads.items()}
    for key, grad in kept[0].items():
        set_grad(model, key, grad)
    model.output_grads, model.logits_grads = kept[1], kept[2]
    return floors


def gradient_scales(model, floors):
    """``condition_scales`` of ``model`` after its backward, each at least its ``near_fit_floors`` entry."""
    scales = condition_scales(model)
    for key, floor in floors.items():
        scales[key] = max(scales.get(key, 0.0), floor)
    return scales
