"""check_against_keras's configuration checks: a Keras layer instance, weights and an output of the shapes it expects.

A hand-written layer configured differently from its Keras twin (3 units against
4, padding 0 against 'same') otherwise reaches Keras as a variable-assign error
dumping the variable, or a shape error deep inside TensorFlow. Each check names
the layer, what the Keras layer (with its configuration) expects and what was
received. Keras is imported on first use only.
"""
import numpy as np

CONFIG_KEYS = ("units", "filters", "kernel_size", "pool_size", "strides", "padding", "dilation_rate", "use_bias",
               "activation", "axis", "epsilon", "center", "scale")


def describe(keras_layer):
    """``Conv2D(filters=3, kernel_size=(3, 3), padding='same', ...)``: the Keras layer and its shape-relevant config."""
    try:
        config = keras_layer.get_config()
    except Exception:  # a layer without a config is named alone
        config = {}
    shown = [f"{k}={config[k]!r}" for k in CONFIG_KEYS if k in config]
    return f"{type(keras_layer).__name__}({', '.join(shown)})"


def require_keras_layer(keras_layer):
    """A ``keras.layers.Layer`` instance, else a TypeError saying what was passed."""
    import keras  # imports TensorFlow: on first use only

    if isinstance(keras_layer, keras.layers.Layer):
        return
    hint = " (a class: instantiate it, e.g. keras.layers.Dense(4))" if isinstance(keras_layer, type) else ""
    raise TypeError(f"check_against_keras: keras_layer must be a keras.layers.Layer instance{hint}. "
                    f"Received: keras_layer={keras_layer!r} of type {type(keras_layer).__name__}")


def check_weight_shape(label, value, variable, keras_layer, transposed=False):
    """``value`` (already in Keras's layout) has the shape of ``variable``, else a ValueError naming both."""
    if tuple(np.shape(value)) == tuple(variable.shape):
        return
    how = " after the (out, in, kh, kw) -> (kh, kw, in, out) transpose" if transposed else ""
    raise ValueError(f"check_against_keras: {describe(keras_layer)} expects its weight '{variable.name}' of shape "
                     f"{tuple(variable.shape)}, but {label} has shape {tuple(np.shape(value))}{how}: the "
                     f"configurations differ. Received: {label}.shape={tuple(np.shape(value))}")


def check_output_shape(subject, y_shape, keras_shape, keras_layer, x_shape, layout):
    """The layer's output and the Keras layer's (both in the user's layout) have one shape, else a ValueError."""
    if tuple(y_shape) == tuple(keras_shape):
        return
    images = f" (images {layout})" if len(x_shape) == 4 else ""
    raise ValueError(f"check_against_keras: {describe(keras_layer)} gives an output of shape {tuple(keras_shape)} "
                     f"for x.shape={tuple(x_shape)}{images}, but {subject}.forward gives {tuple(y_shape)}: the "
                     f"configurations differ (units or filters, padding, strides, pool size). "
                     f"Received: output.shape={tuple(y_shape)}")


def convention_hints(layer, keras_layer, x_nhwc_shape):
    """What a failing comparison should look at first: the Keras layer's settings where textbook code usually
    differs (asymmetric 'same' padding, strides, a normalisation's epsilon), with the hand-written layer's own values
    where it holds them as attributes (``pad``, ``stride``, ``eps``/``epsilon``)."""
    config = keras_layer.get_config()
    hints = []
    if config.get("padding") == "same" and "strides" in config and len(x_nhwc_shape) == 4:
        sizes = x_nhwc_shape[1:3]
        kernel = config.get("kernel_size") or config.get("pool_size")
        dilation = config.get("dilation_rate") or (1,) * len(kernel)
        pads = [_same_padding(n, k, s, d) for n, k, s, d in zip(sizes, kernel, config["strides"], dilation, strict=True)]
        if any(before != after for before, after in pads):
            own = f"; {type(layer).__name__}.pad={layer.pad!r} pads the same on both sides" if hasattr(layer, "pad") \
                else ""
            hints.append(f"Keras padding='same' pads (before, after)={pads} on (H, W) for this {sizes[0]}x{sizes[1]} "
                         f"input with strides {tuple(config['strides'])}: more after than before{own} (use an input "
                         "size where they agree, or padding='valid' after an explicit ZeroPadding2D)")
    if "epsilon" in config:  # momentum moves only the moving statistics, which are copied in, never compared
        own = [f"{type(layer).__name__}.{n}={getattr(layer, n)!r}" for n in ("eps", "epsilon")
               if np.isscalar(getattr(layer, n, None))]
        hints.append(f"Keras {type(keras_layer).__name__} epsilon={config['epsilon']!r}, added to the variance "
                     "inside the square root" + (f"; {own[0]}" if own else " (textbook code often hard-codes 1e-7 "
                                                 "or 1e-5, or adds it outside the square root)") + ": make them equal")
    if "strides" in config and hasattr(layer, "stride") and np.isscalar(layer.stride) \
            and tuple(config["strides"]) != (layer.stride,) * len(config["strides"]):
        hints.append(f"Keras strides={tuple(config['strides'])}, {type(layer).__name__}.stride={layer.stride!r}")
    return hints


def _same_padding(size, kernel, stride, dilation):
    """(before, after) of TensorFlow's 'same' padding along one axis: the extra row goes after. The gradient checker
    imports neither twin package (tests/test_layering.py), so this is not numpy_models._windows.output_and_padding,
    whose 'same' branch it must equal (tests/test_gradcheck_keras_hints.py)."""
    total = max((-(-size // stride) - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return total // 2, total - total // 2
