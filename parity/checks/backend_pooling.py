"""The measurement variant ``torch_replicate_pool``: average pooling as Keras's PyTorch backend computes it.

Keras's PyTorch ``average_pool`` (keras/src/backend/torch/nn.py) passes an even
'same' split to ``avg_pool2d(padding=..., count_include_pad=False)``, the
average of the valid elements as on TensorFlow. An uneven split (more padding
after than before on some axis) cannot be given to torch, so
``_apply_same_padding`` pads the input itself with ``mode="replicate"`` on every
axis and pools with no padding: each border window averages all its cells,
repeated edge values included. ``replicate_same_average_pooling`` makes the
NumPy twin's ``AveragePooling2D`` do that (forward and backward), in the
worker process that re-runs a failing row with the variant.
"""
import numpy as np

from numpy_models import pooling
from parity.specs import SPECS


def uneven_split(pads_h, pads_w):
    """Whether Keras's PyTorch backend pads this 'same' split itself (edge replicated)."""
    return pads_h[0] != pads_h[1] or pads_w[0] != pads_w[1]


def uneven_same_average_pooling(spec_id):
    """Whether ``spec_id`` has an average pooling layer with 'same' padding (its split may be uneven); the 1-D
    layers run the NumPy 2-D one on a (N, 1, L, C) view, PyTorch's pad their one axis alike."""
    return any(l.class_name in ("AveragePooling1D", "AveragePooling2D") and l.kwargs.get("padding") == "same"
               for l in SPECS[spec_id].layers)


def _replicated_pool(layer, x):
    """Shapes: (N, H, W, C) -> (N, OH, OW, C). Parity: torch avg_pool2d of the edge-padded input."""
    _, _, ph, pw = layer._plan
    xp = np.pad(x, ((0, 0), ph, pw, (0, 0)), mode="edge")
    layer._cache = ("replicated", xp.shape, x.shape)
    return layer._sum(xp) / int(np.prod(layer.pool_size))  # every window has all its cells


def _replicated_backward(layer, dout):
    """Each padded cell's gradient goes to the edge cell it copies (np.pad's 'edge' mode, transposed)."""
    _, padded_shape, (_, h, w, _) = layer._cache
    _, _, (top, _), (left, _) = layer._plan
    dxp = np.zeros(padded_shape, dtype=dout.dtype)
    share = dout / int(np.prod(layer.pool_size))
    for _, (rows, cols) in layer._offsets():
        dxp[:, rows, cols, :] += share
    dxp[:, top, :, :] += dxp[:, :top, :, :].sum(axis=1)
    dxp[:, top + h - 1, :, :] += dxp[:, top + h:, :, :].sum(axis=1)
    dxp = dxp[:, top:top + h]
    dxp[:, :, left, :] += dxp[:, :, :left, :].sum(axis=2)
    dxp[:, :, left + w - 1, :] += dxp[:, :, left + w:, :].sum(axis=2)
    return dxp[:, :, left:left + w].copy()


_SHIPPED = (pooling.AveragePooling2D.pool, pooling.AveragePooling2D.pool_backward)  # before any switch


def replicate_same_average_pooling(on=True):
    """Switch the NumPy ``AveragePooling2D`` to PyTorch's uneven-'same' rule in this process (``on=False``:
    back to the shipped TensorFlow rule)."""
    cls = pooling.AveragePooling2D
    pool, backward = _SHIPPED

    def replicated_pool(self, x):
        return _replicated_pool(self, x) if self.padding == "same" and uneven_split(*self._plan[2:]) else pool(self, x)

    def replicated_backward(self, dout):
        if isinstance(self._cache[0], str):  # "replicated": the forward above took the PyTorch rule
            return _replicated_backward(self, dout)
        return backward(self, dout)

    cls.pool, cls.pool_backward = (replicated_pool, replicated_backward) if on else _SHIPPED
    return {"numpy_average_pooling_uneven_same": "edge replicated, whole window averaged (as Keras's PyTorch)"
            if on else "valid cells averaged (as TensorFlow)"}
