"""check_against_keras: a hand-written layer vs the stock Keras layer, by autodiff.

Copies the layer's weights into the Keras layer (by Keras weight name, or the
textbook names W/b/gamma/beta/running_mean/running_var), then compares the
forward output, dx and every parameter gradient for a random upstream gradient.
"""
import copy
from dataclasses import dataclass, field

import numpy as np

from parity import random_streams
from parity.compare import compare
from parity.gradcheck import inputs
from parity.gradcheck import subject as subj
from parity.gradcheck.keras_config import (check_output_shape, check_weight_shape, convention_hints, describe,
                                           require_keras_layer)
from parity.gradcheck.layouts import (conv_kernel_from_textbook, conv_kernel_to_textbook, image_layout, images_to_nchw,
                                      images_to_nhwc, user_shape)
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
    layout_source: str = ""  # how the layout was chosen ("" without 4-D images)
    errors: list = field(default_factory=list)  # NaN or Inf on the hand-written side: fails the result
    hints: list = field(default_factory=list)  # where a failing layer's configuration may differ from Keras's

    @property
    def failed(self):
        return [c.name for c in self.comparisons if not c.passed]

    def __str__(self):
        head = f"check_against_keras {self.subject}: {'ok' if self.ok else 'FAILED'}"
        if self.failed:
            head += f" (failing: {', '.join(self.failed)})"
        if self.layout_source:
            head += f" -- images {self.layout} ({self.layout_source})"
        return "\n".join([head] + [f"  error: {e}" for e in self.errors]
                         + ["  " + line for c in self.comparisons for line in c.message().split("\n")]
                         + [f"  check the configuration: {h}" for h in self.hints])


def _our_weight(layer, keras_name, mapping):
    """(getter for the value, getter for the gradient, label) of the layer's weight twin of ``keras_name``."""
    if isinstance(getattr(layer, "params", None), dict):
        store = layer.params if keras_name in layer.params else getattr(layer, "state", {})
        if keras_name in store:
            return (lambda l: (l.params if keras_name in l.params else l.state)[keras_name],
                    lambda l: l.grads.get(keras_name), f"params[{keras_name!r}]")
    attr = mapping.get(keras_name, TEXTBOOK_NAMES.get(keras_name))
    if attr is None or not isinstance(getattr(layer, attr, None), np.ndarray):
        held = f": it holds {type(getattr(layer, attr)).__name__}, not an array" if hasattr(layer, attr or "") else ""
        raise ValueError(f"check_against_keras: Keras weight '{keras_name}' has no counterpart on "
                         f"{type(layer).__name__} (looked for params['{keras_name}'] and attribute {attr!r}{held}). "
                         f"Pass weights={{'{keras_name}': 'YourAttribute'}}.")
    return (lambda l: getattr(l, attr), lambda l: getattr(l, "d" + attr, None), f"{type(layer).__name__}.{attr}")


