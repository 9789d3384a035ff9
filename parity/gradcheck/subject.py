"""How the gradient checker sees a user's layer or network.

It never touches the object it is given: every pass runs on a deep copy made
in float64 (float32 arrays are converted inside the copy, aliasing between
parameters and the layers that use them is kept), and NumPy's global RNG is
put back to the same state before every evaluation, so dropout masks drawn
with ``np.random`` are the same each time.
"""
import copy
import inspect
from dataclasses import dataclass

import numpy as np

from parity.gradcheck.rng_snapshot import RngSnapshot

TRAINING_ARGS = ("training", "train_flg")


def require_layer(obj):
    missing = [m for m in ("forward", "backward") if not callable(getattr(obj, m, None))]
    if missing:
        raise TypeError(f"gradcheck: expected an object with forward(x) and backward(dout) methods. "
                        f"Received: {type(obj).__name__} without {' and '.join(missing)}()")


def require_net(obj):
    missing = [m for m in ("loss", "gradient") if not callable(getattr(obj, m, None))]
    if missing or not isinstance(getattr(obj, "params", None), dict):
        raise TypeError("gradcheck_net: expected a network with a `params` dict, gradient(x, t) and loss(x, t). "
                        f"Received: {type(obj).__name__} without "
                        + ", ".join((["params dict"] if not isinstance(getattr(obj, "params", None), dict) else [])
                                    + [f"{m}()" for m in missing]))


def forward_kwargs(obj, training):
    """Pass ``training``/``train_flg`` when ``forward`` takes it (Keras or textbook spelling)."""
    try:
        names = inspect.signature(obj.forward).parameters
    except (TypeError, ValueError):
        return {}
    return {name: training for name in TRAINING_ARGS if name in names}


# -- RNG ------------------------------------------------------------------------------
def rng_state():
    """NumPy's and Python's global RNG states (parity.gradcheck.rng_snapshot)."""
    return RngSnapshot()


def restore_rng(state):
    state.restore()


def rng_unchanged(state):
    """NumPy's and Python's global RNGs are still in ``state`` (nothing drew from them since it was restored)."""
    return state.unchanged()


# -- float64 copies ---------------------------------------------------------------------
def _reachable(obj, seen=None, depth=0):
    """Every object reachable from ``obj`` through attributes, dict values and list/tuple items, once each, down to
    6 levels (an array or a class is yielded, not entered)."""
    seen = set() if seen is None else seen
    if id(obj) in seen or depth > 6:
        return
    seen.add(id(obj))
    yield obj
    if isinstance(obj, dict):
        children = list(obj.values())
    elif isinstance(obj, (list, tuple)):
        children = list(obj)
    elif hasattr(obj, "__dict__") and not isinstance(obj, (type, np.ndarray)):
        children = list(vars(obj).values())
    else:
        return
    for child in children:
        yield from _reachable(child, seen, depth + 1)


def _low_precision_arrays(obj):
    """{id: array} of every float16/float32 array reachable from ``obj``."""
    return {id(a): a for a in _reachable(obj)
            if isinstance(a, np.ndarray) and a.dtype.kind == "f" and a.dtype.itemsize < 8}


# Switches of this project's layers that keep a float32 step inside a float64 layer, as TensorFlow does
# (UpSampling2D's bilinear resize): the function is then float32-rounded, and central differences read that
# round-off as a gradient error (1e-6..1e-4), so the copies finite differences probe switch them off.
FLOAT32_INSIDE = ("compute_in_float32",)


def float64_inside(obj):
    """Switch off every ``FLOAT32_INSIDE`` step reachable from ``obj`` (a copy: it is changed in place)."""
    switched = [(o, switch) for o in _reachable(obj) if hasattr(o, "__dict__") and not isinstance(o, type)
                for switch in FLOAT32_INSIDE if getattr(o, switch, False) is True]
    for layer, switch in switched:
        setattr(layer, switch, False)
    return obj


def float64_copy(obj, also=(), keep_float32_inside=False):
    """Deep copy of ``obj`` with every float array, and the arrays ``also`` (integer parameters), in float64.

    Integer arrays are converted only when named: an integer array that is not a parameter may be an index.
    The copy computes in float64 throughout (``float64_inside``) unless ``keep_float32_inside`` (a copy
    compared with Keras, which keeps TF's float32 steps). Returns (copy, number of arrays converted).
    """
    found = {**{id(arr): arr for arr in also}, **_low_precision_arrays(obj)}
    memo = {key: arr.astype(np.float64) for key, arr in found.items()}
    clone = copy.deepcopy(obj, memo)
    if callable(getattr(clone, "cast", None)):
        clone.cast("float64")  # this project's layers and models also carry a dtype
    if not keep_float32_inside:
        float64_inside(clone)
    return clone, len(found)


