"""A sample of the twin's weight gradients checked against central differences in float64.

Keras autodiff and the twin could share a mistake (a convention both got
wrong); finite differences of ``L = sum(output * dout)`` cannot. A float64 copy
of the twin is probed (``parity.gradcheck.finite_differences``: Richardson
central differences; a probe across a kink, seen from the layers' branch
signatures, is retried with smaller steps and then skipped) at ``per_tensor``
coordinates of every weight, the largest gradient element among them.

An element central differences cannot resolve at the default step (below
``resolution``, ~eps * |L| / h: a gradient of 1e-40 through a saturated softmax)
is no difference. An element off at the default step is probed again over the
step sweep (``step_sweep``) and agrees only if one step brings it within the
tolerance itself (a loss steeply curved in that weight, e.g. logits of ~1e3 from
raw pixels, leaves a truncation error of 3e-6 relative at h = 1e-3 that vanishes
at h = 1e-6); a sweep step's larger resolution neither excuses the element nor
widens the tensor's scale (a wrong element passed that way in review).

The float64 copy computes in float64 throughout: a layer that keeps a float32
step inside to match Keras (``UpSampling2D``'s bilinear resize,
``compute_in_float32``) is switched to its textbook variant there
(``parity.gradcheck.subject.float64_inside``), since central differences cannot
resolve a float32-rounded function (they read its round-off as a gradient error
of 1e-6..1e-4). The twin-vs-Keras rows keep the float32 step.
"""
import copy

import numpy as np

from parity.compare import compare
from parity.gradcheck.finite_differences import (DEFAULT_STEP, probe_coordinate, resolution, sample_coordinates,
                                                 step_sweep)
from parity.gradcheck.subject import float64_inside
from parity.random_streams import generator
from parity.tolerances import tolerance


def _objective(twin, xs, douts):
    def objective():
        outs = twin.forward(xs if len(xs) > 1 else xs[0], training=False)
        outs = list(outs) if len(douts) > 1 else [outs]
        value = float(sum(np.sum(o * d) for o, d in zip(outs, douts, strict=True)))
        return value, twin.kink_signature()  # ReLU sides and max-pool winners: a probe across a kink is retried
    return objective


def _agreeing(objective, array, j, analytic, bound):
    """The finite difference of the first sweep step that agrees with ``analytic`` within ``bound`` (the
    tolerance itself, not that step's resolution: a noisier step must not excuse a wrong element), else None."""
    for _, numeric in step_sweep(objective, array, j):
        if abs(analytic - numeric) <= bound:
            return numeric
    return None


def _probe(objective, array, grad, indices, rtol, f0):
    """([analytic], [numeric], largest resolution used) over the non-kink ``indices``."""
    scale = float(np.abs(grad).max(initial=0.0))
    noise = resolution(f0, DEFAULT_STEP)  # h = DEFAULT_STEP * max(1, |w|): the largest resolution at that step
    analytic, numeric = [], []
    for j in indices:
        value, kink = probe_coordinate(objective, array, int(j), f0=f0)
        if kink:
            continue
        a = float(grad.flat[j])
        if abs(a - value) > max(rtol * scale, noise):  # the default step's truncation: try the sweep's steps
            found = _agreeing(objective, array, int(j), a, rtol * scale)
            value = value if found is None else found
        analytic.append(a)
        numeric.append(value)
    return analytic, numeric, noise


def check_finite_differences(twin, xs, douts, seed=0, per_tensor=3):
    """[Comparison] per weight: sampled analytic gradient elements vs central differences (float64); the scale
    is at least the finite differences' resolution over rtol (see the module docstring)."""
    twin = copy.deepcopy(twin)
    twin.cast("float64")
    float64_inside(twin)  # no float32 step inside (UpSampling2D's bilinear resize, as TF): see the docstring
    xs = [np.asarray(x, np.float64) for x in xs]
    douts = [np.asarray(d, np.float64) for d in douts]
    objective = _objective(twin, xs, douts)
    f0 = objective()[0]
    twin.backward(douts if len(douts) > 1 else douts[0])
    rng = generator("finite_difference", seed)
    grads = {k: g.copy() for k, g in twin.grads.items()}
    tol = tolerance("float64", "finite_difference")
    out = []
    for key, array in twin.params.items():
        indices = sample_coordinates(grads[key], per_tensor, rng)
        analytic, numeric, noise = _probe(objective, array, grads[key], indices, tol.rtol, f0)
        scale = max(float(np.abs(grads[key]).max(initial=0.0)), noise / tol.rtol, 1e-300)
        out.append(compare(np.array(analytic), np.array(numeric), f"d {key} (sampled)", tol,
                           labels=("numpy", "finite differences"), scale=scale, kind="finite_difference", tensor=key))
    return out
