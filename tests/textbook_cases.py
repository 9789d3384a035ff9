"""Randomised cases over the textbook corpus: correct code (must pass) and planted-bug twins (must be flagged,
naming the parameter and the cause). Shared by tests/test_gradcheck_textbook_corpus.py and
benchmarks/gradcheck_corpus.py (the 1,000+ case sweep).
"""
from dataclasses import dataclass, field

import numpy as np

from parity import gradcheck, gradcheck_net
from tests import textbook_corpus as tc
from tests import textbook_layers as tb
from tests import textbook_twins as tw


@dataclass
class Case:
    subject: object
    args: tuple
    options: dict = field(default_factory=dict)
    must_fail: tuple = ()  # parameters a planted bug must make fail
    cause: str = ""  # the likely cause the checker must state for them

    def run(self, seed):
        np.random.seed(seed)  # textbook Dropout draws from the global RNG: same seed, same masks, same verdict
        check = gradcheck_net if len(self.args) == 2 else gradcheck
        return check(self.subject, *self.args, seed=seed, **self.options)


def _onehot(rng, n, k):
    return np.eye(k)[rng.integers(0, k, n)]


def _relu_output(rng, shape):
    return np.maximum(rng.standard_normal(shape), 0.0)


def _mnist_like(rng, n):
    return np.where(rng.random((n, 784)) < 0.5, 0.0, rng.uniform(0, 1, (n, 784)))  # exact zeros, like blank pixels


# -- correct code ------------------------------------------------------------------------------
def relu_after_relu(rng):
    return Case(tb.Relu(), (_relu_output(rng, (int(rng.integers(2, 9)), int(rng.integers(3, 41)))),))


def maxpool_of_relu(rng):
    p = int(rng.integers(2, 4))
    s = p if rng.random() < 0.5 else 2
    h, w = (int(rng.integers(p + 1, 10)) for _ in range(2))
    return Case(tc.Pooling(p, p, s), (_relu_output(rng, (int(rng.integers(1, 4)), int(rng.integers(1, 4)), h, w)),))


def two_layer_net_784(rng):
    n = 100
    return Case(tc.two_layer_net(784, 50, 10, seed=int(rng.integers(1 << 30))), (_mnist_like(rng, n), _onehot(rng, n, 10)))


def two_layer_net_small(rng):
    d, h, k, n = (int(rng.integers(lo, hi)) for lo, hi in ((3, 40), (2, 30), (2, 10), (2, 30)))
    return Case(tc.two_layer_net(d, h, k, seed=int(rng.integers(1 << 30))), (np.maximum(rng.standard_normal((n, d)), 0),
                                                                              _onehot(rng, n, k)))


def _mlp(rng, cls=tc.MultiLayerNet, **kwargs):
    d, k, n = int(rng.integers(3, 25)), int(rng.integers(2, 8)), int(rng.integers(2, 20))
    hidden = [int(rng.integers(2, 20)) for _ in range(int(rng.integers(1, 4)))]
    net = cls(d, hidden, k, seed=int(rng.integers(1 << 30)), std=float(rng.choice([0.01, 0.1, 0.5])), **kwargs)
    return net, (rng.standard_normal((n, d)), _onehot(rng, n, k))


def weight_decay_net(rng):
    net, args = _mlp(rng, weight_decay=float(rng.uniform(0.01, 0.5)))
    return Case(net, args)


def bn_dropout_net(rng):
    net, args = _mlp(rng, batchnorm=True, dropout=float(rng.choice([0.0, 0.2, 0.5])), weight_decay=float(rng.choice([0.0, 0.1])))
    return Case(net, args)


def im2col_cnn(rng):
    c, h, w, n = int(rng.integers(1, 3)), int(rng.integers(8, 13)), int(rng.integers(8, 13)), int(rng.integers(2, 6))
    net = tc.SimpleConvNet((c, h, w), int(rng.integers(2, 5)), int(rng.integers(5, 20)), 5, seed=int(rng.integers(1 << 30)))
    return Case(net, (rng.standard_normal((n, c, h, w)), _onehot(rng, n, 5)))


