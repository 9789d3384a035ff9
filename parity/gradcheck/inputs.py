"""What the gradient checkers accept: real, finite, non-empty inputs and parameters (NumPy only).

NaN compares unequal to everything, so a test written ``error <= bound`` passes
it: a NaN or Inf in an input, a target, a parameter, an output or a loss would
otherwise let a check say ok while comparing nothing. Inputs, targets and
parameters (what the user hands over) are refused with the first bad position;
a forward output or loss that is not finite fails the result (it is the code
under test that produced it).
"""
import numpy as np

REAL_KINDS = "biuf"


def nonfinite(arr, what):
    """"" when ``arr`` is finite, else "``what`` contains NaN or Inf (first at index (i, j)). Received: ..."."""
    arr = np.asarray(arr)
    if arr.dtype.kind not in "fc" or np.isfinite(arr).all():
        return ""
    bad = np.flatnonzero(~np.isfinite(arr))
    where = tuple(int(i) for i in np.unravel_index(bad[0], arr.shape))
    return (f"{what} contains NaN or Inf ({bad.size} of {arr.size} element(s), first at index {where}). "
            f"Received: {what}[{', '.join(map(str, where))}]={arr.flat[bad[0]]}")


def batch(x, who, what="x", keep_integers=False):
    """``x`` as a float64 array: real, finite and with at least one element, else a clear error.

    ``keep_integers``: an integer array is returned as given (indices: an Embedding's token ids, which a
    float64 cast would make unusable as indices and finite differences cannot step)."""
    arr = np.asarray(x)
    if arr.dtype.kind not in REAL_KINDS:
        raise TypeError(f"{who}: {what} must be a real numeric array. Received: dtype={arr.dtype}")
    if arr.size == 0:
        raise ValueError(f"{who}: {what} is empty: there is nothing to check. Expected at least one sample of at "
                         f"least one value. Received: {what}.shape={arr.shape}")
    problem = nonfinite(arr, what)
    if problem:
        raise ValueError(f"{who}: {problem}")
    return arr if keep_integers and holds_integers(arr) else arr.astype(np.float64)


def holds_integers(x):
    """An integer (not boolean) array: indices such as token ids, kept as given."""
    return np.asarray(x).dtype.kind in "iu"


def integer_x_note(x):
    """Why dx is missing from a layer check whose x holds integers."""
    return (f"dx not checked: x holds integers ({np.asarray(x).dtype}) that forward() cannot take as floats, so they "
            "are indices (an Embedding's token ids), passed to forward() as given; finite differences cannot step an "
            "index, so only the parameters were checked")


def targets(t, who, n):
    """Targets of a loss: refused when numeric and not finite, or empty; other kinds pass as given."""
    arr = np.asarray(t)
    if arr.size == 0 and n:
        raise ValueError(f"{who}: t is empty while x holds {n} sample(s). Received: t.shape={arr.shape}")
    problem = nonfinite(arr, "t")
    if problem:
        raise ValueError(f"{who}: {problem}")
    return arr


def finite_parameters(named, who):
    """Refuse parameters holding NaN or Inf: ``named`` maps a label (``Affine.W``, ``params['W1']``) to its array."""
    for label, value in named.items():
        problem = nonfinite(value, label)
        if problem:
            raise ValueError(f"{who}: parameter {problem}")


def array_parameters(params, who):
    """Refuse a net's parameter that is not an array (``params["w"] = 2.0``): finite differences perturb it in
    place, where the layers using it must see the change (they hold the same array)."""
    for key, value in params.items():
        if not isinstance(value, np.ndarray):
            raise ValueError(f"{who}: params[{key!r}] is a {type(value).__name__}, not an array: finite differences "
                             "perturb each parameter in place, and the layers that use it must see the change. Store "
                             f"it as a (0-d) array shared with the layer that uses it, e.g. params[{key!r}] = "
                             f"np.array({value!r}). Received: params[{key!r}]={value!r}")
