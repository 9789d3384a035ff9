"""Merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate.

A merge layer takes a list of arrays and returns one; ``backward_call``
returns the list of input gradients. Inputs must have equal shapes (no
broadcasting; Concatenate: equal except along ``axis``).

Parity: ``keras.layers.Add`` etc. Keras folds the inputs left to right
(``out = op(out, x_i)``), and so does this code, so round-off matches.
Maximum/Minimum: on ties the gradient goes to the *earliest* input, which is
what TF's gradient of ``maximum(x, y)`` does (``x >= y`` wins, checked in
tests/test_from_keras.py).
"""
import numpy as np

from numpy_models._validation import as_float_array, check_shape
from numpy_models.base import Layer


def _left_sum(xs):
    """``((x_0 + x_1) + x_2) + ...``: Keras's fold order, shared by Add and Average so round-off matches."""
    out = xs[0]
    for x in xs[1:]:
        out = out + x
    return out


class _Merge(Layer):
    min_inputs = 2
    max_inputs = None

    def build(self, input_shape, rng=None):
        self.dtype = self.dtype or "float32"
        if not isinstance(input_shape, list) or not all(isinstance(s, tuple) for s in input_shape):
            raise ValueError(f"{self._who()}: expects a list of inputs. Received: input_shape={input_shape!r}")
        n = len(input_shape)
        if n < self.min_inputs or (self.max_inputs and n > self.max_inputs):
            want = f"exactly {self.max_inputs}" if self.max_inputs == self.min_inputs else f"at least {self.min_inputs}"
            raise ValueError(f"{self._who()}: expects {want} inputs. Received: {n} inputs")
        self.input_shape = [(None,) + tuple(s)[1:] for s in input_shape]
        self.output_shape = self.compute_output_shape(self.input_shape)
        self.built = True

    def compute_output_shape(self, input_shape):
        first = input_shape[0]
        for s in input_shape[1:]:
            if len(s) != len(first) or any(a is not None and b is not None and a != b
                                           for a, b in zip(s[1:], first[1:], strict=True)):
                raise ValueError(f"{self._who()}: all inputs must have the same shape (no broadcasting). "
                                 f"Received: input_shape={list(input_shape)}")
        return (None,) + tuple(first[1:])

    def forward(self, x, training=False):
        """Validate each input, then ``call`` (merge layers take a list)."""
        if not self.built:
            self.build([np.shape(a) for a in x])
        xs = [as_float_array(a, self.dtype, self._who()) for a in x]
        for a, shape in zip(xs, self.input_shape, strict=True):
            check_shape(a, shape, self._who())
        y = self.call(xs, training=training)
        self._last_output_shape = y.shape
        return y


class Add(_Merge):
    """``y = x_0 + x_1 + ...``. Parity: keras.layers.Add."""

    def call(self, xs, training=False):
        self._cache = len(xs)
        return _left_sum(xs)

    def backward_call(self, dout):
        return [dout.copy() for _ in range(self._cache)]


class Subtract(_Merge):
    """``y = x_0 - x_1``. Parity: keras.layers.Subtract (exactly two inputs)."""
    max_inputs = 2

    def call(self, xs, training=False):
        self._cache = True
        return xs[0] - xs[1]

    def backward_call(self, dout):
        return [dout.copy(), -dout]


class Multiply(_Merge):
    """``y = x_0 * x_1 * ...``. Parity: keras.layers.Multiply.

    Backward follows reverse mode through the left fold: dx_i = (dout * x_n ... x_{i+1}) * prefix_{i-1}.
    """

    def call(self, xs, training=False):
        prefixes = [xs[0]]
        for x in xs[1:]:
            prefixes.append(prefixes[-1] * x)
        self._cache = (xs, prefixes)
        return prefixes[-1]

    def backward_call(self, dout):
        xs, prefixes = self._cache
        grads = [None] * len(xs)
        g = dout
        for i in range(len(xs) - 1, 0, -1):
            grads[i] = g * prefixes[i - 1]
            g = g * xs[i]
        grads[0] = g
        return grads


class Average(_Merge):
    """``y = (x_0 + x_1 + ...) / n``. Parity: keras.layers.Average (sum, then one division)."""

    def call(self, xs, training=False):
        self._cache = len(xs)
        out = _left_sum(xs)
        return out / np.asarray(len(xs), dtype=out.dtype)

    def backward_call(self, dout):
        g = dout / np.asarray(self._cache, dtype=dout.dtype)
        return [g.copy() for _ in range(self._cache)]


class _Select(_Merge):
    """Maximum/Minimum: fold left, remembering which input each element came from."""

    def call(self, xs, training=False):
        out, winner = xs[0], np.zeros(xs[0].shape, dtype=np.int32)
        for i, x in enumerate(xs[1:], start=1):
            take = self.beats(x, out)  # strict: a tie keeps the earlier input, as TF's x >= y rule
            out = np.where(take, x, out)
            winner[take] = i
        self._cache = (winner, len(xs))
        return out

    def backward_call(self, dout):
        winner, n = self._cache
        return [np.where(winner == i, dout, 0).astype(dout.dtype, copy=False) for i in range(n)]

    def kink_signature(self):
        return [self._cache[0]] if self._cache else []


class Maximum(_Select):
    """Elementwise maximum. Parity: keras.layers.Maximum (ties: gradient to the earliest input)."""

    @staticmethod
    def beats(x, out):
        return x > out


class Minimum(_Select):
    """Elementwise minimum. Parity: keras.layers.Minimum (ties: gradient to the earliest input)."""

    @staticmethod
    def beats(x, out):
        return x < out


class Concatenate(_Merge):
    """Joins inputs along ``axis`` (not the batch axis).

    Shapes: [(N, ..., c_i, ...)] -> (N, ..., sum c_i, ...).
    Parity: keras.layers.Concatenate(axis=-1).
    """

    def __init__(self, axis=-1, name=None, dtype=None, trainable=True):
        super().__init__(name=name, dtype=dtype, trainable=trainable)
        if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool) or axis == 0:
            raise ValueError(f"{self._who()}: axis must be a non-batch axis (an integer other than 0). "
                             f"Received: axis={axis!r}")
        self.axis = int(axis)

    def compute_output_shape(self, input_shape):
        rank = len(input_shape[0])
        axis = self.axis % rank if -rank <= self.axis < rank else None
        if axis in (None, 0) or any(len(s) != rank for s in input_shape):
            raise ValueError(f"{self._who()}: inputs must share a rank > |axis| and axis must not be the batch "
                             f"axis. Received: axis={self.axis}, input_shape={list(input_shape)}")
        for d in range(1, rank):
            sizes = {s[d] for s in input_shape} - {None}
            if d != axis and len(sizes) > 1:
                raise ValueError(f"{self._who()}: inputs must match on every axis but {self.axis}. "
                                 f"Received: input_shape={list(input_shape)}")
        sizes = [s[axis] for s in input_shape]
        total = None if None in sizes else sum(sizes)
        return tuple(input_shape[0][:axis]) + (total,) + tuple(input_shape[0][axis + 1:])

    def call(self, xs, training=False):
        self._cache = [x.shape[self.axis] for x in xs]
        return np.concatenate(xs, axis=self.axis)

    def backward_call(self, dout):
        cuts = np.cumsum(self._cache)[:-1]
        return [np.ascontiguousarray(g) for g in np.split(dout, cuts, axis=self.axis)]

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
