"""A comparison under TensorFlow's flush-to-zero: see ``parity.verify.floors`` and ``UNDERFLOW_SCALE``."""
import numpy as np

from parity.compare import compare


def floored_compare(a, b, name, tol, floor=0.0, underflow=0.0, **fields):
    """``compare`` with ``floor``; where it holds only thanks to the flush-to-zero floor (``underflow``: the floor
    of ``UNDERFLOW_SCALE``; the flushed range is rtol times it), that floor decides: the differences lie in flushed
    elements and are no differences, unless both sides lie wholly within the flushed range, where nothing was
    compared: failed as not comparable, never passed."""
    plain = compare(a, b, name, tol, floor=floor, **fields)
    if plain.passed or not underflow:
        return plain
    result = compare(a, b, name, tol, floor=max(floor, underflow), **fields)
    flushed = underflow * tol.rtol
    if result.passed and max(float(np.max(np.abs(np.asarray(v, np.float64)), initial=0.0)) for v in (a, b)) <= flushed:
        result.passed = False
        result.note = (f"not comparable: both sides lie below {flushed:.3g}, where TensorFlow flushes subnormal "
                       f"results to zero and NumPy does not (a saturated softmax on unscaled inputs?); verify with "
                       f"--dtype float64 to compare it, or scale the inputs")
    return result
