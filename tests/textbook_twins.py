"""Planted-bug twins of the textbook corpus: each overrides one ``backward`` (or ``gradient``/``loss``) and names
the parameter the gradient checker must flag (``MUST_NAME``) and the cause it must state (``CAUSE``).
"""
import numpy as np

from tests import textbook_layers as tb
from tests.textbook_corpus import BatchNormalization, Convolution, GlobalAverage, MultiLayerNet, Pooling


# -- planted bugs: each names the parameter the checker must flag and the cause it must state ------
class ReluDoubled(tb.Relu):
    MUST_NAME, CAUSE = "dx", "factor_2"

    def backward(self, dout):
        return 2 * super().backward(dout)


class PoolingRoutesToMin(Pooling):
    MUST_NAME, CAUSE = "dx", "wrong_routing"

    def _argpick(self, col):
        return np.argmin(col, axis=1)


class ConvKernelAxesSwapped(Convolution):
    MUST_NAME, CAUSE = "W", "transposed"

    def backward(self, dout):
        dx = super().backward(dout)
        self.dW = self.dW.transpose(0, 1, 3, 2).copy()  # FH and FW swapped
        return dx


class ConvKernelNotTransposedBack(Convolution):
    """The commonest im2col slip: dW computed as col.T @ dout, shape (C*FH*FW, FN), and reshaped to (FN, C, FH, FW)
    without transposing it back first."""
    MUST_NAME, CAUSE = "W", "transposed"

    def backward(self, dout):
        dx = super().backward(dout)
        fn, c, fh, fw = self.W.shape
        self.dW = self.dW.reshape(fn, -1).T.reshape(fn, c, fh, fw).copy()  # (col.T @ dout).reshape(FN, C, FH, FW)
        return dx


class ConvBiasSignFlipped(Convolution):
    MUST_NAME, CAUSE = "b", "sign"

    def backward(self, dout):
        dx = super().backward(dout)
        self.db = -self.db
        return dx


class GlobalAverageWithoutMean(GlobalAverage):
    MUST_NAME, CAUSE = "dx", "sum_vs_mean"

    def backward(self, dout):
        return np.broadcast_to(dout[:, :, None, None], self.x_shape).copy()


class BatchNormBetaMean(BatchNormalization):
    MUST_NAME, CAUSE = "beta", "extra_1/N"

    def backward(self, dout):
        dx = super().backward(dout)
        self.dbeta = dout.mean(axis=0)
        return dx


class DropoutInferenceBackward(tb.Dropout):
    MUST_NAME, CAUSE = "dx", "wrong_mode"

    def backward(self, dout):
        return dout * (1.0 - self.ratio)  # the inference-mode derivative, though the forward pass trained


class SigmoidAtOutput(tb.DerivativeAtWrongPoint):
    CAUSE = "derivative_at_wrong_point"


class SquareHalf(tb.MissingFactorOfTwo):
    CAUSE = "factor_0.5"


class AffineTransposed(tb.TransposedGradient):
    CAUSE = "transposed"


class NoWeightDecayGradient(MultiLayerNet):
    CAUSE = "regularisation_missing_in_gradient"

    def gradient(self, x, t):
        grads = super().gradient(x, t)
        return {k: v - self.weight_decay * self.params[k] if k.startswith("W") else v for k, v in grads.items()}


class WeightDecayOnlyInGradient(MultiLayerNet):
    CAUSE = "regularisation_missing_in_loss"

    def loss(self, x, t, train_flg=False):
        return self.last_layer.forward(self.predict(x, train_flg), t)


class MissingOneOverN(tb.MissingOneOverN):
    CAUSE = "missing_1/N"


class BatchSizeScaledTwice(tb.BatchSizeScaledTwice):
    CAUSE = "extra_1/N"
