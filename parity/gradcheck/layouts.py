"""Textbook (NCHW) <-> Keras (NHWC) layout conversions for weights and data.

Deep Learning from Scratch style CNNs keep images as (N, C, H, W), conv kernels
as (out, in, kh, kw) and flatten in (C, H, W) order; Keras keeps (N, H, W, C),
(kh, kw, in, out) and flattens in (H, W, C) order. So besides transposing the
kernel and the data, the rows of the first Dense kernel after Flatten must be
permuted from CHW to HWC order -- forgetting that is the classic silent bug.
"""
import numpy as np

from parity.gradcheck.keras_config import describe


def images_to_nhwc(x):
    """(N, C, H, W) -> (N, H, W, C)."""
    return np.ascontiguousarray(np.asarray(x).transpose(0, 2, 3, 1))


def conv_kernel_from_textbook(w):
    """(out, in, kh, kw) -> Keras (kh, kw, in, out)."""
    return np.ascontiguousarray(np.asarray(w).transpose(2, 3, 1, 0))


def conv_kernel_to_textbook(k):
    """Keras (kh, kw, in, out) -> (out, in, kh, kw)."""
    return np.ascontiguousarray(np.asarray(k).transpose(3, 2, 0, 1))


def dense_rows_chw_to_hwc(w, chw):
    """Permute the rows of a Dense kernel fed by a (C, H, W)-order Flatten to (H, W, C) order."""
    c, h, width = chw
    w = np.asarray(w)
    if w.shape[0] != c * h * width:
        raise ValueError(f"Dense kernel after Flatten must have {c}*{h}*{width}={c * h * width} rows for a "
                         f"(C, H, W)=({c}, {h}, {width}) feature map. Received: kernel.shape={w.shape}")
    return np.ascontiguousarray(w.reshape(c, h, width, -1).transpose(1, 2, 0, 3).reshape(c * h * width, -1))


def images_to_nchw(x):
    """(N, H, W, C) -> (N, C, H, W)."""
    return np.ascontiguousarray(np.asarray(x).transpose(0, 3, 1, 2))


LAYOUTS = ("NHWC", "NCHW")


def _kernel_layouts(layer, keras_layer, x):
    """The layouts the layer's 4-D ``W`` fits for the Keras layer's filters and kernel size and x's channels:
    NCHW when W is (filters, c, kh, kw) with c = x.shape[1], NHWC when (kh, kw, c, filters) with c = x.shape[3].
    Both when both fit (3 filters of 3x3 on 3 channels); None without a 4-D ``W`` or when neither fits."""
    w, filters = getattr(layer, "W", None), getattr(keras_layer, "filters", None)
    if not isinstance(w, np.ndarray) or w.ndim != 4 or filters is None:
        return None
    size = tuple(keras_layer.kernel_size)
    fits = {name for name, ok in (("NCHW", w.shape[0] == filters and w.shape[2:] == size and w.shape[1] == x.shape[1]),
                                  ("NHWC", w.shape[:2] == size and w.shape[3] == filters and w.shape[2] == x.shape[3]))
            if ok}
    return fits or None


def image_layout(layer, keras_layer, x, forward, layout=None):
    """(layout, how it was chosen) of a layer's 4-D images: as named, else from its kernel, else from its output.

    ``forward(x) -> y`` runs a copy of the layer; NCHW fits when Keras, fed the NHWC
    transpose of x, gives y's shape transposed. A layout that cannot be told apart
    (both fit) is refused: a wrong guess would report a correct layer as FAILED.
    """
    if layout is not None:
        if layout not in LAYOUTS:
            raise ValueError(f"check_against_keras: layout must be one of {LAYOUTS}. Received: layout={layout!r}")
        return layout, "as given"
    x = np.asarray(x)
    if x.ndim != 4:
        return "NHWC", ""
    by_kernel = _kernel_layouts(layer, keras_layer, x)
    if by_kernel is not None and len(by_kernel) == 1:
        return by_kernel.pop(), "detected from the kernel's shape and x's channels"
    y_shape = tuple(np.shape(forward(x)))
    candidates = [name for name in LAYOUTS if by_kernel is None or name in by_kernel]
    fits = [name for name in candidates
            if _output_shape(keras_layer, _as_nhwc(x.shape, name)) == _as_nhwc(y_shape, name)]
    if len(fits) == 1:
        return fits[0], "detected from the output's shape"
    if not fits:
        raise ValueError(f"check_against_keras: the output shape of {type(layer).__name__} is not what "
                         f"{describe(keras_layer)} gives for x.shape={x.shape} in either layout (NHWC or NCHW): "
                         f"the configurations differ. Received: output shape {y_shape}")
    raise ValueError(f"check_against_keras: cannot tell whether {type(layer).__name__} takes NCHW or NHWC images "
                     f"(x.shape={x.shape}, output shape {y_shape}" + (f", W.shape={layer.W.shape}" if by_kernel else "")
                     + "): both fit. Pass layout='NCHW' or layout='NHWC'.")


def user_shape(keras_shape, layout):
    """A Keras (NHWC) shape in the user's layout: (N, H, W, C) -> (N, C, H, W) for NCHW; other ranks as they are."""
    s = tuple(keras_shape)
    return (s[0], s[3], s[1], s[2]) if layout == "NCHW" and len(s) == 4 else s


def _as_nhwc(shape, layout):
    return _nhwc_shape(shape) if layout == "NCHW" else tuple(shape)


def _nhwc_shape(shape):
    return (shape[0], *shape[2:], shape[1]) if len(shape) == 4 else tuple(shape)


def _output_shape(keras_layer, shape):
    try:
        return tuple(keras_layer.compute_output_shape(tuple(shape)))
    except Exception:  # a shape the Keras layer refuses cannot be the layout
        return None