def integer_arrays(named):
    """The integer arrays among ``named`` ({label: value}): parameters finite differences cannot step."""
    return {k: v for k, v in named.items() if isinstance(v, np.ndarray) and v.dtype.kind in "iu"}


def conversion_note(converted, integers=()):
    """The note saying which arrays the checked copy holds in float64 ("" when none was converted)."""
    if not converted:
        return ""
    ints = f", integer parameter(s) {', '.join(integers)} among them (perturbations of an integer array would " \
           "be truncated)" if integers else ""
    return f"converted {converted} float32/float16/integer array(s) to float64 in the checked copy{ints}"


# -- parameters ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ParamRef:
    """Where one parameter and its gradient live on a layer (or on any copy of it)."""

    name: str
    kind: str  # "dict": obj.params[key] / obj.grads[key]; "attr": getattr(obj, param) / getattr(obj, grad)
    param: str
    grad: str

    def value(self, obj):
        return obj.params[self.param] if self.kind == "dict" else getattr(obj, self.param)

    def gradient(self, obj):
        """The gradient backward() left (None where it set none: a missing key or attribute)."""
        return obj.grads.get(self.grad) if self.kind == "dict" else getattr(obj, self.grad, None)

    def label(self, obj):
        return f"params[{self.param!r}]" if self.kind == "dict" else f"{type(obj).__name__}.{self.param}"

    def gradient_label(self, obj):
        return f"grads[{self.grad!r}]" if self.kind == "dict" else f"{type(obj).__name__}.{self.grad}"


def array_ids(obj):
    return {n: id(v) for n, v in vars(obj).items() if isinstance(v, np.ndarray)} if hasattr(obj, "__dict__") else {}


def find_params(obj, explicit=None, ids_before_forward=None):
    """The parameters of ``obj``: explicit names, params/grads dicts, or X/dX attribute pairs.

    An array X that forward() reads without re-assigning it is a parameter when the
    object has an attribute dX, whatever backward() left in it: a dX still None
    (a gradient backward() never set) is then reported, not skipped. When no dX
    at all was set, the gradients are most likely stored under other names: an
    error says how to name them.

    Args:
        explicit: {"W": "dW", ...} or ["W", "b"] (gradient "d" + name); {} checks dx only.
        ids_before_forward: array ids before forward; attributes re-assigned by
            forward are caches (x, out, mask), not parameters.
    """
    if explicit is not None:
        refs = [ParamRef(p, "attr", p, g) for p, g in _pairs(explicit)]
        for ref in refs:
            for attr, fits in ((ref.param, isinstance(getattr(obj, ref.param, None), np.ndarray)),
                               (ref.grad, is_gradient(getattr(obj, ref.grad, None)))):
                if not fits:
                    raise ValueError(f"gradcheck: parameter {ref.param!r} was named but {type(obj).__name__}.{attr} "
                                     f"is not an array after backward(). Arrays on the object: {_arrays(obj)}")
        return refs
    if isinstance(getattr(obj, "params", None), dict) and isinstance(getattr(obj, "grads", None), dict):
        return [ParamRef(k, "dict", k, k) for k in obj.params]
    refs = [ParamRef(name, "attr", name, "d" + name) for name in _stable_arrays(obj, ids_before_forward)
            if hasattr(obj, "d" + name)]
    unset = [r.param for r in refs if not is_gradient(r.gradient(obj))]
    unpaired = unset + unpaired_arrays(obj, refs, ids_before_forward)
    if unpaired and len(unset) == len(refs):  # no gradient set at all: stored under other names, most likely
        raise ValueError(
            f"gradcheck: {type(obj).__name__} holds arrays {unpaired} but no gradient for them was found. "
            "Expected params/grads dicts with the same keys, or attribute pairs X/dX (W/dW, b/db, gamma/dgamma) "
            "filled by backward(). Name them with params={'W': 'grad_W'}, or params={} to check dx only.")
    return refs


def _pairs(explicit):
    return explicit.items() if isinstance(explicit, dict) else [(n, "d" + n) for n in explicit]


def is_gradient(value):
    """An array, or a scalar (``np.sum(...)`` gives an np.float64, a scalar parameter's gradient)."""
    return isinstance(value, np.ndarray) or _is_number(value)


