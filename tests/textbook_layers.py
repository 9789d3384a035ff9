"""Textbook-style (Deep Learning from Scratch) layers and nets: correct ones and deliberately broken ones.

Each broken class carries ``MUST_NAME``: the parameter the gradient checker must name.
"""
from collections import OrderedDict

import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


class Affine:
    def __init__(self, W, b):
        self.W, self.b = W, b
        self.x = self.dW = self.db = None

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, dout):
        self.dW = self.x.T @ dout
        self.db = dout.sum(axis=0)
        return dout @ self.W.T


class Relu:
    def forward(self, x):
        self.mask = x <= 0
        out = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, dout):
        return np.where(self.mask, 0.0, dout)


class Sigmoid:
    def forward(self, x):
        self.out = sigmoid(x)
        return self.out

    def backward(self, dout):
        return dout * (1.0 - self.out) * self.out


class Tanh:
    def forward(self, x):
        self.out = np.tanh(x)
        return self.out

    def backward(self, dout):
        return dout * (1 - self.out ** 2)


class Square:
    def forward(self, x):
        self.x = x
        return x ** 2

    def backward(self, dout):
        return 2 * dout * self.x


class Dropout:
    """Textbook dropout drawing its mask from the global NumPy RNG."""

    def __init__(self, ratio=0.5):
        self.ratio = ratio

    def forward(self, x, train_flg=True):
        if train_flg:
            self.mask = np.random.rand(*x.shape) > self.ratio
            return x * self.mask
        return x * (1.0 - self.ratio)

    def backward(self, dout):
        return dout * self.mask


class SoftmaxWithLoss:
    def forward(self, x, t):
        self.t = t
        e = np.exp(x - x.max(axis=1, keepdims=True))
        self.y = e / e.sum(axis=1, keepdims=True)
        return -np.sum(t * np.log(self.y + 1e-7)) / x.shape[0]

    def backward(self, dout=1):
        return (self.y - self.t) * dout / self.t.shape[0]


class TwoLayerNet:
    """The textbook two-layer net: params dict, layers sharing its arrays, gradient(x, t)."""

    def __init__(self, n_in, n_hidden, n_out, seed=0, activation=Relu):
        rng = np.random.default_rng(seed)
        self.params = {"W1": 0.5 * rng.standard_normal((n_in, n_hidden)), "b1": 0.1 * rng.standard_normal(n_hidden),
                       "W2": 0.5 * rng.standard_normal((n_hidden, n_out)), "b2": 0.1 * rng.standard_normal(n_out)}
        self.layers = OrderedDict(Affine1=Affine(self.params["W1"], self.params["b1"]), Act=activation(),
                                  Affine2=Affine(self.params["W2"], self.params["b2"]))
        self.last_layer = self.loss_layer()

    def loss_layer(self):
        return SoftmaxWithLoss()

    def predict(self, x):
        for layer in self.layers.values():
            x = layer.forward(x)
        return x

    def loss(self, x, t):
        return self.last_layer.forward(self.predict(x), t)

    def gradient(self, x, t):
        self.loss(x, t)
        dout = self.last_layer.backward(1)
        for layer in reversed(self.layers.values()):
            dout = layer.backward(dout)
        return {"W1": self.layers["Affine1"].dW, "b1": self.layers["Affine1"].db,
                "W2": self.layers["Affine2"].dW, "b2": self.layers["Affine2"].db}


# -- broken layers ----------------------------------------------------------------------
class TransposedGradient(Affine):
    MUST_NAME = "W"

    def backward(self, dout):
        dx = super().backward(dout)
        self.dW = self.dW.T.copy()
        return dx


class BiasSummedOverWrongTensor(Affine):
    MUST_NAME = "b"

    def backward(self, dout):
        dx = super().backward(dout)
        self.db = self.x.sum(axis=0)  # the input, not dout
        return dx


class DerivativeAtWrongPoint(Sigmoid):
    MUST_NAME = "dx"

    def backward(self, dout):
        s = sigmoid(self.out)  # sigma'(sigma(x)) instead of sigma'(x)
        return dout * s * (1 - s)


class DerivativeAppliedTwice(Tanh):
    MUST_NAME = "dx"

    def backward(self, dout):
        return dout * (1 - self.out ** 2) ** 2


class MissingFactorOfTwo(Square):
    MUST_NAME = "dx"

    def backward(self, dout):
        return dout * self.x


class SignError(Affine):
    MUST_NAME = "dx"

    def backward(self, dout):
        return -super().backward(dout)


class WritesIntoDout(Relu):
    """The textbook ReLU's own habit: zero the upstream gradient in place."""
    MUST_NAME = "dout"

    def backward(self, dout):
        dout[self.mask] = 0
        return dout


class MaskRedrawnInBackward(Dropout):
    MUST_NAME = "dx"

    def backward(self, dout):
        return dout * (np.random.rand(*dout.shape) > self.ratio)


BROKEN_LAYERS = [TransposedGradient, BiasSummedOverWrongTensor, DerivativeAtWrongPoint, DerivativeAppliedTwice,
                 MissingFactorOfTwo, SignError, WritesIntoDout, MaskRedrawnInBackward]


# -- broken nets ------------------------------------------------------------------------
class LossWithoutMean(SoftmaxWithLoss):
    def backward(self, dout=1):
        return (self.y - self.t) * dout  # missing 1/N


class MissingOneOverN(TwoLayerNet):
    MUST_NAME = ("W1", "b1", "W2", "b2")

    def loss_layer(self):
        return LossWithoutMean()


class BatchSizeScaledTwice(TwoLayerNet):
    """Divides by the batch size in the loss *and* again in the weight gradients."""
    MUST_NAME = ("W1", "W2")

    def gradient(self, x, t):
        grads = super().gradient(x, t)
        return {k: v / x.shape[0] if k.startswith("W") else v for k, v in grads.items()}


BROKEN_NETS = [MissingOneOverN, BatchSizeScaledTwice]
