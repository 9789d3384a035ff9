"""The weight bridge: NumPy <-> Keras by (layer name, weight name).

Both sides use Keras weight names and layouts, so sharing weights is a copy
by name. Every copy is checked: the same set of names on both sides, the
same shape and dtype (nothing is cast or transposed silently), and a
read-back of each destination tensor that must equal the source bit for bit.
``verify_with_probe`` then runs a probe batch through both models, which is
what catches a square kernel given in the wrong layout (a shape check cannot).
"""
import numpy as np

from parity.compare import compare


class WeightTransferError(ValueError):
    pass


def keras_variables(keras_model):
    """{"layer/weight": variable} for every weight (trainable and not), model order.

    A nested model's weights are keyed by path: "model/layer/weight" (Keras's own
    variable paths drop the model name, which would make two blocks collide).
    """
    from keras_models.functional import keyed_variables
    return dict(keyed_variables(keras_model))


def keras_weights(keras_model):
    """{"layer/weight": a NumPy copy}: PyTorch's ``.numpy()`` shares the variable's memory."""
    return {k: np.array(v.numpy()) for k, v in keras_variables(keras_model).items()}


def _check_names(src, dst, src_label, dst_label):
    missing, extra = sorted(set(src) - set(dst)), sorted(set(dst) - set(src))
    if missing or extra:
        raise WeightTransferError(
            f"Weights do not correspond by name: only in {src_label}: {missing}; "
            f"only in {dst_label}: {extra}")


def _check_fit(key, value, shape, dtype, src_label, dst_label):
    layer, weight = key.split("/", 1)
    if tuple(value.shape) != tuple(shape):
        raise WeightTransferError(
            f"Layer '{layer}' weight '{weight}': {dst_label} expects shape {tuple(shape)}. "
            f"Received from {src_label}: shape={tuple(value.shape)}")
    if np.dtype(value.dtype) != np.dtype(dtype):
        raise WeightTransferError(
            f"Layer '{layer}' weight '{weight}': {dst_label} expects dtype {np.dtype(dtype).name}. "
            f"Received from {src_label}: dtype={value.dtype} (no silent casts; build both twins in one dtype)")


def _check_readback(key, sent, got, dst_label):
    if not np.array_equal(sent, got):
        diff = np.abs(np.asarray(got, np.float64) - np.asarray(sent, np.float64))
        where = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.size else ()
        raise WeightTransferError(
            f"Read-back of '{key}' from {dst_label} differs from what was sent: max |diff| "
            f"{diff.max():.3e} at {tuple(int(i) for i in where)}")


def numpy_to_keras(numpy_model, keras_model, transforms=None):
    """Copy every NumPy weight into the Keras twin and read each one back.

    Args:
        transforms: optional {"layer/weight": fn} applied to the NumPy array on
            the way (layout conversions); the read-back checks the result.
    """
    weights_to_keras(numpy_model.weights, keras_model, transforms)


def weights_to_keras(weights, keras_model, transforms=None):
    """``numpy_to_keras`` from the NumPy twin's weights alone ({"layer/weight": array}, e.g. sent by another process)."""
    src, dst = weights, keras_variables(keras_model)
    _check_names(src, dst, "numpy", "keras")
    for key, value in src.items():
        value = (transforms or {}).get(key, lambda a: a)(value)
        var = dst[key]
        _check_fit(key, value, var.shape, var.dtype, "numpy", "keras")
        var.assign(np.array(value))  # a copy: JAX may alias a NumPy buffer, which the NumPy twin updates in place
        _check_readback(key, value, var.numpy(), "keras")


def keras_to_numpy(keras_model, numpy_model):
    """Copy every Keras weight into the NumPy twin and read each one back."""
    src, dst = keras_weights(keras_model), numpy_model.weights
    _check_names(src, dst, "keras", "numpy")
    for key, value in src.items():
        _check_fit(key, value, dst[key].shape, dst[key].dtype, "keras", "numpy")
        layer, weight = key.split("/", 1)
        numpy_model.get_layer(layer).set_weight(weight, value)
        _check_readback(key, value, numpy_model.weights[key], "numpy")


def verify_with_probe(numpy_model, keras_model, x, tolerance):
    """Run ``x`` through both twins; raise naming the first layer whose output differs."""
    from keras_models import forward  # imports TensorFlow

    _, np_outputs = numpy_model.forward(x, return_activations=True)
    for layer, a, b in zip(numpy_model.layers, np_outputs, forward(keras_model, x), strict=True):
        result = compare(a, b, f"{layer.name}:output", tolerance)
        if not result.passed:
            raise WeightTransferError(
                f"After the weight transfer, layer '{layer.name}' computes different outputs "
                f"(a weight in the wrong layout, e.g. a transposed square kernel?):\n{result.message()}")
