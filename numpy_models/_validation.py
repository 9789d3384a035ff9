"""Input validation shared by every NumPy layer, loss and optimizer.

Errors follow the Keras pattern: say who complains, what was expected, and end
with ``Received: ...``. Nothing is broadcast or cast silently except what Keras
itself does (integer/float inputs are cast to the layer's dtype on entry).
"""
import numpy as np

FLOAT_DTYPES = ("float32", "float64")


def standardize_dtype(dtype, who="model"):
    """Return 'float32' or 'float64'; raise for anything else."""
    name = np.dtype(dtype).name if dtype is not None else None
    if name not in FLOAT_DTYPES:
        raise TypeError(
            f"{who}: dtype must be one of {FLOAT_DTYPES}. Received: dtype={dtype!r}"
        )
    return name


def tf_rounded(value):
    """A Python float as TensorFlow sees it once it becomes a tensor.

    TF turns Python floats into float32 tensors before casting them to the
    variable's dtype, so in float64 Keras actually uses float32(0.9) etc.
    (docs/keras_conventions.md, pitfall 2). Using the same constant keeps float64
    parity at round-off level instead of 1e-8.
    """
    return float(np.float32(value))


def as_float_array(x, dtype, who, what="input"):
    """Convert ``x`` to a finite float array of ``dtype`` or raise clearly."""
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"{who}: expected a real numeric {what}. "
            f"Received: {what}.dtype={arr.dtype}"
        )
    arr = arr.astype(dtype, copy=False)
    check_finite(arr, who, what)
    return arr


def check_finite(arr, who, what="input"):
    if not np.isfinite(arr).all():
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(
            f"{who}: {what} contains NaN or Inf (first at index {tuple(int(i) for i in bad)}). "
            f"Received: {what}[{tuple(int(i) for i in bad)}]={arr[tuple(bad)]}"
        )


def check_shape(arr, expected, who, what="input"):
    """Check ``arr.shape`` against ``expected`` (None matches any size)."""
    ok = arr.ndim == len(expected) and all(
        e is None or e == s for e, s in zip(expected, arr.shape, strict=True)
    )
    if not ok:
        raise ValueError(
            f"{who}: {what} is incompatible: expected shape {_fmt(expected)}. "
            f"Received: {what}.shape={arr.shape}" + _layout_hint(arr.shape, expected)
        )


def _layout_hint(shape, expected):
    """Name the usual cause when 4-D data arrives channels-first (NCHW) instead of NHWC."""
    if len(shape) == 4 and len(expected) == 4 and tuple(expected[1:]) == (shape[2], shape[3], shape[1]):
        return " (this looks like channels_first (NCHW) data; transpose it with x.transpose(0, 2, 3, 1))"
    return ""


def _fmt(shape):
    return "(" + ", ".join("None" if s is None else str(s) for s in shape) + (",)" if len(shape) == 1 else ")")


def resolve(identifier, base, aliases, classes, who, kind):
    """Keras-style identifiers: an instance of ``base``, an alias name, or {"class_name", "config"}."""
    if isinstance(identifier, base):
        return identifier
    if isinstance(identifier, str) and identifier in aliases:
        return aliases[identifier]()
    if isinstance(identifier, dict) and identifier.get("class_name") in classes:
        return classes[identifier["class_name"]](**identifier.get("config", {}))
    raise ValueError(
        f"{who}: unknown {kind}. Expected a name in {sorted(aliases)}, a dict with class_name in "
        f"{sorted(classes)} or a {base.__name__}. Received: {identifier!r}")


def refuse(who, **arguments):
    """Unsupported Keras arguments: refuse each one that is set (not None/False), by name."""
    for name, value in arguments.items():
        if value is not None and value is not False:
            raise ValueError(f"{who}: argument '{name}' is not supported. Received: {name}={value!r}")
