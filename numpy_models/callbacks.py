"""Per-epoch learning-rate callbacks for a NumPy training loop, with Keras's exact semantics.

A loop drives them as ``model.fit`` drives Keras callbacks: ``on_train_begin()``,
then per epoch ``on_epoch_begin(epoch)``, the steps, and
``on_epoch_end(epoch, logs)`` with Python-float logs ("loss", "val_loss", ...).
Each callback changes ``optimizer.learning_rate`` of the optimizer given to
``set_optimizer(optimizer, dtype)``; ``dtype`` is the dtype of Keras's
learning-rate variable (floatx), because Keras reads and writes the rate
through that variable: in float32 every read and write is float32-rounded.

- ``PiecewiseConstantPlan``: a stepped per-epoch plan (LeNet's), for ``LearningRateScheduler``.
- ``LearningRateScheduler``: ``lr = schedule(epoch, lr)`` at the start of every epoch.
- ``ReduceLROnPlateau``: ``lr *= factor`` when the monitored value stops improving.
"""
import bisect

import numpy as np

from numpy_models._validation import standardize_dtype


class Callback:
    """Base class: the optimizer whose rate it sets, and the dtype of Keras's rate variable."""

    def __init__(self):
        self.optimizer, self.dtype = None, None

    def set_optimizer(self, optimizer, dtype):
        self.optimizer, self.dtype = optimizer, standardize_dtype(dtype, type(self).__name__)

    def on_train_begin(self, logs=None):
        """Called once before the first epoch."""

    def on_epoch_begin(self, epoch, logs=None):
        """Called before the first step of ``epoch`` (0-based)."""

    def on_epoch_end(self, epoch, logs=None):
        """Called after the epoch's steps and evaluation; Keras adds "learning_rate" to ``logs``."""
        if logs is not None:
            logs["learning_rate"] = self.get_learning_rate()

    def get_learning_rate(self):
        """``float(optimizer.learning_rate)`` as Keras reads it: the value held by a ``dtype`` variable."""
        if self.optimizer is None:
            raise ValueError(f"{type(self).__name__}: call set_optimizer(optimizer, dtype) before training.")
        if callable(self.optimizer.learning_rate):
            raise TypeError(f"{type(self).__name__}: this optimizer was created with a learning-rate schedule, so its "
                            "learning rate is not settable (as in Keras); give it a float learning_rate. "
                            f"Received: learning_rate={self.optimizer.learning_rate!r}")
        return float(np.asarray(self.optimizer.learning_rate, dtype=self.dtype))

    def _set_learning_rate(self, value):
        self.get_learning_rate()  # same checks as a read
        self.optimizer.learning_rate = float(np.asarray(value, dtype=self.dtype))  # Variable.assign casts to dtype


class PiecewiseConstantPlan:
    """A stepped per-epoch rate: ``values[i]`` from epoch ``boundaries[i - 1]`` (0-based) on.

    ``PiecewiseConstantPlan([2, 5], [5e-4, 2e-4, 1e-4])`` gives 5e-4 for epochs 0-1,
    2e-4 for epochs 2-4 and 1e-4 from epoch 5 (LeNet's plan, LeCun et al. 1998).
    Call it as ``plan(epoch, lr)``: the signature of ``LearningRateScheduler``'s schedule.

    Parity: plays the role of ``keras.optimizers.schedules.PiecewiseConstantDecay`` per epoch
    (that schedule counts steps and its boundaries are inclusive); the same object is handed to
    ``keras.callbacks.LearningRateScheduler``.
    """

    def __init__(self, boundaries, values):
        boundaries, values = list(boundaries), [float(v) for v in values]
        if len(values) != len(boundaries) + 1:
            raise ValueError("PiecewiseConstantPlan: needs one more value than boundaries. "
                             f"Received: boundaries={boundaries}, values={values}")
        ints = all(isinstance(b, (int, np.integer)) for b in boundaries)
        if not ints or any(b <= 0 for b in boundaries) or boundaries != sorted(set(boundaries)):
            raise ValueError("PiecewiseConstantPlan: boundaries must be strictly increasing positive epoch indices. "
                             f"Received: boundaries={boundaries}")
        if not all(np.isfinite(v) and v > 0 for v in values):
            raise ValueError(f"PiecewiseConstantPlan: values must be finite rates > 0. Received: values={values}")
        self.boundaries, self.values = boundaries, values

    def __call__(self, epoch, lr=None):
        return self.values[bisect.bisect_right(self.boundaries, epoch)]

    def __repr__(self):
        return f"PiecewiseConstantPlan(boundaries={self.boundaries}, values={self.values})"


