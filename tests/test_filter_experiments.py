"""Image filters: the notes' loop, numpy_models.Conv2D and Keras Conv2D give the same images."""
import numpy as np
import pytest
from scipy.signal import correlate2d

from parity.report.experiment_report import study_row
from parity.training import EXPERIMENTS, Context
from parity.training.filters import SOBEL_HORIZONTAL, SOBEL_VERTICAL, layer_filters, load_photo, loop_filter
from parity.tolerances import tolerance


def test_loop_is_scipys_valid_cross_correlation(rng):
    image, kernel = rng.standard_normal((9, 11, 3)), rng.standard_normal((3, 3, 3, 2))
    expected = np.stack([sum(correlate2d(image[..., c], kernel[:, :, c, f], mode="valid") for c in range(3))
                         for f in range(2)], axis=-1)
    np.testing.assert_allclose(loop_filter(image, kernel), expected, rtol=0, atol=1e-12)


def test_sobel_finds_a_vertical_edge_and_not_a_horizontal_one():
    step = np.zeros((5, 6, 1))
    step[:, 3:] = 1.0  # a vertical edge between columns 2 and 3
    kernel = np.stack([SOBEL_VERTICAL, SOBEL_HORIZONTAL], axis=-1)[:, :, None, :]
    out = loop_filter(step, kernel)
    np.testing.assert_array_equal(out[..., 1], 0.0)
    np.testing.assert_array_equal(out[0, :, 0], [0.0, 4.0, 4.0, 0.0])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_three_ways_agree_on_the_real_photo(dtype):
    photo = load_photo(dtype)
    assert photo.shape == (427, 640, 3) and 0 <= photo.min() and photo.max() <= 1
    kernel = np.random.default_rng(0).standard_normal((3, 3, 3, 2)).astype(dtype)
    loop, (ours, theirs) = loop_filter(photo, kernel), layer_filters(photo, kernel)
    rtol = tolerance(dtype, "keras").rtol
    for a, b in ((loop, theirs), (ours, theirs)):
        assert a.shape == b.shape == (425, 638, 2)
        assert np.abs(a - b).max() <= rtol * np.abs(b).max()


def test_experiment_rows_pass_at_1e_12_in_float64_and_draw_the_images():
    res = EXPERIMENTS["image_filters"](Context(None, "float64"))
    names = [r["name"] for r in res.extra_rows]
    assert names[:3] == ["Sobel vertical edges (h)", "Sobel horizontal edges (v)", "Sobel magnitude sqrt(h^2 + v^2)"]
    assert all(r["max_rel_diff"] <= 1e-12 and study_row(res.id, r, "float64")["passed"] for r in res.extra_rows)
    assert len(res.figures) == 2 and all(png[:8] == b"\x89PNG\r\n\x1a\n" for _, png in res.figures)
