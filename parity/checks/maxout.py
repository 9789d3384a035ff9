"""Maxout's Keras twin from stock layers, and its parity check.

``Maxout(units, pieces)`` (numpy_models.maxout) has no Keras class; the same
function is ``Dense(pieces * units)`` -> ``Reshape((pieces, units))`` ->
``GlobalMaxPooling1D`` (max over the pieces axis; no custom math). The NumPy
kernel has that Dense's layout, so the weights copy by name.
"""
import numpy as np

from parity.compare import compare
from parity.tolerances import tolerance


def keras_maxout_configs(units, pieces, name="maxout"):
    """Stock-layer configs computing Maxout; the Dense carries the NumPy layer's name and weights."""
    return [("Dense", {"units": pieces * units}, name),
            ("Reshape", {"target_shape": (pieces, units)}, f"{name}_pieces"),
            ("GlobalMaxPooling1D", {}, f"{name}_max")]


def check_maxout(units, pieces, in_dim, dtype, batch_size=6, seed=0):
    """Output, input gradient and kernel/bias gradients of NumPy Maxout vs its Keras composition."""
    import keras_models
    import numpy_models
    from keras_models import forward_backward

    np_model = numpy_models.Sequential([numpy_models.registry.LAYERS["Maxout"](units, pieces, name="maxout")],
                                       dtype=dtype).build((None, in_dim), seed=seed)
    k_model = keras_models.build_sequential(keras_maxout_configs(units, pieces), (in_dim,), dtype)
    layer = np_model.layers[0]
    for variable in k_model.layers[0].weights:
        variable.assign(layer.params[variable.name])
    rng = np.random.default_rng(seed + 1)
    x = rng.standard_normal((batch_size, in_dim)).astype(dtype)
    dout = rng.standard_normal((batch_size, units)).astype(dtype)
    y = np_model.forward(x)
    dx = np_model.backward(dout)
    ref = forward_backward(k_model, x, dout)
    tol = tolerance(dtype)
    return ([compare(y, ref["outputs"][-1], "maxout:output", tol), compare(dx, ref["dx"], "maxout:input_grad", tol)]
            + [compare(layer.grads[w], ref["grads"][f"maxout/{w}"], f"maxout/{w}", tol) for w in layer.params])
