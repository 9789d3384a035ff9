"""check_against_keras: a hand-written layer vs the stock Keras layer, by autodiff.

Copies the layer's weights into the Keras layer (by Keras weight name, or the
textbook names W/b/gamma/beta/running_mean/running_var), then compares the
forward output, dx and every parameter gradient for a random upstream gradient.
"""
import copy
from dataclasses import dataclass, field

import numpy as np

from parity import random_streams
from parity.gradcheck import subject as subj
from parity.compare import compare
from parity.gradcheck.layouts import conv_kernel_from_textbook, conv_kernel_to_textbook, image_layout, images_to_nchw, images_to_nhwc
from parity.tolerances import tolerance

TEXTBOOK_NAMES = {"kernel": "W", "bias": "b", "gamma": "gamma", "beta": "beta",
                  "moving_mean": "running_mean", "moving_variance": "running_var"}


@dataclass
class KerasCheckResult:
    subject: str
    ok: bool
    comparisons: list = field(default_factory=list)
    params: list = field(default_factory=list)  # names of the weights compared
    layout: str = "NHWC"  # the user's image layout; every comparison is reported in it

    @property
    def failed(self):
        return [c.name for c in self.comparisons if not c.passed]

    def __str__(self):
        head = f"check_against_keras {self.subject}: {'ok' if self.ok else 'FAILED'}"
        if self.failed:
            head += f" (failing: {', '.join(self.failed)})"
        return "\n".join([head] + ["  " + line for c in self.comparisons for line in c.message().split("\n")])


def _our_weight(layer, keras_name, mapping):
    """(getter for the value, getter for the gradient) of the layer's weight twin of ``keras_name``."""
    if isinstance(getattr(layer, "params", None), dict):
        store = layer.params if keras_name in layer.params else getattr(layer, "state", {})
        if keras_name in store:
            return (lambda l: (l.params if keras_name in l.params else l.state)[keras_name],
                    lambda l: l.grads.get(keras_name))
    attr = mapping.get(keras_name, TEXTBOOK_NAMES.get(keras_name))
    if attr is None or not isinstance(getattr(layer, attr, None), np.ndarray):
        raise ValueError(f"check_against_keras: Keras weight '{keras_name}' has no counterpart on "
                         f"{type(layer).__name__} (looked for params['{keras_name}'] and attribute {attr!r}). "
                         f"Pass weights={{'{keras_name}': 'YourAttribute'}}.")
    return (lambda l: getattr(l, attr), lambda l: getattr(l, "d" + attr, None))


def _converters(layout):
    """(user -> Keras, Keras -> user) for 4-D images and conv kernels: transposes for NCHW textbook layers."""
    if layout == "NHWC":
        return (lambda a: a), (lambda a: a)
    return ((lambda a: images_to_nhwc(a) if np.ndim(a) == 4 else a),
            (lambda a: images_to_nchw(a) if np.ndim(a) == 4 else a))


def check_against_keras(layer, keras_layer, x, training=True, seed=0, weights=None, layout=None):
    """Copy weights into ``keras_layer`` and compare forward, dx and all gradients with GradientTape.

    Args:
        layer: the hand-written layer (forward/backward).
        keras_layer: a ``keras.layers`` instance of the same configuration.
        x: an input batch; the comparison runs in the Keras layer's dtype.
        weights: optional {"kernel": "W"} mapping Keras weight names to attributes.
        layout: "NCHW" for textbook images (N, C, H, W) and kernels (out, in, kh, kw), "NHWC"
            for Keras's; None detects it from the kernel's shape or the output's. Data and
            kernels are transposed across and the result is reported in the user's layout.
    """
    import tensorflow as tf  # imports TensorFlow on first use only

    subj.require_layer(layer)
    x = np.asarray(x)
    layout = image_layout(layer, keras_layer, x,
                          lambda a: subj.call_forward(copy.deepcopy(layer), a.copy(), training), layout)
    to_keras, to_user = _converters(layout)
    kernel_in = conv_kernel_from_textbook if layout == "NCHW" else (lambda a: a)
    kernel_out = conv_kernel_to_textbook if layout == "NCHW" else (lambda a: a)
    keras_layer(to_keras(x[:1]).astype(keras_layer.compute_dtype))  # builds it if needed
    dtype = keras_layer.compute_dtype
    ours = subj.float64_copy(layer)[0] if dtype == "float64" else copy.deepcopy(layer)
    pairs = {v.name: (v, *_our_weight(ours, v.name, weights or {})) for v in keras_layer.weights}
    for variable, value, _ in pairs.values():
        arr = np.asarray(value(ours))
        variable.assign((kernel_in(arr) if arr.ndim == 4 else arr).astype(variable.dtype))
    xd = x.astype(dtype)
    y = np.array(subj.call_forward(ours, xd.copy(), training, "check_against_keras"), copy=True)
    dout = random_streams.generator("gradcheck_upstream", seed).standard_normal(y.shape).astype(dtype)
    dx = ours.backward(dout.copy())
    xt = tf.constant(to_keras(xd))
    trainable = [v for v in keras_layer.trainable_weights]
    with tf.GradientTape() as tape:
        tape.watch(xt)
        ref = keras_layer(xt, training=training)
        target = tf.reduce_sum(ref * tf.constant(to_keras(dout)))
    grads = tape.gradient(target, [xt] + trainable)
    tol = tolerance(dtype)
    result = [compare(y, to_user(ref.numpy()), "output", tol), compare(dx, to_user(grads[0].numpy()), "dx", tol)]
    for variable, grad in zip(trainable, grads[1:], strict=True):
        ours_grad = pairs[variable.name][2](ours)
        if ours_grad is None:
            raise ValueError(f"check_against_keras: {type(layer).__name__} produced no gradient for "
                             f"'{variable.name}' after backward().")
        theirs = grad.numpy()
        result.append(compare(np.asarray(ours_grad), kernel_out(theirs) if theirs.ndim == 4 else theirs,
                              variable.name, tol))
    return KerasCheckResult(type(layer).__name__, all(c.passed for c in result), result, list(pairs), layout)
