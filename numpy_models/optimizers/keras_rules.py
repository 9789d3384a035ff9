"""Keras's optimizers, written the way Keras writes their ``update_step``.

Parity: ``keras.optimizers.<Name>`` (TF backend). Constants that Keras passes
through ``ops.cast`` (momentum, beta powers, Nadam's 0.96, weight decay,
Adagrad's initial accumulator) are float32-rounded via ``constant``; the ones
Keras multiplies in as Python floats (rho, epsilon, 1 - beta for Adam) stay exact.
"""
import numpy as np

from numpy_models.optimizers.base import Optimizer, check_betas, check_unit_interval, constant


class SGD(Optimizer):
    """``w -= lr g``; momentum: ``m = mu m - lr g; w += m``; nesterov: ``w += mu m - lr g``."""

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        check_unit_interval(self.name, "momentum", momentum)
        self.momentum, self.nesterov = momentum, nesterov
        self.SLOTS = ("momentum",) if momentum != 0 else ()
        self.slots = {s: {} for s in self.SLOTS}

    def update_step(self, key, w, g, lr):
        if not self.momentum:
            w -= g * lr
            return
        mu = constant(self.momentum, w.dtype)
        m = self.slots["momentum"][key]
        m[...] = m * mu - g * lr
        if self.nesterov:
            w += m * mu - g * lr
        else:
            w += m


class RMSprop(Optimizer):
    """``v = rho v + (1-rho) g^2``; ``w -= lr g / sqrt(v + eps)`` (eps inside the root)."""

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        check_unit_interval(self.name, "rho", rho)
        check_unit_interval(self.name, "momentum", momentum)
        self.rho, self.momentum, self.epsilon, self.centered = rho, momentum, epsilon, centered
        self.SLOTS = ("velocity",) + (("momentum",) if momentum > 0 else ()) + (("average_gradient",) if centered else ())
        self.slots = {s: {} for s in self.SLOTS}

    def update_step(self, key, w, g, lr):
        rho = self.rho
        v = self.slots["velocity"][key]
        v[...] = rho * v + (1 - rho) * np.square(g)
        if self.centered:
            a = self.slots["average_gradient"][key]
            a[...] = rho * a + (1 - rho) * g
            denominator = v - np.square(a) + self.epsilon
        else:
            denominator = v + self.epsilon
        increment = lr * g / np.sqrt(denominator)
        if self.momentum > 0:
            mo = self.slots["momentum"][key]
            mo[...] = self.momentum * mo + increment
            w -= mo
        else:
            w -= increment


class Adagrad(Optimizer):
    """``h += g^2`` (h0 = initial_accumulator_value); ``w -= lr g / sqrt(h + eps)``."""

    SLOTS = ("accumulator",)

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        if not (np.isfinite(initial_accumulator_value) and initial_accumulator_value >= 0):
            raise ValueError(f"{self.name}: initial_accumulator_value must be >= 0. Received: {initial_accumulator_value!r}")
        self.initial_accumulator_value, self.epsilon = initial_accumulator_value, epsilon

    def slot_initial(self, slot, dtype):
        return constant(self.initial_accumulator_value, dtype)

    def update_step(self, key, w, g, lr):
        h = self.slots["accumulator"][key]
        h += np.square(g)
        w -= lr * g / np.sqrt(h + self.epsilon)


class Adadelta(Optimizer):
    """Zeiler's Adadelta with Keras's default lr 0.001 (not 1.0)."""

    SLOTS = ("accumulated_grad", "accumulated_delta_var")

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        check_unit_interval(self.name, "rho", rho)
        self.rho, self.epsilon = rho, epsilon

    def update_step(self, key, w, g, lr):
        rho, eps = self.rho, self.epsilon
        eg, ed = self.slots["accumulated_grad"][key], self.slots["accumulated_delta_var"][key]
        eg[...] = rho * eg + (1 - rho) * np.square(g)
        delta = -(np.sqrt(ed + eps) * g) / np.sqrt(eg + eps)
        ed[...] = rho * ed + (1 - rho) * np.square(delta)
        w += lr * delta


class Adam(Optimizer):
    """``alpha = lr sqrt(1-b2^t)/(1-b1^t)``; ``w -= alpha m / (sqrt(v) + eps)`` (the eps-hat form)."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        check_betas(self.name, beta_1, beta_2)
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = beta_1, beta_2, epsilon, amsgrad
        self.SLOTS = ("momentum", "velocity") + (("velocity_hat",) if amsgrad else ())
        self.slots = {s: {} for s in self.SLOTS}

    def update_step(self, key, w, g, lr):
        t = self.iterations + 1
        b1_power = constant(self.beta_1, w.dtype) ** t
        b2_power = constant(self.beta_2, w.dtype) ** t
        alpha = lr * np.sqrt(1 - b2_power) / (1 - b1_power)
        m, v = self.slots["momentum"][key], self.slots["velocity"][key]
        m += (g - m) * (1 - self.beta_1)
        v += (np.square(g) - v) * (1 - self.beta_2)
        if self.amsgrad:
            v_hat = self.slots["velocity_hat"][key]
            np.maximum(v_hat, v, out=v_hat)
            v = v_hat
        w -= m * alpha / (np.sqrt(v) + self.epsilon)


class AdamW(Adam):
    """Adam with decoupled weight decay (default 0.004), applied before the Adam step."""

    def __init__(self, learning_rate=0.001, weight_decay=0.004, **kwargs):
        super().__init__(learning_rate, weight_decay=weight_decay, **kwargs)


class Adamax(Optimizer):
    """``m += (g-m)(1-b1)``; ``u = max(b2 u, |g|)``; ``w -= lr m / ((1-b1^t)(u + eps))``."""

    SLOTS = ("momentum", "norm")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        check_betas(self.name, beta_1, beta_2)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def update_step(self, key, w, g, lr):
        b1_power = constant(self.beta_1, w.dtype) ** (self.iterations + 1)
        m, u = self.slots["momentum"][key], self.slots["norm"][key]
        m += (g - m) * (1 - self.beta_1)
        u[...] = np.maximum(self.beta_2 * u, np.abs(g))
        w -= lr * m / ((1 - b1_power) * (u + self.epsilon))


class Nadam(Optimizer):
    """Adam with Nesterov momentum and Keras's momentum schedule ``b1 (1 - 0.5 * 0.96^t)``."""

    SLOTS = ("momentum", "velocity")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        check_betas(self.name, beta_1, beta_2)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.u_product = 1.0

    def before_step(self, dtype):
        # Keras updates the product once per step with exact Python floats.
        t = self.iterations + 1
        self.u_product = np.asarray(self.u_product * self.beta_1 * (1.0 - 0.5 * 0.96 ** t), dtype=dtype)

    def update_step(self, key, w, g, lr):
        dtype = w.dtype
        t = self.iterations + 1
        decay, b1, b2 = constant(0.96, dtype), constant(self.beta_1, dtype), constant(self.beta_2, dtype)
        u_t = b1 * (1.0 - 0.5 * decay ** t)
        u_t_1 = b1 * (1.0 - 0.5 * decay ** (t + 1))
        u_product_t_1 = self.u_product * u_t_1
        m, v = self.slots["momentum"][key], self.slots["velocity"][key]
        m += (g - m) * (1 - b1)
        v += (np.square(g) - v) * (1 - b2)
        m_hat = u_t_1 * m / (1 - u_product_t_1) + (1 - u_t) * g / (1 - self.u_product)
        v_hat = v / (1 - b2 ** t)
        w -= m_hat * lr / (np.sqrt(v_hat) + self.epsilon)
