"""The optimizer protocol: ``optimizer.update(params, grads)`` over "layer/weight" dicts.

Parity: ``keras.optimizers.Optimizer``. One update does what Keras's
``apply_gradients`` does, in the same order: clip the gradients (clipnorm per
tensor, or global_clipnorm, or clipvalue), apply decoupled weight decay
``w -= w * weight_decay * lr``, run ``update_step`` for every parameter, then
``iterations += 1``. The learning rate (a float or a schedule) is evaluated at
the current ``iterations`` before the step.

Slots keep Keras's names ("momentum", "velocity", ...) and are stored as
``optimizer.slots[slot_name][param_key]``. Everything is validated before any
parameter changes.
"""
import numpy as np

from numpy_models._validation import check_finite, tf_rounded


def constant(value, dtype):
    """A Python-float hyper-parameter as TF's ``ops.cast(value, dtype)`` produces it (float32-rounded)."""
    return np.asarray(tf_rounded(value), dtype=dtype)


def _check_positive(who, name, value, allow_zero=False):
    is_number = value is not None and np.ndim(value) == 0 and np.issubdtype(np.asarray(value).dtype, np.number)
    ok = is_number and np.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{who}: {name} must be a finite number {bound}. Received: {name}={value!r}")


def check_unit_interval(who, name, value):
    """Decay rates (rho, beta, momentum) must lie in [0, 1)."""
    if not (isinstance(value, (int, float, np.floating)) and 0.0 <= value < 1.0):
        raise ValueError(f"{who}: {name} must be in [0, 1). Received: {name}={value!r}")


def check_betas(who, beta_1, beta_2):
    check_unit_interval(who, "beta_1", beta_1)
    check_unit_interval(who, "beta_2", beta_2)


class Optimizer:
    """Base class; subclasses define ``SLOTS``, ``slot_initial`` and ``update_step``."""

    SLOTS = ()

    def __init__(self, learning_rate=0.001, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name=None):
        self.name = name or type(self).__name__
        if callable(learning_rate):
            self.learning_rate = learning_rate
        else:
            _check_positive(self.name, "learning_rate", learning_rate)
            self.learning_rate = float(learning_rate)
        clips = {k: v for k, v in (("clipnorm", clipnorm), ("clipvalue", clipvalue),
                                   ("global_clipnorm", global_clipnorm)) if v is not None}
        if len(clips) > 1:
            raise ValueError(f"{self.name}: only one of clipnorm, clipvalue and global_clipnorm can be set. Received: {clips}")
        for k, v in clips.items():
            _check_positive(self.name, k, v)
        if weight_decay is not None:
            _check_positive(self.name, "weight_decay", weight_decay, allow_zero=True)
        self.weight_decay, self.clipnorm, self.clipvalue, self.global_clipnorm = (
            weight_decay, clipnorm, clipvalue, global_clipnorm)
        self.iterations = 0
        self.slots = {s: {} for s in self.SLOTS}
        self._keys = None
        self.exclude_from_weight_decay_names = ()

    # -- public ------------------------------------------------------------------
    def current_learning_rate(self, dtype="float64"):
        if callable(self.learning_rate):
            return np.asarray(self.learning_rate(self.iterations, dtype), dtype=dtype)
        return np.asarray(self.learning_rate, dtype=dtype)

    def exclude_from_weight_decay(self, var_names=()):
        """Keras: parameters whose key contains any of ``var_names`` get no weight decay."""
        self.exclude_from_weight_decay_names = tuple(var_names)

    def update(self, params, grads):
        """Apply one step in place to ``params`` from ``grads`` (dicts keyed "layer/weight")."""
        self._validate(params, grads)
        if self._keys is None:
            self.build(params)
        dtype = next(iter(params.values())).dtype
        lr = self.current_learning_rate(dtype)
        grads = self._clip({k: grads[k] for k in params})
        if self.weight_decay:
            wd = constant(self.weight_decay, dtype)
            for k, p in params.items():
                if not any(n in k for n in self.exclude_from_weight_decay_names):
                    p -= p * wd * lr
        self.before_step(dtype)
        for k, p in params.items():
            self.update_step(k, p, grads[k].astype(p.dtype, copy=False), lr)
        self.iterations += 1

    def build(self, params):
        self._keys = list(params)
        for slot in self.SLOTS:
            self.slots[slot] = {k: np.full_like(p, self.slot_initial(slot, p.dtype)) for k, p in params.items()}

    def slot_initial(self, slot, dtype):
        return 0.0

    def before_step(self, dtype):
        """Hook for per-step (not per-parameter) state, e.g. Nadam's u_product."""

    def update_step(self, key, param, grad, lr):
        raise NotImplementedError

    # -- helpers ---------------------------------------------------------------------
    def _validate(self, params, grads):
        who = self.name
        if not params:
            raise ValueError(f"{who}: params is empty.")
        missing = [k for k in params if k not in grads]
        if missing:
            raise KeyError(f"{who}: grads has no entry for parameters {missing}. Received grads for: {sorted(grads)}")
        if self._keys is not None and list(params) != self._keys:
            raise KeyError(f"{who}: params changed since the first update. Expected keys {self._keys}. Received: {list(params)}")
        dtypes = {p.dtype for p in params.values()}
        if len(dtypes) != 1 or next(iter(dtypes)).name not in ("float32", "float64"):
            raise TypeError(f"{who}: all params must share one float dtype. Received: {sorted(d.name for d in dtypes)}")
        for k, p in params.items():
            g = np.asarray(grads[k])
            if g.shape != p.shape:
                raise ValueError(f"{who}: gradient for '{k}' must have the parameter's shape {p.shape}. Received: shape={g.shape}")
            check_finite(g, who, f"grads['{k}']")

    def _clip(self, grads):
        if self.clipnorm:
            c = self.clipnorm
            return {k: g * c / np.maximum(np.sqrt(np.sum(g * g)), c) for k, g in grads.items()}
        if self.global_clipnorm:
            c = self.global_clipnorm
            norm = np.sqrt(sum(np.sum(g * g) for g in grads.values()))
            scale = c * min(1.0 / norm, 1.0 / c) if norm > 0 else 1.0
            return {k: g * g.dtype.type(scale) for k, g in grads.items()}
        if self.clipvalue:
            return {k: np.clip(g, -self.clipvalue, self.clipvalue) for k, g in grads.items()}
        return grads

    def get_config(self):
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_") and k not in ("slots", "iterations")}
