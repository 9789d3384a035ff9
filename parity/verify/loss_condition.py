"""How finely a training step's loss can be compared: the loss's sensitivity to its outputs.

Near a fit the loss cancels: an MSE of residual r is r^2, and an output moving by
d (round-off of ~eps |y_pred|) moves it by ~2 r d, a relative change of 2 d / r
that grows without bound as r shrinks. Judged only against |L|, a correct float32
twin fails once r is small (measured: a batch-1 MSE run, states within 1e-6, loss
1.6e-5 apart at step 10). The floor is sum_outputs w * sum |dL/dy_pred * y_pred|:
what the loss moves by when every output moves by its own size. A difference in
the loss is then read as the output change it implies, held to the same rtol as
the outputs themselves (a 1e-5 output slip still fails).
"""
import numpy as np


def loss_condition(twin, y_true, y_pred):
    """sum over outputs of |loss weight| * sum |dL/dy_pred * y_pred| (non-finite terms, from a probability of
    exactly 0 that the loss clips, left out)."""
    outputs = y_pred if isinstance(y_pred, (list, tuple)) else [y_pred]
    targets = y_true if isinstance(y_true, (list, tuple)) else [y_true]
    losses = twin.loss if isinstance(twin.loss, (list, tuple)) else [twin.loss] * len(outputs)
    weights = getattr(twin, "loss_weights", None)
    if isinstance(weights, dict):
        weights = twin.loss_weight_list(weights, len(outputs))
    weights = weights or [1.0] * len(outputs)
    total = 0.0
    for loss, weight, yt, yp in zip(losses, weights, targets, outputs, strict=True):
        with np.errstate(all="ignore"):
            terms = np.abs(np.asarray(loss.gradient(yt, yp), dtype=np.float64) * np.asarray(yp, dtype=np.float64))
        total += abs(float(weight)) * float(np.sum(terms[np.isfinite(terms)]))
    return total
