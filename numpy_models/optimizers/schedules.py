"""Learning-rate schedules: ``schedule(step, dtype) -> learning rate``.

Parity: ``keras.optimizers.schedules``; ``step`` is the optimizer's
``iterations`` before the update. Keras evaluates every schedule in float32,
even for a float64 model (``convert_to_tensor`` of the Python float
``initial_learning_rate`` is float32; measured: a float64 run differs by
~1e-7 otherwise), so these compute in float32 and return the result in the
requested dtype.
"""
import math

import numpy as np

from numpy_models.optimizers import base


COMPUTE_DTYPE = "float32"


class LearningRateSchedule:
    def __call__(self, step, dtype="float64"):
        return np.asarray(self.compute(step, np.dtype(COMPUTE_DTYPE)), dtype=dtype)

    def compute(self, step, dtype):
        raise NotImplementedError

    def get_config(self):
        return dict(self.__dict__)


class ExponentialDecay(LearningRateSchedule):
    """``lr0 * decay_rate ** (step / decay_steps)`` (floored with staircase)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False):
        if decay_steps <= 0 or decay_rate <= 0 or initial_learning_rate <= 0:
            raise ValueError("ExponentialDecay: initial_learning_rate, decay_steps and decay_rate must be > 0. "
                             f"Received: {initial_learning_rate}, {decay_steps}, {decay_rate}")
        self.initial_learning_rate, self.decay_steps = initial_learning_rate, decay_steps
        self.decay_rate, self.staircase = decay_rate, staircase

    def compute(self, step, dtype):
        f = dtype.type  # scalars: NumPy's scalar float32 pow is libm's powf, as TF's; the 0-d array path is not
        p = f(step) / f(self.decay_steps)
        if self.staircase:
            p = np.floor(p)
        # base.constant, looked up at the call: a measurement variant (exact_cast) may replace it
        lr = f(self.initial_learning_rate) * f(base.constant(self.decay_rate, dtype)) ** p
        return lr if abs(lr) >= np.finfo(dtype).tiny else f(0)  # TF flushes float32 subnormals to zero


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[i]`` while ``boundaries[i-1] < step <= boundaries[i]``."""

    def __init__(self, boundaries, values):
        if len(values) != len(boundaries) + 1 or list(boundaries) != sorted(boundaries):
            raise ValueError("PiecewiseConstantDecay: needs increasing boundaries and len(values) == len(boundaries) + 1. "
                             f"Received: boundaries={boundaries}, values={values}")
        self.boundaries, self.values = list(boundaries), list(values)

    def compute(self, step, dtype):
        index = int(np.searchsorted(self.boundaries, step, side="left"))
        return np.asarray(self.values[index], dtype)


class CosineDecay(LearningRateSchedule):
    """``lr0 * ((1 - alpha) * 0.5 * (1 + cos(pi * min(step, decay_steps) / decay_steps)) + alpha)``."""

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0):
        if decay_steps <= 0:
            raise ValueError(f"CosineDecay: decay_steps must be > 0. Received: decay_steps={decay_steps}")
        self.initial_learning_rate, self.decay_steps, self.alpha = initial_learning_rate, decay_steps, alpha

    def compute(self, step, dtype):
        f = dtype.type  # scalar arithmetic, as in ExponentialDecay
        steps = f(self.decay_steps)
        fraction = min(f(step), steps) / steps
        # TF's float32 cos is the correctly rounded value; NumPy's float32 cos can be 1 ulp off.
        cosine = f(0.5) * (f(1.0) + f(np.cos(np.float64(f(math.pi) * fraction))))
        return f(self.initial_learning_rate) * ((1 - self.alpha) * cosine + self.alpha)
