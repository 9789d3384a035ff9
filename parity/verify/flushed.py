"""A comparison under TensorFlow's flush-to-zero: see ``parity.verify.floors`` and ``UNDERFLOW_SCALE``."""
import numpy as np

from parity.compare import compare


def floored_compare(a, b, name, tol, floor=0.0, underflow=0.0, **fields):
    """``compare`` with ``floor``, failed as not comparable where the sides differ but both lie wholly within
    the flush-to-zero range (``underflow``: the floor of ``UNDERFLOW_SCALE``; the range is rtol times it)."""
    result = compare(a, b, name, tol, floor=max(floor, underflow), **fields)
    flushed = underflow * tol.rtol
    a64, b64 = (np.abs(np.asarray(v, np.float64)) for v in (a, b))
    if flushed and not np.array_equal(a64, b64) and max(a64.max(initial=0.0), b64.max(initial=0.0)) <= flushed:
        result.passed = False
        result.note = (f"not comparable: both sides lie below {flushed:.3g}, where TensorFlow flushes subnormal "
                       f"results to zero and NumPy does not (a saturated softmax on unscaled inputs?); verify with "
                       f"--dtype float64 to compare it, or scale the inputs")
    return result
