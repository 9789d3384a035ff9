"""Convolution as image filtering (seed notes): Sobel edges and random colour filters on a real photograph.

The photograph is scikit-learn's bundled ``china.jpg`` (427 x 640 RGB). Every
filter bank is applied three ways, with no bias and 'valid' padding:

1. a direct loop over the kernel offsets, as in the notes:
   ``out[r, c] = sum_{i, j} image[r + i, c + j, :] @ kernel[i, j]`` (9 shifted
   whole-image products, no loop over pixels);
2. ``numpy_models.Conv2D`` with the kernels set as its weights;
3. Keras ``Conv2D`` holding the same weights (copied by ``parity.weights``).

Keras's Conv2D is a cross-correlation (the kernel is not flipped), and so is the
loop; a flipped Sobel kernel only changes the sign of h and v, not the magnitude.
"""
import numpy as np

import numpy_models
from parity.report.experiment_plots import filter_images
from parity.weights import numpy_to_keras

from parity.training.experiments import ExperimentResult, experiment
from parity.specs import layer

SOBEL_VERTICAL = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])  # d/dx: responds to vertical edges
SOBEL_HORIZONTAL = SOBEL_VERTICAL.T  # d/dy: responds to horizontal edges
LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R BT.601 grey from RGB
RANDOM_FILTERS = 4


def load_photo(dtype):
    """scikit-learn's china.jpg as (427, 640, 3) in [0, 1]."""
    from sklearn.datasets import load_sample_image  # scikit-learn loads in ~1 s: only where the image is read

    return (load_sample_image("china.jpg") / 255.0).astype(dtype)


def loop_filter(image, kernel):
    """Valid cross-correlation of an (H, W, C) image with a (kh, kw, C, F) kernel, one term per offset."""
    kh, kw, _, filters = kernel.shape
    oh, ow = image.shape[0] - kh + 1, image.shape[1] - kw + 1
    out = np.zeros((oh, ow, filters), dtype=image.dtype)
    for i in range(kh):
        for j in range(kw):
            out += image[i:i + oh, j:j + ow, :] @ kernel[i, j]
    return out


def layer_filters(image, kernel):
    """The same filter bank as a NumPy Conv2D and a Keras Conv2D: returns (numpy (OH, OW, F), keras (OH, OW, F))."""
    import keras_models

    dtype = image.dtype.name
    conv = [layer("Conv2D", "filters", filters=kernel.shape[3], kernel_size=kernel.shape[:2], use_bias=False).as_tuple()]
    np_model = numpy_models.build_sequential(conv, image.shape, dtype, 0)
    np_model.get_layer("filters").set_weight("kernel", kernel)
    k_model = keras_models.build_sequential(conv, image.shape, dtype)
    numpy_to_keras(np_model, k_model)
    return np_model.forward(image[None])[0], keras_models.forward(k_model, image[None])[-1][0]


def _rel(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


def _three_way_row(name, loop, ours, theirs):
    pairs = {"loop_vs_numpy": _rel(loop, ours), "loop_vs_keras": _rel(loop, theirs), "numpy_vs_keras": _rel(ours, theirs)}
    return {"name": name, "tolerance_kind": "keras", "max_rel_diff": max(pairs.values()), **pairs,
            "output_shape": str(theirs.shape)}


def _magnitude(out):
    return np.sqrt(out[..., 0] ** 2 + out[..., 1] ** 2)  # channel 0: vertical edges (h), 1: horizontal (v)


def _sobel(result, photo):
    grey = (photo @ LUMA.astype(photo.dtype))[..., None]
    kernel = np.stack([SOBEL_VERTICAL, SOBEL_HORIZONTAL], axis=-1)[:, :, None, :].astype(photo.dtype)
    loop, (ours, theirs) = loop_filter(grey, kernel), layer_filters(grey, kernel)
    for c, name in enumerate(("Sobel vertical edges (h)", "Sobel horizontal edges (v)")):
        result.extra_rows.append(_three_way_row(name, loop[..., c], ours[..., c], theirs[..., c]))
    mags = [_magnitude(o) for o in (loop, ours, theirs)]
    result.extra_rows.append(_three_way_row("Sobel magnitude sqrt(h^2 + v^2)", *mags))
    result.figures.append(("Sobel magnitude on china.jpg: loop, NumPy Conv2D, Keras Conv2D, |NumPy - Keras|",
                           filter_images("Sobel magnitude", mags + [np.abs(mags[1] - mags[2])],
                                         ["direct loop", "numpy_models.Conv2D", "keras Conv2D", "|diff| NumPy-Keras"])))


def _colour(result, photo, seed):
    kernel = np.random.default_rng(seed).standard_normal((3, 3, 3, RANDOM_FILTERS)).astype(photo.dtype)
    loop, (ours, theirs) = loop_filter(photo, kernel), layer_filters(photo, kernel)
    result.extra_rows.append(_three_way_row(f"{RANDOM_FILTERS} random 3x3x3 filters on RGB", loop, ours, theirs))
    result.figures.append(("Random 3x3x3 filter 0 on the RGB photo: loop, NumPy Conv2D, Keras Conv2D, |NumPy - Keras|",
                           filter_images("random colour filter 0", [loop[..., 0], ours[..., 0], theirs[..., 0],
                                                                    np.abs(ours[..., 0] - theirs[..., 0])],
                                         ["direct loop", "numpy_models.Conv2D", "keras Conv2D", "|diff| NumPy-Keras"])))


@experiment("image_filters", "Filters on a real photo: Sobel edges and random colour filters, computed three ways")
def image_filters(ctx):
    result = ExperimentResult(image_filters.id, image_filters.title)
    photo = load_photo(ctx.dtype)
    _sobel(result, photo)
    _colour(result, photo, ctx.seed)
    result.tables.append(("Filters three ways: max |difference| / max |output| for each pair",
                          [{k: v for k, v in row.items() if k != "tolerance_kind"} for row in result.extra_rows]))
    result.notes.append("scikit-learn's china.jpg (427 x 640 RGB, scaled to [0, 1]; grey = BT.601 luma). Sobel "
                        "kernels [[-1,0,1],[-2,0,2],[-1,0,1]] and its transpose, valid 3x3, no bias; magnitude "
                        f"sqrt(h^2 + v^2). Then {RANDOM_FILTERS} standard-normal 3x3x3 filters on the RGB image. Each "
                        "row: the largest of the three pairwise differences (loop, numpy_models.Conv2D, Keras "
                        "Conv2D), relative to the largest output magnitude.")
    return result


EXPERIMENTS = [image_filters]
