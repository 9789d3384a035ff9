"""Textbook (Deep-Learning-from-Scratch style) optimizers, as named variants.

Each differs from its Keras counterpart in a documented way; ``KERAS_TWIN``
names the Keras setting that reproduces it (or comes closest) and ``REASON``
says what differs. The suite measures each difference in the report.
"""
import numpy as np

from numpy_models.optimizers.base import Optimizer, check_betas, check_unit_interval


class TextbookMomentum(Optimizer):
    """``v = a v - lr g; w += v`` with the exact momentum constant."""

    SLOTS = ("momentum",)
    KERAS_TWIN = ("SGD", {"momentum": 0.9})
    REASON = "same algebra as Keras SGD(momentum); Keras rounds the momentum constant to float32 (visible in float64 only)"

    def __init__(self, learning_rate=0.01, momentum=0.9, **kwargs):
        super().__init__(learning_rate, **kwargs)
        check_unit_interval(self.name, "momentum", momentum)
        self.momentum = momentum

    def update_step(self, key, w, g, lr):
        v = self.slots["momentum"][key]
        v[...] = self.momentum * v - lr * g
        w += v


class TextbookNesterov(TextbookMomentum):
    """DLFS Nesterov: ``v = a v - lr g; w += a^2 v - (1 + a) lr g``."""

    KERAS_TWIN = ("SGD", {"momentum": 0.9, "nesterov": True})
    REASON = "textbook look-ahead form w += a^2 v - (1+a) lr g vs Keras w += a m - lr g (a different update, not only rounding)"

    def update_step(self, key, w, g, lr):
        v = self.slots["momentum"][key]
        v[...] = self.momentum * v - lr * g
        w += self.momentum * self.momentum * v - (1 + self.momentum) * lr * g


class TextbookAdaGrad(Optimizer):
    """``h += g^2; w -= lr g / (sqrt(h) + 1e-7)`` with h0 = 0 (epsilon outside the root)."""

    SLOTS = ("accumulator",)
    KERAS_TWIN = ("Adagrad", {"initial_accumulator_value": 0.0})
    REASON = "epsilon 1e-7 outside the square root and h0 = 0; Keras puts epsilon inside and defaults h0 = 0.1"

    def update_step(self, key, w, g, lr):
        h = self.slots["accumulator"][key]
        h += g * g
        w -= lr * g / (np.sqrt(h) + 1e-7)


class TextbookRMSprop(Optimizer):
    """``h = d h + (1-d) g^2; w -= lr g / (sqrt(h) + 1e-7)``, decay_rate 0.99, h0 = 0."""

    SLOTS = ("velocity",)
    KERAS_TWIN = ("RMSprop", {"rho": 0.99})
    REASON = "epsilon 1e-7 outside the square root (Keras: inside); textbook decay 0.99 vs Keras rho default 0.9"

    def __init__(self, learning_rate=0.01, decay_rate=0.99, **kwargs):
        super().__init__(learning_rate, **kwargs)
        check_unit_interval(self.name, "decay_rate", decay_rate)
        self.decay_rate = decay_rate

    def update_step(self, key, w, g, lr):
        h = self.slots["velocity"][key]
        h *= self.decay_rate
        h += (1 - self.decay_rate) * g * g
        w -= lr * g / (np.sqrt(h) + 1e-7)


class TextbookAdam(Optimizer):
    """Kingma & Ba Algorithm 1: ``w -= lr m_hat / (sqrt(v_hat) + eps)`` with bias-corrected m_hat, v_hat."""

    SLOTS = ("momentum", "velocity")
    KERAS_TWIN = ("Adam", {})
    REASON = "epsilon added to sqrt(v_hat) (paper Algorithm 1) instead of Keras's eps-hat form sqrt(v) + eps"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        check_betas(self.name, beta_1, beta_2)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def update_step(self, key, w, g, lr):
        t = self.iterations + 1
        m, v = self.slots["momentum"][key], self.slots["velocity"][key]
        m[...] = self.beta_1 * m + (1 - self.beta_1) * g
        v[...] = self.beta_2 * v + (1 - self.beta_2) * g * g
        m_hat = m / (1 - self.beta_1 ** t)
        v_hat = v / (1 - self.beta_2 ** t)
        w -= lr * m_hat / (np.sqrt(v_hat) + self.epsilon)


TEXTBOOK = {cls.__name__: cls for cls in (TextbookMomentum, TextbookNesterov, TextbookAdaGrad,
                                          TextbookRMSprop, TextbookAdam)}
