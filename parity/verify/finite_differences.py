"""A sample of the twin's weight gradients checked against central differences in float64.

Keras autodiff and the twin could share a mistake (a convention both got
wrong); finite differences of ``L = sum(output * dout)`` cannot. A float64 copy
of the twin is probed (``parity.gradcheck.finite_differences``: Richardson
central differences; a probe across a kink, seen from the layers' branch
signatures, is retried with smaller steps and then skipped) at ``per_tensor``
coordinates of every weight, the largest gradient element among them.
"""
import copy

import numpy as np

from parity.compare import compare
from parity.gradcheck.finite_differences import probe_coordinate, sample_coordinates
from parity.random_streams import generator
from parity.tolerances import tolerance


def _objective(twin, xs, douts):
    def objective():
        outs = twin.forward(xs if len(xs) > 1 else xs[0], training=False)
        outs = list(outs) if len(douts) > 1 else [outs]
        value = float(sum(np.sum(o * d) for o, d in zip(outs, douts, strict=True)))
        return value, twin.kink_signature()  # ReLU sides and max-pool winners: a probe across a kink is retried
    return objective


def check_finite_differences(twin, xs, douts, seed=0, per_tensor=3):
    """[Comparison] per weight: sampled analytic gradient elements vs central differences (float64)."""
    twin = copy.deepcopy(twin)
    twin.cast("float64")
    xs = [np.asarray(x, np.float64) for x in xs]
    douts = [np.asarray(d, np.float64) for d in douts]
    objective = _objective(twin, xs, douts)
    f0 = objective()[0]
    twin.backward(douts if len(douts) > 1 else douts[0])
    rng = generator("finite_difference", seed)
    grads = {k: g.copy() for k, g in twin.grads.items()}
    out = []
    for key, array in twin.params.items():
        analytic, numeric = [], []
        for j in sample_coordinates(grads[key], per_tensor, rng):
            value, kink = probe_coordinate(objective, array, int(j), f0=f0)
            if not kink:
                analytic.append(grads[key].flat[j])
                numeric.append(value)
        scale = max(float(np.abs(grads[key]).max(initial=0.0)), 1e-300)
        out.append(compare(np.array(analytic), np.array(numeric), f"d {key} (sampled)",
                           tolerance("float64", "finite_difference"), labels=("numpy", "finite differences"),
                           scale=scale, kind="finite_difference", tensor=key))
    return out
