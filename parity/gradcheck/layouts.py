"""Textbook (NCHW) <-> Keras (NHWC) layout conversions for weights and data.

Deep Learning from Scratch style CNNs keep images as (N, C, H, W), conv kernels
as (out, in, kh, kw) and flatten in (C, H, W) order; Keras keeps (N, H, W, C),
(kh, kw, in, out) and flattens in (H, W, C) order. So besides transposing the
kernel and the data, the rows of the first Dense kernel after Flatten must be
permuted from CHW to HWC order -- forgetting that is the classic silent bug.
"""
import numpy as np


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


def _kernel_layout(layer, keras_layer):
    """NCHW when the layer's 4-D ``W`` is (filters, in, kh, kw) for the Keras layer's filters and kernel size."""
    w, filters = getattr(layer, "W", None), getattr(keras_layer, "filters", None)
    if not isinstance(w, np.ndarray) or w.ndim != 4 or filters is None:
        return None
    size = tuple(keras_layer.kernel_size)
    if w.shape[0] == filters and w.shape[2:] == size and not (w.shape[:2] == size and w.shape[3] == filters):
        return "NCHW"
    return "NHWC"


def image_layout(layer, keras_layer, x, forward, layout=None):
    """The layout of a layer's 4-D images: as named, else from its kernel, else from its output shape.

    ``forward(x) -> y`` runs a copy of the layer; NCHW fits when Keras, fed the NHWC
    transpose of x, gives y's shape transposed.
    """
    if layout is not None:
        if layout not in LAYOUTS:
            raise ValueError(f"check_against_keras: layout must be one of {LAYOUTS}. Received: layout={layout!r}")
        return layout
    x = np.asarray(x)
    if x.ndim != 4:
        return "NHWC"
    found = _kernel_layout(layer, keras_layer)
    if found:
        return found
    y_shape = tuple(np.shape(forward(x)))
    fits = {name: _output_shape(keras_layer, shape) == (y_shape if name == "NHWC" else _nhwc_shape(y_shape))
            for name, shape in (("NHWC", x.shape), ("NCHW", _nhwc_shape(x.shape)))}
    if fits["NCHW"] and not fits["NHWC"]:
        return "NCHW"
    if fits["NHWC"] and not fits["NCHW"]:
        return "NHWC"
    raise ValueError(f"check_against_keras: cannot tell whether {type(layer).__name__} takes NCHW or NHWC images "
                     f"(x.shape={x.shape}, output shape {y_shape}). Pass layout='NCHW' or layout='NHWC'.")


def _nhwc_shape(shape):
    return (shape[0], *shape[2:], shape[1]) if len(shape) == 4 else tuple(shape)


def _output_shape(keras_layer, shape):
    try:
        return tuple(keras_layer.compute_output_shape(tuple(shape)))
    except Exception:  # a shape the Keras layer refuses cannot be the layout
        return None