def conv_layer(rng):
    fh, c, fn = int(rng.integers(1, 6)), int(rng.integers(1, 4)), int(rng.integers(1, 4))
    x = rng.standard_normal((int(rng.integers(1, 4)), c, int(rng.integers(fh, fh + 5)), int(rng.integers(fh, fh + 5))))
    return Case(tc.Convolution(rng.standard_normal((fn, c, fh, fh)), rng.standard_normal(fn), int(rng.integers(1, 3)),
                               int(rng.integers(0, 3))), (x,))


def bn_layer(rng):
    d = int(rng.integers(1, 7))
    layer = tc.BatchNormalization(rng.uniform(0.5, 2.0, d), rng.standard_normal(d))
    return Case(layer, (rng.standard_normal((int(rng.integers(2, 9)), d)) * 2 + 1,), {"training": bool(rng.random() < 0.7)})


def loss_epsilon_net(rng):
    """Correct code whose -log(y + 1e-7) loss differs from its (y - t)/N backward: std-1.0 init, tiny probabilities."""
    d, k, n = int(rng.integers(10, 30)), int(rng.integers(3, 10)), int(rng.integers(5, 20))
    net = tc.two_layer_net(d, int(rng.integers(10, 30)), k, seed=int(rng.integers(1 << 30)), std=1.0)
    return Case(net, (3 * rng.standard_normal((n, d)), _onehot(rng, n, k)))


CORRECT = {f.__name__: f for f in (relu_after_relu, maxpool_of_relu, two_layer_net_784, two_layer_net_small,
                                   weight_decay_net, bn_dropout_net, im2col_cnn, conv_layer, bn_layer, loss_epsilon_net)}


# -- planted-bug twins -------------------------------------------------------------------------
def _layer_twin(layer, x, must, cause):
    return Case(layer, (x,), must_fail=(must,), cause=cause)


def relu_doubled(rng):
    return _layer_twin(tw.ReluDoubled(), relu_after_relu(rng).args[0], "dx", "factor_2")


def pool_routes_to_min(rng):
    p = int(rng.integers(2, 4))
    x = _relu_output(rng, (int(rng.integers(1, 3)), int(rng.integers(1, 3)), 2 * p, 2 * p))
    return _layer_twin(tw.PoolingRoutesToMin(p, p), x, "dx", "wrong_routing")


def two_layer_net_784_missing_mean(rng):
    case = two_layer_net_784(rng)
    net = tc.two_layer_net(784, 50, 10, seed=int(rng.integers(1 << 30)), cls=tw.MissingOneOverN)
    return Case(net, case.args, must_fail=("W1", "b1", "W2", "b2"), cause="missing_1/N")


def two_layer_net_scaled_twice(rng):
    case = two_layer_net_small(rng)
    d, h, k = case.subject.params["W1"].shape + case.subject.params["W2"].shape[1:]
    net = tc.two_layer_net(d, h, k, seed=int(rng.integers(1 << 30)), std=0.5, cls=tw.BatchSizeScaledTwice)
    return Case(net, case.args, must_fail=("W1", "W2"), cause="extra_1/N")


def weight_decay_missing_in_gradient(rng):
    net, args = _mlp(rng, cls=tw.NoWeightDecayGradient, weight_decay=float(rng.uniform(0.05, 0.5)))
    return Case(net, args, must_fail=tuple(k for k in net.params if k.startswith("W")), cause=net.CAUSE)


def weight_decay_missing_in_loss(rng):
    net, args = _mlp(rng, cls=tw.WeightDecayOnlyInGradient, weight_decay=float(rng.uniform(0.05, 0.5)))
    return Case(net, args, must_fail=tuple(k for k in net.params if k.startswith("W")), cause=net.CAUSE)


def bn_net_beta_mean(rng):
    case = bn_dropout_net(rng)
    return Case(tc.plant(case.subject, "BatchNorm1", tw.BatchNormBetaMean), case.args, must_fail=("beta1",),
                cause="extra_1/N")