class LearningRateScheduler(Callback):
    """At the start of every epoch: ``lr = schedule(epoch, lr)`` (or ``schedule(epoch)``).

    Parity: ``keras.callbacks.LearningRateScheduler``: ``lr`` is read from the rate variable,
    a one-argument schedule is called when the two-argument call raises TypeError, the result
    must be a Python float or np.float32/np.float64. ``verbose`` must be 0 (no printing here).
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"LearningRateScheduler: schedule must be callable. Received: schedule={schedule!r}")
        _refuse_verbose("LearningRateScheduler", verbose)
        self.schedule = schedule

    def on_epoch_begin(self, epoch, logs=None):
        lr = self.get_learning_rate()
        try:
            lr = self.schedule(epoch, lr)
        except TypeError:  # Keras's fallback for the old one-argument API
            lr = self.schedule(epoch)
        if not isinstance(lr, (float, np.float32, np.float64)):
            raise ValueError(f"The output of the `schedule` function should be a float. Got: {lr}")
        self._set_learning_rate(lr)


def _refuse_verbose(who, verbose):
    if verbose:
        raise ValueError(f"{who}: verbose printing is not supported (the training loop records the rate per "
                         f"epoch instead). Received: verbose={verbose!r}")


# monitor="auto": the direction Keras infers for these names (after removing "val_"); others need mode=.
AUTO_DIRECTIONS = {"loss": "min", "accuracy": "max"}


class ReduceLROnPlateau(Callback):
    """Multiply the rate by ``factor`` once ``monitor`` has not improved for ``patience`` epochs.

    At the end of every epoch (Keras's order): in cooldown, count it down and reset ``wait``;
    an improvement (``current - min_delta < best`` in 'min' mode, ``current + min_delta > best``
    in 'max' mode, the first value always) becomes ``best`` and resets ``wait``; otherwise, out of
    cooldown, ``wait += 1`` and at ``wait >= patience`` the rate becomes
    ``max(lr * factor, min_lr)`` if ``lr > float32(min_lr)``, then ``cooldown`` epochs follow.

    Parity: ``keras.callbacks.ReduceLROnPlateau``, including its float32 arithmetic: the
    improvement test runs on float32 tensors (``ops.less`` turns the Python floats into float32
    whatever floatx is), and ``lr`` is compared with ``np.float32(min_lr)``. Deliberate
    differences: an unknown ``mode`` or a missing monitored value raise (Keras warns and falls
    back to 'auto' or skips the epoch); 'auto' knows "loss" and "accuracy" (Keras asks the
    compiled metrics), other names need ``mode``; ``verbose`` must be 0.
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto", min_delta=1e-4,
                 cooldown=0, min_lr=0.0):
        super().__init__()
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}")
        _refuse_verbose("ReduceLROnPlateau", verbose)
        self.monitor, self.factor, self.patience = monitor, factor, patience
        self.cooldown, self.min_lr = cooldown, min_lr
        self.mode = _direction(monitor, mode)
        self.min_delta = abs(min_delta) * (-1 if self.mode == "min" else 1)  # Keras flips the sign for 'min'
        self.best, self.wait, self.cooldown_counter = None, 0, 0

    def on_train_begin(self, logs=None):
        self.best, self.wait, self.cooldown_counter = None, 0, 0

    def in_cooldown(self):
        return self.cooldown_counter > 0

    def _is_improvement(self, current):
        if self.best is None:
            return True
        shifted, best = np.float32(current - self.min_delta), np.float32(self.best)  # ops.less/greater in float32
        return bool(shifted < best) if self.mode == "min" else bool(shifted > best)

    def on_epoch_end(self, epoch, logs=None):
        logs = {} if logs is None else logs
        super().on_epoch_end(epoch, logs)
        if logs.get(self.monitor) is None:
            raise KeyError(f"ReduceLROnPlateau: the monitored value {self.monitor!r} is not in the logs. "
                           f"Received: logs with keys {sorted(logs)}")
        current = float(logs[self.monitor])  # model.fit hands callbacks Python floats
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current):
            self.best, self.wait = current, 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience and self._reduce():
                self.cooldown_counter, self.wait = self.cooldown, 0

    def _reduce(self):
        old_lr = self.get_learning_rate()
        if old_lr > np.float32(self.min_lr):  # a Python float against np.float32: compared in float32 (NEP 50)
            self._set_learning_rate(max(old_lr * self.factor, self.min_lr))
            return True
        return False


def _direction(monitor, mode):
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"ReduceLROnPlateau: mode must be 'auto', 'min' or 'max'. Received: mode={mode!r}")
    if mode != "auto":
        return mode
    name = monitor.removeprefix("val_")
    if name not in AUTO_DIRECTIONS:
        raise ValueError(f"ReduceLROnPlateau callback received monitor={monitor}, but the direction of that metric "
                         "cannot be inferred. Pass `mode='max'` in order to monitor based on the highest metric "
                         "value, or pass `mode='min'` in order to use the lowest value.")
    return AUTO_DIRECTIONS[name]
