"""Shape layers: ZeroPadding2D, Cropping2D, Reshape, Permute, RepeatVector.

Each forward moves values without arithmetic, so each backward is the exact
adjoint (crop the padding away, pad the cropped border with zeros, reshape
back, inverse permutation, sum over the repeats).

Parity: ``keras.layers.<name>`` (channels_last by default; ``data_format``
chooses which axes are spatial).
"""
import numpy as np

from numpy_models import _windows as win
from numpy_models.base import Layer


def _pairs(value, name, who):
    """Keras's int | (sym_h, sym_w) | ((top, bottom), (left, right)) forms, all >= 0."""
    if isinstance(value, (int, np.integer)):
        pairs = ((value, value), (value, value))
    elif hasattr(value, "__len__") and len(value) == 2:
        pairs = tuple((v, v) if isinstance(v, (int, np.integer)) else tuple(v) for v in value)
    else:
        pairs = None
    if pairs is None or any(len(p) != 2 or not all(isinstance(v, (int, np.integer)) and v >= 0 for v in p) for p in pairs):
        raise ValueError(f"{who}: {name} must be an int, a pair of ints or a pair of pairs of ints >= 0. "
                         f"Received: {name}={value!r}")
    return tuple(tuple(int(v) for v in p) for p in pairs)


class _Spatial2D(Layer):
    """Shared: which axes are height and width for the data format."""

    def _hw_axes(self):
        return (2, 3) if self.data_format == "channels_first" else (1, 2)

    def _check_4d(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(f"{self._who()}: expects 4-D input. Received: input_shape={tuple(input_shape)}")


class ZeroPadding2D(_Spatial2D):
    """Pads height and width with zeros: ``padding`` is ((top, bottom), (left, right)).

    Shapes: (N, H, W, C) -> (N, H + top + bottom, W + left + right, C).
    """

    def __init__(self, padding=(1, 1), data_format=None, name=None, dtype=None, trainable=True):
        super().__init__(name=name, dtype=dtype, trainable=trainable)
        self.padding = _pairs(padding, "padding", self._who())
        self.data_format = win.check_data_format(data_format, self._who())

    def compute_output_shape(self, input_shape):
        self._check_4d(input_shape)
        shape = list(input_shape)
        for axis, (before, after) in zip(self._hw_axes(), self.padding, strict=True):
            shape[axis] = None if shape[axis] is None else shape[axis] + before + after
        return tuple(shape)

    def _widths(self):
        widths = [(0, 0)] * 4
        for axis, pair in zip(self._hw_axes(), self.padding, strict=True):
            widths[axis] = pair
        return widths

    def call(self, x, training=False):
        self._cache = x.shape
        return np.pad(x, self._widths())

    def backward_call(self, dout):
        index = tuple(slice(before, dout.shape[i] - after) for i, (before, after) in enumerate(self._widths()))
        return dout[index].copy()  # copy: a slice is a view of dout

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}


class Cropping2D(_Spatial2D):
    """Removes ``cropping`` = ((top, bottom), (left, right)) rows and columns.

    Shapes: (N, H, W, C) -> (N, H - top - bottom, W - left - right, C).
    """

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, name=None, dtype=None, trainable=True):
        super().__init__(name=name, dtype=dtype, trainable=trainable)
        self.cropping = _pairs(cropping, "cropping", self._who())
        self.data_format = win.check_data_format(data_format, self._who())

    def compute_output_shape(self, input_shape):
        self._check_4d(input_shape)
        shape = list(input_shape)
        for axis, (before, after) in zip(self._hw_axes(), self.cropping, strict=True):
            if shape[axis] is not None:
                if shape[axis] - before - after <= 0:
                    raise ValueError(f"{self._who()}: cropping {self.cropping} leaves nothing of an input of "
                                     f"shape {tuple(input_shape)}. Received: cropping={self.cropping}")
                shape[axis] -= before + after
        return tuple(shape)

    def _widths(self):
        widths = [(0, 0)] * 4
        for axis, pair in zip(self._hw_axes(), self.cropping, strict=True):
            widths[axis] = pair
        return widths

    def call(self, x, training=False):
        index = tuple(slice(before, x.shape[i] - after) for i, (before, after) in enumerate(self._widths()))
        self._cache = True
        return x[index].copy()

    def backward_call(self, dout):
        return np.pad(dout, self._widths())

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping, "data_format": self.data_format}


