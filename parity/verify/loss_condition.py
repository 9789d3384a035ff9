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
output moving by d moves it by 2 d / n, d / r of its own size (``gradient_condition``).
"""
import numpy as np

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


def gradient_condition(twin, y_true, y_pred, rtol):
    """How many times its own size dL/dy_pred moves when every output moves by ``rtol`` of its own size, per rtol:
    max over elements of |dL/dy_pred(y_pred (1 + rtol)) - dL/dy_pred(y_pred (1 - rtol))| / 2, over rtol times the
    largest |dL/dy_pred|; at least 1. Near a fit (an MSE's r << |y_pred|) it is ~|y_pred| / |r|; a loss whose
    gradient does not cancel (a cross-entropy's -y / p) gives 1. A gradient is then judged on at least this many
    times its own size (``gradient_scales``): a difference read as the output change it implies, held to the
    outputs' rtol, as ``loss_condition`` reads the loss's."""
    moved, largest = 0.0, 0.0
    for weight, loss, yt, yp in _terms(twin, y_true, y_pred):
        yp = np.asarray(yp, dtype=np.float64)
        with np.errstate(all="ignore"):
            at = [weight * np.asarray(loss.gradient(yt, yp * f), dtype=np.float64) for f in (1 + rtol, 1, 1 - rtol)]
        change, own = np.abs(at[0] - at[2]) / 2, np.abs(at[1])
        moved = max(moved, float(change[np.isfinite(change)].max(initial=0.0)))
        largest = max(largest, float(own[np.isfinite(own)].max(initial=0.0)))
    condition = moved / (rtol * largest) if largest > 0.0 else 1.0
    # the central difference's own curvature gives 1 + rtol^2 for a cross-entropy's -y / p: no cancellation, and
    # a floor above the gradient's own size by that much would move every comparison's max_rel by 1e-10
    return condition if condition > 1.0 + rtol else 1.0


def gradient_scales(model, condition):
    """``condition_scales`` of ``model`` after its backward, each gradient's at least ``condition`` (see
    ``gradient_condition``) times its own largest magnitude."""
    scales = condition_scales(model)
    if condition > 1.0:
        for key, grad in model.grads.items():
            scales[key] = max(scales.get(key, 0.0), condition * float(np.abs(grad).max(initial=0.0)))
    return scales
