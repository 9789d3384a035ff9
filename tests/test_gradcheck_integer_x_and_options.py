"""gradcheck inputs and options a user gets wrong, or that are not float batches (user walkthrough, session 27).

- an integer x holds indices (an Embedding's token ids): passed to forward()/loss() as given (a float64 cast made
  every Embedding and text net uncheckable), the parameters checked, dx not (a note and ``dx_checked`` say so);
  the textbook duplicate-index bug (``dW[idx] = dout``) is caught;
- rtol, step and max_coords out of range are refused naming the option, the range and the value (rtol <= 0 passed
  everything; step=0 was a ZeroDivisionError, max_coords=0 "negative dimensions are not allowed");
- a forward returning several outputs (an LSTM cell's (h, c)) is refused, not stacked into one array;
- an exception in backward() (or a net's gradient()/loss()) names the layer, the method and the mode, as forward()'s
  did, with the original chained.
"""
import numpy as np
import pytest

from parity import gradcheck, gradcheck_net
from tests import textbook_layers as tb


def _rng(seed=0):
    return np.random.default_rng(seed)


class Embedding:
    """W[idx]; backward accumulates into the rows of dW (np.add.at), or overwrites them (the textbook bug)."""

    def __init__(self, W, overwrite=False):
        self.W, self.dW, self.overwrite = W, None, overwrite

    def forward(self, idx):
        self.idx = idx
        return self.W[idx]

    def backward(self, dout):
        self.dW = np.zeros_like(self.W)
        if self.overwrite:
            self.dW[self.idx] = dout  # a repeated index keeps only its last row's gradient
        else:
            np.add.at(self.dW, self.idx, dout)
        return None


IDS = np.array([[1, 2, 1], [3, 1, 0]])  # token 1 three times


class TextNet:
    """Embedding -> mean over time -> affine -> softmax cross-entropy, x = token ids."""

    def __init__(self, seed=0):
        rng = _rng(seed)
        self.params = {"E": rng.standard_normal((9, 4)), "W": rng.standard_normal((4, 3)), "b": np.zeros(3)}

    def _forward(self, x):
        self.h = self.params["E"][x].mean(axis=1)
        z = self.h @ self.params["W"] + self.params["b"]
        z = z - z.max(axis=1, keepdims=True)
        self.y = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        return self.y

    def loss(self, x, t):
        y = self._forward(x)
        return -np.mean(np.log(y[np.arange(len(t)), t]))

    def gradient(self, x, t):
        self.loss(x, t)
        dz = self.y.copy()
        dz[np.arange(len(t)), t] -= 1
        dz /= len(t)
        dh = dz @ self.params["W"].T
        dE = np.zeros_like(self.params["E"])
        np.add.at(dE, x, np.repeat(dh[:, None, :] / x.shape[1], x.shape[1], axis=1))
        return {"E": dE, "W": self.h.T @ dz, "b": dz.sum(axis=0)}


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8])
def test_an_embedding_with_integer_x_is_checked_on_its_parameters(dtype):
    ids = IDS.astype(dtype)
    result = gradcheck(Embedding(_rng().standard_normal((5, 3))), ids)
    assert result.ok, str(result)
    assert [p.name for p in result.params] == ["W"] and result.dx_checked is False, str(result)
    assert any(n.startswith("dx not checked: x holds integers") for n in result.notes), str(result)


def test_the_duplicate_index_overwrite_bug_of_an_embedding_is_found():
    result = gradcheck(Embedding(_rng().standard_normal((5, 3)), overwrite=True), IDS)
    assert not result.ok and result.failed == ["W"], str(result)
    assert {e.index[0] for e in result["W"].worst if e.rel_err > 1e-3} == {1}, str(result)  # the repeated token's row


def test_a_float_x_still_checks_dx():
    result = gradcheck(tb.Affine(*[_rng().standard_normal(s) for s in ((4, 3), (3,))]), _rng(1).standard_normal((5, 4)))
    assert result.ok and result.dx_checked is True and "dx" in [p.name for p in result.params], str(result)


class _OneHot:
    """A layer without parameters that takes x as indices only (rows of a fixed table)."""

    def forward(self, x):
        return np.eye(5)[x]

    def backward(self, dout):
        return None


def test_an_integer_index_x_and_no_parameter_leaves_nothing_to_check():
    result = gradcheck(_OneHot(), IDS)
    assert not result.ok and "nothing to check" in str(result), str(result)


class _DoubledDx(tb.Affine):
    def backward(self, dout):
        return 2 * super().backward(dout)


def test_integer_data_a_real_valued_layer_takes_is_checked_as_floats_dx_included():
    """Integer test data (np.arange) is not taken for indices when forward() takes it as floats: a wrong dx fails."""
    x = np.arange(20).reshape(5, 4) % 7 * 2 - 5  # odd integers: no ReLU kink at 0
    result = gradcheck(_DoubledDx(*[_rng().standard_normal(s) for s in ((4, 3), (3,))]), x)
    assert not result.ok and result.failed == ["dx"] and result.dx_checked is True, str(result)
    assert gradcheck(tb.Relu(), x).dx_checked is True  # no parameters: dx is what is checked