def _is_number(value):
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def scalar_attributes(obj, explicit=None):
    """Number attributes X (``self.w = 2.0``) with a gradient attribute dX that is None or a scalar: scalar
    parameters, which finite differences can perturb only when held as 0-d arrays (``as_arrays``)."""
    names = vars(obj) if hasattr(obj, "__dict__") else ()
    pairs = _pairs(explicit) if explicit is not None else [(n, "d" + n) for n in names]
    return [p for p, g in pairs if _is_number(getattr(obj, p, None)) and hasattr(obj, g)
            and (getattr(obj, g) is None or is_gradient(getattr(obj, g)) and np.ndim(getattr(obj, g)) == 0)]


def as_arrays(obj, attributes):
    """Hold the number attributes ``attributes``, and numbers in a ``params`` dict, as 0-d float64 arrays
    (on a copy: perturbations go into arrays in place). Returns their labels."""
    for name in attributes:
        setattr(obj, name, np.array(getattr(obj, name), dtype=np.float64))
    held = [f"{type(obj).__name__}.{name}" for name in attributes]
    params = getattr(obj, "params", None)
    if isinstance(params, dict) and isinstance(getattr(obj, "grads", None), dict):
        for key in [k for k, v in params.items() if _is_number(v)]:
            params[key] = np.array(params[key], dtype=np.float64)
            held.append(f"params[{key!r}]")
    return held


def _stable_arrays(obj, ids_before_forward):
    """Names of the array attributes forward() left in place (caches it re-assigns are not parameters)."""
    ids = ids_before_forward or {}
    return [n for n, v in (vars(obj).items() if hasattr(obj, "__dict__") else [])
            if isinstance(v, np.ndarray) and ids.get(n) == id(v)]


def unpaired_arrays(obj, refs, ids_before_forward):
    """Float arrays forward() left in place that have no gradient attribute: parameters or constants."""
    paired = {r.param for r in refs}
    return [n for n in _stable_arrays(obj, ids_before_forward)
            if n not in paired and getattr(obj, n).dtype.kind == "f"]


def _arrays(obj):
    return sorted(n for n, v in vars(obj).items() if isinstance(v, np.ndarray)) if hasattr(obj, "__dict__") else []


def call_forward(obj, x, training, who="gradcheck"):
    """obj.forward(x[, training]) with a clear error naming the input shape on failure."""
    try:
        return obj.forward(x, **forward_kwargs(obj, training))
    except Exception as exc:  # re-raised with the context a user needs
        raise _with_context(exc, f"{who}: forward(x) of {type(obj).__name__} failed for x.shape={x.shape}: "
                                 f"{exc}") from exc


def call_backward(obj, dout, training, who="gradcheck"):
    """obj.backward(dout) with a clear error naming the layer, the method and the mode forward ran in (a
    backward that needs forward's training-mode cache fails after ``forward(x, training=False)``)."""
    try:
        return obj.backward(dout)
    except Exception as exc:  # re-raised with the context a user needs, the original chained
        raise _with_context(exc, f"{who}: backward(dout) of {type(obj).__name__} failed{mode_words(obj, training)} "
                                 f"for dout.shape={np.shape(dout)}: {type(exc).__name__}: {exc}") from exc


def call_net(net, method, x, t, kwargs=None):
    """net.gradient(x, t) or net.loss(x, t[, train_flg]) with a clear error naming the net, the method and the
    mode on failure (the original exception chained)."""
    kwargs = kwargs or {}
    try:
        return getattr(net, method)(x, t, **kwargs)
    except Exception as exc:  # re-raised with the context a user needs
        args = ", ".join(["x", "t"] + [f"{k}={v}" for k, v in kwargs.items()])
        raise _with_context(exc, f"gradcheck_net: {method}({args}) of {type(net).__name__} failed for "
                                 f"x.shape={np.shape(x)}, t.shape={np.shape(t)}: {type(exc).__name__}: {exc}") from exc


def mode_words(obj, training):
    """" in training=False mode (forward(x, training=False) ran just before)", or "" when forward takes no mode."""
    kwargs = forward_kwargs(obj, training)
    if not kwargs:
        return ""
    name = next(iter(kwargs))
    return f" in {name}={training} mode (forward(x, {name}={training}) ran just before)"


def _with_context(exc, message):
    """``exc``'s type with ``message`` (a RuntimeError when that type cannot be built from one string)."""
    try:
        return type(exc)(message)
    except Exception:  # an exception type whose constructor takes other arguments (UnicodeDecodeError, ...)
        return RuntimeError(message)


def kink_signature(obj):
    """This project's layers and models expose which side of each kink they are on."""
    fn = getattr(obj, "kink_signature", None)
    return list(fn()) if callable(fn) else []
