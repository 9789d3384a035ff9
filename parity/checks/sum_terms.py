"""What a layer's bias and kernel gradients sum: the magnitude their round-off is relative to.

A bias gradient is ``sum_n dz_n`` and a kernel gradient ``sum_n x_n dz_n``,
``n`` running over the batch (and spatial positions), ``z`` the pre-activation
and ``x`` the layer's input; a sum's round-off is proportional to the sum of
its terms' magnitudes, ``sum |dz|`` and ``sum |x| |dz|``, not to the sum itself,
which cancels (``parity.tolerances.CONDITION_SCALE``). ``dz`` comes from the
twin's own backward: dL/dy through the activation's derivative, as the layer's
``backward_call`` computes it, or dL/dz itself when a loss was read at the
layer's logits. dL/dy would over-bound it: an activation's derivative
(ReLU's 0, a sigmoid's <= 1/4) shrinks the terms before they are summed.

A softmax's input gradient ``s (g - sum_axes(g s))`` (``s`` its output, ``g``
dL/ds) is such a sum too, over the softmax's axes: it cancels (exactly so over
an axis of size 1, where ``s = 1``), and its terms are ``s |g|`` and
``s sum_axes(s |g|)`` (``input_grad_scale``).
"""
import numpy as np

from numpy_models import activations
from numpy_models.activation_layers import Softmax
from numpy_models.convolutional import Conv2D
from numpy_models.core import Activation, Dense
from numpy_models.separable import SeparableConv2D
from numpy_models.transposed import Conv2DTranspose

AFFINE = (Dense, Conv2D, Conv2DTranspose, SeparableConv2D)  # y = act(x * kernel + bias), cache (_, z, y, ...)


def term_sums(layer, grad, cache, at_logits=False):
    """{"bias": sum |dz|, "kernel": sum |x| |dz|, ...}: per unit (per element of a kernel), for a layer of
    ``AFFINE`` given dL/d(its output) ``grad`` (dL/dz when ``at_logits``) and its cache of that call.

    Shapes:
        grad: the layer's output, channels-first when the layer is; each sum has its weight's shape.
    """
    if not isinstance(layer, AFFINE) or grad is None or cache is None:
        return {}
    to_nhwc = getattr(layer, "_to_nhwc", None)
    dz = to_nhwc(grad) if to_nhwc is not None else grad
    if not at_logits:
        dz = activations.backward(layer.activation, cache[1], cache[2], dz)
    dz = np.abs(dz)
    dz2 = dz.reshape(-1, dz.shape[-1])
    sums = {"bias": dz2.sum(axis=0)} if "bias" in layer.params else {}
    return {**sums, **_kernel_sums(layer, dz, dz2, cache)}


def _kernel_sums(layer, dz, dz2, cache):
    """sum |x| |dz| per kernel element, through the layer's own kernel-gradient products on |x| and |dz|."""
    if isinstance(layer, Conv2D):
        (cols, layout), padded_shape = cache[0], cache[3]
        kernel = layer._kernel_grad(np.abs(cols), layout, dz2, padded_shape[3])
        return {"kernel": kernel.reshape(layer.params["kernel"].shape)}
    if isinstance(layer, SeparableConv2D):  # its depthwise kernel sums a further product: not covered
        return {"pointwise_kernel": (np.abs(cache[0]).T @ dz2).reshape(layer.params["pointwise_kernel"].shape)}
    x = np.abs(cache[0])
    x2 = x.reshape(-1, x.shape[-1])
    if isinstance(layer, Conv2DTranspose):
        cols, transposed = layer._columns(dz)
        kernel = cols @ x2 if transposed else (x2.T @ cols).T
        return {"kernel": np.ascontiguousarray(kernel).reshape(layer.params["kernel"].shape)}
    return {"kernel": x2.T @ dz2}


def softmax_terms(s, grad, axes):
    """``s |g| + s sum_axes(s |g|)`` per element: the magnitude of the terms of softmax's input gradient
    ``s (g - sum_axes(g s))``, for its output ``s`` and dL/ds ``grad``."""
    sg = s * np.abs(grad)
    return sg + s * sg.sum(axis=axes, keepdims=True)


def input_grad_scale(layer, grad, cache):
    """The largest ``softmax_terms`` of a softmax layer's input gradient (a Softmax layer, over its axes, or an
    Activation("softmax"), over the last axis) given dL/d(its output) ``grad`` and its cache of that call;
    0.0 for other layers, whose input gradient sums no cancelling terms here."""
    if grad is None or cache is None:
        return 0.0
    if isinstance(layer, Softmax):
        s, axes = cache[1], layer._axes_tuple()  # cache (x, y)
    elif isinstance(layer, Activation) and layer.activation == "softmax":
        s, axes = cache[2], (-1,)  # cache (_, z, y)
    else:
        return 0.0
    return float(softmax_terms(s, grad, axes).max())