def test_a_text_net_with_integer_token_ids_is_checked():
    x, t = _rng(1).integers(0, 9, (5, 6)), _rng(2).integers(0, 3, 5)
    assert gradcheck_net(TextNet(), x, t).ok

    class DuplicatesOverwrite(TextNet):
        def gradient(self, x, t):
            grads = super().gradient(x, t)
            dE = np.zeros_like(self.params["E"])
            dh = (self.y - np.eye(3)[t]) / len(t) @ self.params["W"].T
            dE[x] = np.repeat(dh[:, None, :] / x.shape[1], x.shape[1], axis=1)
            return {**grads, "E": dE}

    assert gradcheck_net(DuplicatesOverwrite(), x, t).failed == ["E"]


@pytest.mark.parametrize("check", ["layer", "net"])
@pytest.mark.parametrize("option, value, expected", [
    ("rtol", 0, "0 < rtol < 1"), ("rtol", -1, "0 < rtol < 1"), ("rtol", float("nan"), "0 < rtol < 1"),
    ("rtol", 1.5, "0 < rtol < 1"), ("step", 0, "> 0"), ("step", -1e-3, "> 0"), ("step", float("inf"), "> 0"),
    ("max_coords", 0, ">= 1"), ("max_coords", -2, ">= 1"), ("max_coords", 2.5, ">= 1")])
def test_an_option_out_of_range_is_refused_naming_it(check, option, value, expected):
    who = "gradcheck_net" if check == "net" else "gradcheck"
    with pytest.raises(ValueError, match=rf"{who}: option {option} must be .*{expected}.*Received: {option}={value!r}"):
        if check == "net":
            gradcheck_net(tb.TwoLayerNet(4, 3, 2), _rng(1).standard_normal((5, 4)), np.eye(2)[[0, 1, 0, 1, 0]],
                          **{option: value})
        else:
            gradcheck(tb.Affine(np.ones((4, 3)), np.zeros(3)), _rng(1).standard_normal((5, 4)), **{option: value})


def test_options_in_range_are_accepted():
    result = gradcheck(tb.Affine(np.ones((4, 3)), np.zeros(3)), _rng(1).standard_normal((5, 4)), rtol=1e-5, step=1e-4,
                       max_coords=np.int64(1))
    assert result.ok and result.options["rtol"] == 1e-5, str(result)


class Cell:
    """An LSTM-like cell: forward returns (h, c)."""

    def __init__(self):
        self.W, self.dW = _rng().standard_normal((4, 3)), None

    def forward(self, x):
        self.x, self.h = x, np.tanh(x @ self.W)
        return self.h, 2 * self.h

    def backward(self, dh, dc=None):
        d = dh * (1 - self.h ** 2)
        self.dW = self.x.T @ d
        return d @ self.W.T


def test_a_forward_returning_several_outputs_is_refused():
    with pytest.raises(TypeError, match=r"forward\(x\) of Cell returned a tuple of 2 outputs \(shapes \(5, 3\), "
                                        r"\(5, 3\)\)\. Expected one array.*one output at a time"):
        gradcheck(Cell(), _rng(1).standard_normal((5, 4)))


class TrainOnlyBatchNorm:
    """The textbook BatchNorm: its backward needs forward's training-mode cache (xn), set only when train_flg."""

    def __init__(self):
        self.gamma, self.beta = np.ones(5), np.zeros(5)
        self.dgamma = self.dbeta = None

    def forward(self, x, train_flg=True):
        if train_flg:
            self.xn = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + 1e-7)
            return self.gamma * self.xn + self.beta
        return self.gamma * x + self.beta

    def backward(self, dout):
        self.dbeta, self.dgamma = dout.sum(axis=0), (self.xn * dout).sum(axis=0)
        return dout * self.gamma


def test_an_exception_in_backward_names_the_layer_the_method_and_the_mode():
    with pytest.raises(AttributeError, match=r"gradcheck: backward\(dout\) of TrainOnlyBatchNorm failed in "
                                             r"train_flg=False mode .*dout.shape=\(8, 5\): AttributeError: .*'xn'") as info:
        gradcheck(TrainOnlyBatchNorm(), _rng(1).standard_normal((8, 5)), training=False)
    assert isinstance(info.value.__cause__, AttributeError)  # the original, chained
    assert [p.name for p in gradcheck(TrainOnlyBatchNorm(), _rng(1).standard_normal((8, 5))).params][:2] == [
        "gamma", "beta"]  # training mode: the cache exists, the check runs


def test_an_exception_whose_type_needs_other_arguments_still_gets_the_context():
    class Fails(tb.Relu):
        def backward(self, dout):
            raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")

    with pytest.raises(RuntimeError, match=r"backward\(dout\) of Fails failed for .*UnicodeDecodeError"):
        gradcheck(Fails(), _rng(1).standard_normal((3, 4)))


def test_an_exception_in_a_nets_gradient_names_the_net_and_the_method():
    class Broken(tb.TwoLayerNet):
        def gradient(self, x, t):
            raise KeyError("Affine3")

    with pytest.raises(KeyError, match=r"gradcheck_net: gradient\(x, t\) of Broken failed for x.shape=\(5, 4\), "
                                       r"t.shape=\(5, 2\): KeyError"):
        gradcheck_net(Broken(4, 3, 2), _rng(1).standard_normal((5, 4)), np.eye(2)[[0, 1, 0, 1, 0]])
