"""NumPy optimizers with a planted slip at one step, for the first-divergence tests (NumPy only, so that a
``repro.py`` run in a subprocess imports them cheaply)."""
import numpy_models as nm

PERTURBATION = 1e-6  # far above float64 round-off (tolerance 1e-12), as a real slip in a user's code would be


class SlotBump(nm.optimizers.Adam):
    """Adam that adds PERTURBATION to the momentum slot of ``key`` right after its ``at``-th update."""

    key, at = "head/kernel", 5

    def update(self, params, grads):
        super().update(params, grads)
        if self.iterations == self.at:
            self.slots["momentum"][self.key] += PERTURBATION


class _WeightBump:
    """Adds PERTURBATION to the weight ``key`` (not to any slot) right after the ``at``-th update of the optimizer
    it is mixed into."""

    def update(self, params, grads):
        super().update(params, grads)
        if self.iterations == self.at:
            params[self.key] += PERTURBATION


class UpdateBump(_WeightBump, nm.optimizers.Adam):
    """Adam that adds PERTURBATION to the weight ``key`` (not to any slot) right after its ``at``-th update."""

    key, at = "head/kernel", 3


class BiasBump(UpdateBump):
    """UpdateBump on a bias feeding BatchNormalization (true gradient 0, value round-off) at the second update."""

    key, at = "d2/bias", 2


class RMSpropBiasBump(_WeightBump, nm.optimizers.RMSprop):
    """BiasBump on RMSprop."""

    key, at = BiasBump.key, BiasBump.at