def dropout_inference_backward(rng):
    return _layer_twin(tw.DropoutInferenceBackward(float(rng.uniform(0.2, 0.6))), rng.standard_normal((4, 6)), "dx",
                       "wrong_mode")


def cnn_kernel_axes_swapped(rng):
    case = im2col_cnn(rng)
    return Case(tc.plant(case.subject, "Conv1", tw.ConvKernelAxesSwapped), case.args, must_fail=("W1",),
                cause="transposed")


def cnn_kernel_not_transposed_back(rng):
    case = im2col_cnn(rng)
    return Case(tc.plant(case.subject, "Conv1", tw.ConvKernelNotTransposedBack), case.args, must_fail=("W1",),
                cause="transposed")


def cnn_bias_sign(rng):
    case = im2col_cnn(rng)
    case.subject.params["b1"][...] = rng.standard_normal(case.subject.params["b1"].shape)  # all units active somewhere
    return Case(tc.plant(case.subject, "Conv1", tw.ConvBiasSignFlipped), case.args, must_fail=("b1",), cause="sign")


def conv_bias_sign(rng):
    case = conv_layer(rng)
    layer = tw.ConvBiasSignFlipped(case.subject.W, case.subject.b, case.subject.stride, case.subject.pad)
    return _layer_twin(layer, case.args[0], "b", "sign")


def sigmoid_at_output(rng):
    return _layer_twin(tw.SigmoidAtOutput(), rng.standard_normal((int(rng.integers(2, 6)), 5)), "dx",
                       "derivative_at_wrong_point")


def square_half(rng):
    return _layer_twin(tw.SquareHalf(), rng.standard_normal((3, int(rng.integers(2, 8)))), "dx", "factor_0.5")


def affine_transposed(rng):
    d = int(rng.integers(2, 6))
    return _layer_twin(tw.AffineTransposed(rng.standard_normal((d, d)), rng.standard_normal(d)),
                       rng.standard_normal((4, d)), "W", "transposed")


def global_average_without_mean(rng):
    x = rng.standard_normal((int(rng.integers(1, 3)), int(rng.integers(1, 3)), int(rng.integers(3, 6)), int(rng.integers(3, 6))))
    return _layer_twin(tw.GlobalAverageWithoutMean(), x, "dx", "sum_vs_mean")


def bn_layer_beta_mean(rng):
    d = int(rng.integers(1, 7))
    layer = tw.BatchNormBetaMean(rng.uniform(0.5, 2.0, d), rng.standard_normal(d))
    return _layer_twin(layer, rng.standard_normal((int(rng.integers(2, 9)), d)), "beta", "extra_1/N")


PLANTED = {f.__name__: f for f in (relu_doubled, pool_routes_to_min, two_layer_net_784_missing_mean,
                                   two_layer_net_scaled_twice, weight_decay_missing_in_gradient,
                                   weight_decay_missing_in_loss, bn_net_beta_mean, dropout_inference_backward,
                                   cnn_kernel_axes_swapped, cnn_kernel_not_transposed_back, cnn_bias_sign, conv_bias_sign, sigmoid_at_output,
                                   square_half, affine_transposed, global_average_without_mean, bn_layer_beta_mean)}


def planted_verdict(case, result):
    """(flagged with the right parameters, cause right) for a planted-bug case.

    The cause is right when it is the one stated, or an alternative the same numbers fit equally
    (a batch of 2 makes 'extra 1/N' and 'factor 0.5' the same observation); the sweep counts both ways.
    """
    flagged = not result.ok and set(case.must_fail) <= set(result.failed)
    causes = [result[name].likely_cause for name in case.must_fail]
    return flagged, all(c is not None and case.cause in [c.name, *c.alternatives] for c in causes)


def stated_first(case, result):
    """The stated cause (not an alternative) is the planted one for every parameter it must name."""
    return all(getattr(result[name].likely_cause, "name", None) == case.cause for name in case.must_fail)
