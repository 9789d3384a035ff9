"""Is the checked function reproducible? The same parameters evaluated twice must give the same value.

Every finite difference subtracts two evaluations: when the function itself
changes between them (a dropout mask drawn from a generator the checker cannot
replay, a counter, a clock), the differences measure that change, not the
gradient, and every probe looks like a kink. The checker replays NumPy's and
Python's global RNGs and evaluates fresh deep copies, so a layer's own state and
generators (``self.rng``) repeat; what it cannot reset is state outside the
subject: a module-level ``np.random.default_rng(...)``, a class attribute, a
global counter. Detected by evaluating the unperturbed function once more; a
difference within the round-off of f (what finite differences cannot resolve
anyway) is not one.
"""
from parity.gradcheck.finite_differences import resolution, value_of


def irreproducible(objective, f0, what):
    """"" when ``objective`` gives ``f0`` again (within round-off), else the error for the result.

    ``what`` names the function (``sum(forward(x) * dout)``, ``loss(x, t)``).
    """
    again = value_of(objective)
    if abs(again - f0) <= resolution(f0, 1.0):  # False for a NaN: finite once, NaN the next time is no repeat
        return ""
    return (f"the evaluation is not reproducible: {what} evaluated twice with the same x and parameters gave "
            f"{f0:.10g} and {again:.10g} (on fresh deep copies, NumPy's and Python's global RNGs replayed), so "
            "finite differences measure that change, not the gradient: the probes below cannot be trusted. The "
            "cause is a random generator outside the subject (a module-level or class-level np.random.default_rng(...)) or "
            "state that changes between evaluations (a global counter, a clock). Fix: hold the generator on the "
            "layer (self.rng = np.random.default_rng(seed) in __init__: every copy then draws the same numbers) "
            "or draw from np.random (replayed), or check with a fixed mask or in inference mode (training=False)")