class Reshape(Layer):
    """Reshapes each sample to ``target_shape`` (one entry may be -1), C order.

    Shapes: (N, *S) -> (N, *target_shape).
    """

    def __init__(self, target_shape, name=None, dtype=None, trainable=True):
        super().__init__(name=name, dtype=dtype, trainable=trainable)
        target = tuple(target_shape)
        if sum(d == -1 for d in target) > 1 or any(not isinstance(d, (int, np.integer)) or (d <= 0 and d != -1)
                                                   for d in target):
            raise ValueError(f"{self._who()}: target_shape must hold positive ints and at most one -1. "
                             f"Received: target_shape={target_shape!r}")
        self.target_shape = target

    def compute_output_shape(self, input_shape):
        size = int(np.prod(input_shape[1:]))
        known = int(np.prod([d for d in self.target_shape if d != -1]))
        if (-1 in self.target_shape and size % known) or (-1 not in self.target_shape and size != known):
            raise ValueError(f"{self._who()}: cannot reshape an input of shape {tuple(input_shape)} "
                             f"to {self.target_shape}. Received: target_shape={self.target_shape}")
        return (input_shape[0],) + tuple(size // known if d == -1 else d for d in self.target_shape)

    def call(self, x, training=False):
        self._cache = x.shape
        return x.reshape((x.shape[0],) + self.output_shape[1:]).copy()  # copy: never hand out a view of x

    def backward_call(self, dout):
        return dout.reshape(self._cache).copy()

    def get_config(self):
        return {**super().get_config(), "target_shape": self.target_shape}


class Permute(Layer):
    """Permutes the non-batch axes: ``dims`` (1-based) is the new order.

    Shapes: (N, *S) -> (N, *S[dims - 1]).
    """

    def __init__(self, dims, name=None, dtype=None, trainable=True):
        super().__init__(name=name, dtype=dtype, trainable=trainable)
        dims = tuple(dims)
        if sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError(f"{self._who()}: dims must be a permutation of 1..{len(dims)}. Received: dims={dims!r}")
        self.dims = dims

    def compute_output_shape(self, input_shape):
        if len(input_shape) != len(self.dims) + 1:
            raise ValueError(f"{self._who()}: expects {len(self.dims) + 1}-D input. Received: input_shape={tuple(input_shape)}")
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def call(self, x, training=False):
        self._cache = True
        return np.ascontiguousarray(x.transpose((0,) + self.dims))

    def backward_call(self, dout):
        inverse = np.argsort((0,) + self.dims)
        return np.ascontiguousarray(dout.transpose(inverse))

    def get_config(self):
        return {**super().get_config(), "dims": self.dims}


class RepeatVector(Layer):
    """Repeats each sample ``n`` times: (N, F) -> (N, n, F)."""

    def __init__(self, n, name=None, dtype=None, trainable=True):
        super().__init__(name=name, dtype=dtype, trainable=trainable)
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n <= 0:
            raise ValueError(f"{self._who()}: n must be a positive integer. Received: n={n!r}")
        self.n = int(n)

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(f"{self._who()}: expects 2-D input (batch, features). Received: input_shape={tuple(input_shape)}")
        return (input_shape[0], self.n, input_shape[1])

    def call(self, x, training=False):
        self._cache = True
        return np.repeat(x[:, None, :], self.n, axis=1)

    def backward_call(self, dout):
        return dout.sum(axis=1)

    def get_config(self):
        return {**super().get_config(), "n": self.n}