def _built_lazily(layer, keras_layer, mapping):
    """Does the layer hold None where a Keras weight's counterpart will be (textbook BatchNorm's running_mean
    before its first forward)?"""
    names = [mapping.get(v.name, TEXTBOOK_NAMES.get(v.name)) for v in keras_layer.weights]
    return any(n is not None and n in vars(layer) and getattr(layer, n) is None for n in names)


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
        x: an input batch (finite, at least one sample); the comparison runs in the Keras layer's dtype.
        weights: optional {"kernel": "W"} mapping Keras weight names to attributes.
        layout: "NCHW" for textbook images (N, C, H, W) and kernels (out, in, kh, kw), "NHWC"
            for Keras's; None detects it from the kernel's shape and x's channels, else from the
            output's shape, and refuses when both fit. Data and kernels are transposed across and
            the result is reported in the user's layout (and says which).
    Raises:
        ValueError: NaN or Inf in x or a weight; a configuration that differs from the Keras layer's
            (weight or output shapes); an image layout that cannot be told.
    """
    subj.require_layer(layer)
    require_keras_layer(keras_layer)
    x = inputs.batch(x, "check_against_keras")
    layout, how = image_layout(layer, keras_layer, x,
                               lambda a: subj.call_forward(copy.deepcopy(layer), a.copy(), training), layout)
    to_keras, to_user = _converters(layout)
    keras_layer(to_keras(x[:1]).astype(keras_layer.compute_dtype))  # builds it if needed
    dtype = keras_layer.compute_dtype
    if training:  # before the weights are copied in: the two calls may move BatchNorm's moving statistics
        _refuse_random(layer, keras_layer, to_keras(x).astype(dtype))
    ours = subj.float64_copy(layer, keep_float32_inside=True)[0] if dtype == "float64" else copy.deepcopy(layer)
    xd = x.astype(dtype)
    if _built_lazily(ours, keras_layer, weights or {}):  # built on its first forward, as Keras builds on its first call
        subj.call_forward(ours, xd.copy(), training, "check_against_keras")
    pairs = _assigned(ours, keras_layer, weights or {}, layout)
    y = np.array(subj.call_forward(ours, xd.copy(), training, "check_against_keras"), copy=True)
    dout = random_streams.generator("gradcheck_upstream", seed).standard_normal(y.shape).astype(dtype)
    dx = subj.call_backward(ours, dout.copy(), training, "check_against_keras")
    trainable = list(keras_layer.trainable_weights)
    ref, grads = _keras_pass(keras_layer, to_keras(xd), to_keras(dout), training, trainable, lambda shape: (
        check_output_shape(type(layer).__name__, y.shape, user_shape(shape, layout), keras_layer, x.shape, layout)))
    kernel_out = conv_kernel_to_textbook if layout == "NCHW" else (lambda a: a)
    theirs = {"output": to_user(ref), "dx": to_user(grads[0]),
              **{v.name: kernel_out(g) if g.ndim == 4 else g for v, g in zip(trainable, grads[1:], strict=True)}}
    ours_named = {"output": y, "dx": np.asarray(dx), **_our_gradients(ours, pairs, trainable)}
    result = [compare(ours_named[name], value, name, tolerance(dtype)) for name, value in theirs.items()]
    errors = [f"{type(layer).__name__}'s {problem}: NaN or Inf cannot be checked"
              for name, arr in ours_named.items() if (problem := inputs.nonfinite(arr, name))]
    ok = all(c.passed for c in result) and not errors
    hints = [] if ok else convention_hints(layer, keras_layer, to_keras(x).shape)
    return KerasCheckResult(type(layer).__name__, ok, result, list(pairs), layout, how, errors, hints)


def _refuse_random(layer, keras_layer, x):
    """A layer that draws at random in training mode (Dropout, GaussianNoise) gives two calls on the same x two
    outputs: its masks and the hand-written layer's cannot be compared, every difference would be a false FAILED."""
    state = [(v, np.array(v.numpy(), copy=True)) for v in keras_layer.variables]  # seed states, moving statistics
    try:
        first, again = (np.asarray(keras_layer(x, training=True)) for _ in range(2))
    finally:
        for variable, value in state:  # the user's layer as it was: these two calls were only a question
            variable.assign(value)
    if not np.array_equal(first, again, equal_nan=True):  # NaN twice is a repeat (it fails later, by name)
        raise ValueError(f"check_against_keras: {describe(keras_layer)} is random in training mode (two calls on the "
                         f"same x gave different outputs): its mask and the one {type(layer).__name__} draws are not "
                         "comparable, so elements would differ whether the layer is right or not. Compare with "
                         "training=False, or check the training-mode gradient with parity.gradcheck (a fixed mask). "
                         "Received: training=True")


def _keras_pass(keras_layer, x, dout, training, trainable, check_shape):
    """(output, [d/dx, d/d each trainable weight]) of sum(keras_layer(x) * dout), as NumPy arrays (Keras layout).
    ``check_shape(output shape)`` runs before the product (a mismatch would be a TensorFlow shape error)."""
    import tensorflow as tf  # imports TensorFlow on first use only

    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        ref = keras_layer(xt, training=training)
        check_shape(tuple(ref.shape))
        target = tf.reduce_sum(ref * tf.constant(dout))
    return ref.numpy(), [g.numpy() for g in tape.gradient(target, [xt] + trainable)]


def _our_gradients(ours, pairs, trainable):
    """{Keras weight name: the hand-written layer's gradient for it} after backward()."""
    out = {}
    for variable in trainable:
        _, _, gradient, label = pairs[variable.name]
        if gradient(ours) is None:
            raise ValueError(f"check_against_keras: {type(ours).__name__} produced no gradient for "
                             f"'{variable.name}' after backward(): the gradient of {label} is None or missing.")
        out[variable.name] = np.asarray(gradient(ours))
    return out


def _assigned(ours, keras_layer, mapping, layout):
    """Copy each weight of ``ours`` into its Keras variable (shapes and finiteness checked first):
    {Keras weight name: (variable, value getter, gradient getter, label)}."""
    kernel_in = conv_kernel_from_textbook if layout == "NCHW" else (lambda a: a)
    pairs = {}
    for v in keras_layer.weights:
        value, gradient, label = _our_weight(ours, v.name, mapping)
        arr = np.asarray(value(ours))
        inputs.finite_parameters({label: arr}, "check_against_keras")
        arr = kernel_in(arr) if arr.ndim == 4 else arr
        check_weight_shape(label, arr, v, keras_layer, transposed=layout == "NCHW" and arr.ndim == 4)
        v.assign(arr.astype(v.dtype))
        pairs[v.name] = (v, value, gradient, label)
    return pairs
