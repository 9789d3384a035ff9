"""NumPy optimizers with a planted slip at one step, for the first-divergence tests (NumPy only, so that a
``repro.py`` run in a subprocess imports them cheaply)."""
import numpy_models as nm

PERTURBATION = 1e-6  # far above float64 round-off (tolerance 1e-12), as a real slip in a user's code would be


class SlotBump(nm.optimizers.Adam):
    """Adam that adds PERTURBATION to one momentum slot right after its 5th update."""

    def update(self, params, grads):
        super().update(params, grads)
        if self.iterations == 5:
            self.slots["momentum"]["head/kernel"] += PERTURBATION


class UpdateBump(nm.optimizers.Adam):
    """Adam that adds PERTURBATION to one weight (not to any slot) right after its 3rd update."""

    def update(self, params, grads):
        super().update(params, grads)
        if self.iterations == 3:
            params["head/kernel"] += PERTURBATION
