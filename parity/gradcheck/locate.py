"""What a failing random-direction check saw: the elements found by bisecting the direction.

The direction check covers the elements the sampled coordinates miss. When it
fails, the direction is probed restricted to each half of its support; a half
whose analytic part (analytic . v_half) and numeric derivative disagree holds a
culprit, and is halved again, down to single elements (``BISECT_BUDGET`` probes
at most: one bad element among 3,000 takes 24). Those are then probed as
coordinates, like sampled ones: an element wrong at every step is a located
failure, named in the report; a kink the curvature test missed along the whole
direction (its slope jump small next to the directional derivative, not next to
the tolerance) is checked by the subgradient interval rule and removed from the
direction, which is probed again.
"""
import numpy as np

from parity.gradcheck.finite_differences import probe_direction

BISECT_BUDGET = 64  # restricted-direction probes spent bisecting (each a few evaluations)


def _disagrees(objective, array, analytic, v, support, step, f0, tol):
    u = np.zeros_like(v)
    u.flat[support] = v.flat[support]
    numeric, kink = probe_direction(objective, array, u, step, f0)
    return kink or not abs(float(np.sum(analytic * u)) - float(numeric)) <= tol


def locate(objective, array, analytic, v, step, f0, tol, budget=BISECT_BUDGET):
    """Flat indices of the single elements whose part of direction ``v`` disagrees by more than ``tol`` (sorted;
    those isolated within ``budget`` probes, depth first)."""
    groups, found, spent = [np.flatnonzero(v)], [], 0
    while groups and spent < budget:
        group = groups.pop()
        if len(group) == 1:
            found.append(int(group[0]))
            continue
        for half in (group[len(group) // 2:], group[: len(group) // 2]):
            spent += 1
            if _disagrees(objective, array, analytic, v, half, step, f0, tol):
                groups.append(half)
    return sorted(found + [int(g[0]) for g in groups if len(g) == 1])
