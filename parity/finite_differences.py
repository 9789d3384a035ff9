"""Central finite differences on NumPy arrays (no TensorFlow needed).

Derivatives use Richardson extrapolation of central differences,
``(4 D(h/2) - D(h)) / 3`` with ``D(h) = (f(w+h) - f(w-h)) / 2h``: truncation
error O(h^4) lets h stay large (1e-3 * max(1, |w|)), which keeps round-off at
~eps * |f| / h. Every evaluation also returns a *branch signature* (which side
of each ReLU/max each unit is on); if it differs between the perturbed points
the coordinate straddles a kink and is reported as such, not as a failure.
"""
from dataclasses import dataclass

import numpy as np

DEFAULT_STEP = 1e-3


@dataclass
class Probe:
    """One finite-difference probe of a parameter (a coordinate or a direction)."""

    where: object  # multi-index tuple, or "direction"
    analytic: float
    numeric: float
    kink: bool


def _signatures_differ(a, b):
    return any(x.shape != y.shape or not np.array_equal(x, y) for x, y in zip(a, b))


def _evaluate_at(evaluate, array, flat_index, value):
    old = array.flat[flat_index]
    array.flat[flat_index] = value
    try:
        return evaluate()
    finally:
        array.flat[flat_index] = old


def coordinate_derivative(evaluate, array, flat_index, step=DEFAULT_STEP):
    """d f / d array.flat[flat_index]; ``evaluate() -> (value, signature list)``."""
    w = float(array.flat[flat_index])
    h = step * max(1.0, abs(w))
    values, sigs = {}, []
    for s in (h, -h, h / 2, -h / 2):
        values[s], sig = _evaluate_at(evaluate, array, flat_index, w + s)
        sigs.append(sig)
    d_h = (values[h] - values[-h]) / (2 * h)
    d_h2 = (values[h / 2] - values[-h / 2]) / h
    kink = _signatures_differ(sigs[0], sigs[1])
    return (4 * d_h2 - d_h) / 3, kink


def directional_derivative(evaluate, array, direction, step=DEFAULT_STEP):
    """d f(array + t * direction) / dt at t = 0, with the same kink test."""
    original = array.copy()
    h = step * max(1.0, float(np.abs(original).max(initial=0.0)))
    values, sigs = {}, []
    try:
        for s in (h, -h, h / 2, -h / 2):
            array[...] = original + s * direction
            values[s], sig = evaluate()
            sigs.append(sig)
    finally:
        array[...] = original
    d_h = (values[h] - values[-h]) / (2 * h)
    d_h2 = (values[h / 2] - values[-h / 2]) / h
    return (4 * d_h2 - d_h) / 3, _signatures_differ(sigs[0], sigs[1])


def sample_coordinates(shape, max_coords, rng):
    """All flat indices when the tensor is small, else a random sample without repeats."""
    size = int(np.prod(shape))
    if size <= max_coords:
        return np.arange(size)
    return np.sort(rng.choice(size, max_coords, replace=False))


def probe_parameter(evaluate, array, analytic, rng, max_coords=24, step=DEFAULT_STEP):
    """Probes of one parameter: sampled (or all) coordinates plus one random direction."""
    probes = []
    for j in sample_coordinates(array.shape, max_coords, rng):
        numeric, kink = coordinate_derivative(evaluate, array, j, step)
        index = tuple(int(i) for i in np.unravel_index(j, array.shape))
        probes.append(Probe(index, float(analytic.flat[j]), float(numeric), kink))
    if array.size > max_coords:
        direction = rng.standard_normal(array.shape)
        direction /= np.linalg.norm(direction)
        numeric, kink = directional_derivative(evaluate, array, direction, step)
        probes.append(Probe("direction", float(np.sum(analytic * direction)), float(numeric), kink))
    return probes
