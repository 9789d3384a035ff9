"""A corpus of textbook-style code (written for this repo) for the gradient checker: NCHW im2col conv and
pooling, BatchNorm with running statistics, multi-layer nets with weight decay, BN and Dropout whose
``loss`` defaults to inference mode, a small CNN, and planted-bug twins of each.

The planted-bug twins are in tests/textbook_twins.py; ``plant`` swaps one into a built net so the twin
shares the correct net's arrays.
"""
from collections import OrderedDict

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from tests import textbook_layers as tb


def im2col(x, fh, fw, stride=1, pad=0):
    """(N, C, H, W) -> (N*OH*OW, C*FH*FW), rows in (n, oh, ow) order."""
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    win = sliding_window_view(x, (fh, fw), axis=(2, 3))[:, :, ::stride, ::stride]  # (N, C, OH, OW, FH, FW)
    n, _, oh, ow = win.shape[:4]
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, -1)


def col2im(col, shape, fh, fw, stride=1, pad=0):
    """Adjoint of im2col: overlapping windows add up. Loops over the FH*FW kernel offsets only."""
    n, c, h, w = shape
    oh, ow = (h + 2 * pad - fh) // stride + 1, (w + 2 * pad - fw) // stride + 1
    col = col.reshape(n, oh, ow, c, fh, fw).transpose(0, 3, 4, 5, 1, 2)
    img = np.zeros((n, c, h + 2 * pad + stride - 1, w + 2 * pad + stride - 1))
    for i in range(fh):
        for j in range(fw):
            img[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride] += col[:, :, i, j]
    return img[:, :, pad:h + pad, pad:w + pad]


class Affine(tb.Affine):
    """Affine that flattens (N, C, H, W) input and gives dx back in the input's shape."""

    def forward(self, x):
        self.x_shape = x.shape
        return super().forward(x.reshape(x.shape[0], -1))

    def backward(self, dout):
        return super().backward(dout).reshape(self.x_shape)


class Convolution:
    """NCHW convolution: W (FN, C, FH, FW), b (FN,)."""

    def __init__(self, W, b, stride=1, pad=0):
        self.W, self.b, self.stride, self.pad = W, b, stride, pad
        self.dW = self.db = None

    def forward(self, x):
        fn, _, fh, fw = self.W.shape
        n, _, h, w = x.shape
        oh, ow = (h + 2 * self.pad - fh) // self.stride + 1, (w + 2 * self.pad - fw) // self.stride + 1
        self.x_shape, self.col = x.shape, im2col(x, fh, fw, self.stride, self.pad)
        self.col_W = self.W.reshape(fn, -1).T
        out = self.col @ self.col_W + self.b
        return out.reshape(n, oh, ow, -1).transpose(0, 3, 1, 2)

    def backward(self, dout):
        fn, c, fh, fw = self.W.shape
        dout = dout.transpose(0, 2, 3, 1).reshape(-1, fn)
        self.db = dout.sum(axis=0)
        self.dW = (self.col.T @ dout).T.reshape(fn, c, fh, fw)
        return col2im(dout @ self.col_W.T, self.x_shape, fh, fw, self.stride, self.pad)


class Pooling:
    """NCHW max pooling; the gradient goes to the first maximum of each window."""

    def __init__(self, pool_h, pool_w, stride=None):
        self.pool_h, self.pool_w, self.stride = pool_h, pool_w, stride or pool_h

    def _argpick(self, col):
        return np.argmax(col, axis=1)

    def forward(self, x):
        n, c, h, w = x.shape
        oh, ow = (h - self.pool_h) // self.stride + 1, (w - self.pool_w) // self.stride + 1
        col = im2col(x, self.pool_h, self.pool_w, self.stride).reshape(-1, self.pool_h * self.pool_w)
        self.x_shape, self.arg = x.shape, self._argpick(col)
        return col.max(axis=1).reshape(n, oh, ow, c).transpose(0, 3, 1, 2)

    def backward(self, dout):
        size = self.pool_h * self.pool_w
        dout = dout.transpose(0, 2, 3, 1)
        dmax = np.zeros((dout.size, size))
        dmax[np.arange(dout.size), self.arg] = dout.reshape(-1)
        dcol = dmax.reshape(dout.shape[0] * dout.shape[1] * dout.shape[2], -1)
        return col2im(dcol, self.x_shape, self.pool_h, self.pool_w, self.stride)


class GlobalAverage:
    """(N, C, H, W) -> (N, C): the mean over H and W."""

    def forward(self, x):
        self.x_shape = x.shape
        return x.mean(axis=(2, 3))

    def backward(self, dout):
        n, c, h, w = self.x_shape
        return np.broadcast_to(dout[:, :, None, None] / (h * w), self.x_shape).copy()


class BatchNormalization:
    """Textbook BN over (N, D): batch statistics when training, running statistics otherwise."""

    def __init__(self, gamma, beta, momentum=0.9):
        self.gamma, self.beta, self.momentum = gamma, beta, momentum
        self.running_mean = self.running_var = None
        self.dgamma = self.dbeta = None

    def forward(self, x, train_flg=True):
        if self.running_mean is None:
            self.running_mean, self.running_var = np.zeros(x.shape[1]), np.ones(x.shape[1])
        self.train_flg = train_flg
        if train_flg:
            mu = x.mean(axis=0)
            self.xc = x - mu
            var = np.mean(self.xc ** 2, axis=0)
            self.std = np.sqrt(var + 1e-7)
            self.xn = self.xc / self.std
            self.running_mean = self.momentum * self.running_mean + (1 - self.momentum) * mu
            self.running_var = self.momentum * self.running_var + (1 - self.momentum) * var
        else:
            self.std = np.sqrt(self.running_var + 1e-7)
            self.xn = (x - self.running_mean) / self.std
        return self.gamma * self.xn + self.beta

    def backward(self, dout):
        n = dout.shape[0]
        self.dbeta, self.dgamma = dout.sum(axis=0), np.sum(self.xn * dout, axis=0)
        dxn = self.gamma * dout
        dxc = dxn / self.std
        if not self.train_flg:  # running statistics are constants
            return dxc
        dvar = 0.5 * -np.sum(dxn * self.xc / self.std ** 2, axis=0) / self.std
        dxc = dxc + (2.0 / n) * self.xc * dvar
        return dxc - dxc.sum(axis=0) / n


