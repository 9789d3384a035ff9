"""MaxPooling2D's branch signature on the 2x2 fast path is the offset-by-offset one (issue 17). NumPy only.

The gradient checker compares these signatures to find kinks: each window's first
maximum in row-major order, ties included, must be the same whichever way it is computed.
"""
import numpy as np
import pytest

import numpy_models as nm


def _offset_by_offset(layer):
    """The signature by the general rule: the first offset, row-major, whose value is the window's maximum."""
    xp, y = layer._cache[:2]
    winner = np.full(y.shape, -1, dtype=np.int8)
    for k, (rows, cols) in layer._offsets():
        winner[(winner < 0) & (xp[:, rows, cols, :] == y)] = k
    return winner


@pytest.mark.parametrize("shape,padding", [((3, 6, 8, 5), "valid"), ((2, 5, 7, 3), "same"), ((4, 4, 4, 1), "valid")],
                         ids=["valid_5_channels", "same_odd_sizes_padded_with_minus_inf", "one_channel"])
@pytest.mark.parametrize("values", [3, 1000], ids=["many_ties", "few_ties"])
def test_the_2x2_fast_path_signature_is_the_first_maximum_in_row_major_order(shape, padding, values):
    layer = nm.MaxPooling2D(2, padding=padding)
    layer.build((None,) + shape[1:])
    x = np.random.default_rng(values).integers(0, values, shape).astype(np.float64)
    layer.call(x)
    assert layer._cache[3] is not None  # the fast path ran
    signature, = layer.kink_signature()
    expected = _offset_by_offset(layer)
    assert signature.dtype == np.int8 and (expected >= 0).all()
    np.testing.assert_array_equal(signature, expected)


def test_every_tie_pattern_of_a_window_gives_its_first_maximum():
    cells = np.array(np.meshgrid(*[[0.0, 1.0]] * 4, indexing="ij")).reshape(4, -1).T  # the 16 patterns of a window
    x = cells.reshape(16, 2, 2)[None].transpose(0, 2, 1, 3).reshape(1, 2, 32, 1)  # 16 windows side by side
    layer = nm.MaxPooling2D(2)
    layer.build((None, 2, 32, 1))
    layer.call(x)
    signature, = layer.kink_signature()
    first = np.argmax(cells == cells.max(axis=1, keepdims=True), axis=1)  # row-major: (0,0), (0,1), (1,0), (1,1)
    np.testing.assert_array_equal(signature.reshape(-1), first)


def test_a_nan_window_is_left_to_the_offset_by_offset_rule():
    layer = nm.MaxPooling2D(2)
    layer.build((None, 2, 4, 1))
    x = np.array([[1.0, np.nan, 2.0, 3.0], [0.0, 0.0, 3.0, 1.0]]).reshape(1, 2, 4, 1)
    layer.call(x)
    signature, = layer.kink_signature()
    assert layer._cache[3] is not None and signature.reshape(-1).tolist() == [0, 1]  # as _offset_by_offset: 0