def _forward(layer, x, train_flg):
    if isinstance(layer, (tb.Dropout, BatchNormalization)):
        return layer.forward(x, train_flg)
    return layer.forward(x)


class MultiLayerNet:
    """Affine-[BN]-ReLU-[Dropout] x len(hidden) then Affine-Softmax; weight decay 0.5 * lam * sum W^2.

    ``loss(x, t, train_flg=False)`` defaults to inference mode; ``gradient`` runs in training mode.
    """

    def __init__(self, n_in, hidden, n_out, seed=0, std=0.1, weight_decay=0.0, batchnorm=False, dropout=0.0):
        rng = np.random.default_rng(seed)
        sizes, self.weight_decay, self.params, self.layers = [n_in, *hidden, n_out], weight_decay, {}, OrderedDict()
        self.n_affine = len(sizes) - 1
        for i in range(1, len(sizes)):
            w, b = std * rng.standard_normal((sizes[i - 1], sizes[i])), np.zeros(sizes[i])
            self.params[f"W{i}"], self.params[f"b{i}"] = w, b
            self.layers[f"Affine{i}"] = Affine(w, b)
            if i == len(sizes) - 1:
                break
            if batchnorm:
                self.params[f"gamma{i}"], self.params[f"beta{i}"] = np.ones(sizes[i]), np.zeros(sizes[i])
                self.layers[f"BatchNorm{i}"] = BatchNormalization(self.params[f"gamma{i}"], self.params[f"beta{i}"])
            self.layers[f"Relu{i}"] = tb.Relu()
            if dropout:
                self.layers[f"Dropout{i}"] = tb.Dropout(dropout)
        self.last_layer = tb.SoftmaxWithLoss()

    def predict(self, x, train_flg=False):
        for layer in self.layers.values():
            x = _forward(layer, x, train_flg)
        return x

    def loss(self, x, t, train_flg=False):
        decay = sum(0.5 * self.weight_decay * np.sum(self.params[f"W{i}"] ** 2) for i in range(1, self.n_affine + 1))
        return self.last_layer.forward(self.predict(x, train_flg), t) + decay

    def backprop(self, x, t):
        self.loss(x, t, train_flg=True)
        dout = self.last_layer.backward(1)
        for layer in reversed(self.layers.values()):
            dout = layer.backward(dout)

    def gradient(self, x, t):
        self.backprop(x, t)
        grads = {}
        for i in range(1, self.n_affine + 1):
            affine = self.layers[f"Affine{i}"]
            grads[f"W{i}"], grads[f"b{i}"] = affine.dW + self.weight_decay * affine.W, affine.db
            if f"BatchNorm{i}" in self.layers:
                grads[f"gamma{i}"], grads[f"beta{i}"] = self.layers[f"BatchNorm{i}"].dgamma, self.layers[f"BatchNorm{i}"].dbeta
        return grads


class SimpleConvNet:
    """conv (5x5, NCHW, im2col) - ReLU - max-pool 2x2 - affine - ReLU - affine - softmax."""

    def __init__(self, input_dim=(1, 12, 12), filters=4, hidden=20, n_out=5, seed=0, std=0.01):
        rng = np.random.default_rng(seed)
        c, h, w = input_dim
        pooled = filters * ((h - 4) // 2) * ((w - 4) // 2)
        self.params = {"W1": std * rng.standard_normal((filters, c, 5, 5)), "b1": np.zeros(filters),
                       "W2": std * rng.standard_normal((pooled, hidden)), "b2": np.zeros(hidden),
                       "W3": std * rng.standard_normal((hidden, n_out)), "b3": np.zeros(n_out)}
        p = self.params
        self.layers = OrderedDict(Conv1=Convolution(p["W1"], p["b1"]), Relu1=tb.Relu(), Pool1=Pooling(2, 2),
                                  Affine1=Affine(p["W2"], p["b2"]), Relu2=tb.Relu(), Affine2=Affine(p["W3"], p["b3"]))
        self.last_layer = tb.SoftmaxWithLoss()

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
        names = [("W1", "b1", "Conv1"), ("W2", "b2", "Affine1"), ("W3", "b3", "Affine2")]
        return {k: v for w, b, name in names for k, v in ((w, self.layers[name].dW), (b, self.layers[name].db))}


def two_layer_net(n_in, n_hidden, n_out, seed=0, std=0.01, cls=tb.TwoLayerNet):
    """The textbook TwoLayerNet with its usual ``weight_init_std`` (0.01), zero biases."""
    net, rng = cls(n_in, n_hidden, n_out, seed=seed), np.random.default_rng(seed)
    for key, value in net.params.items():  # in place: the layers share these arrays
        value[...] = std * rng.standard_normal(value.shape) if key.startswith("W") else 0.0
    return net


def plant(net, layer_name, cls):
    """Swap a planted-bug subclass into a built net (the twin keeps the net's arrays)."""
    net.layers[layer_name].__class__ = cls
    return net
