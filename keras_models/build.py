"""Build a ``keras.Sequential`` from ``[(class_name, kwargs, name), ...]``."""
import contextlib
import functools

from keras_models import backend  # noqa: F401  before keras: sets up the backend (TF32 off, JAX x64)
import keras  # noqa: E402

# NumPy activation names that Keras spells as a function with arguments.
_ACTIVATION_FUNCTIONS = {
    "gelu_tanh": functools.partial(keras.activations.gelu, approximate=True),
}


@contextlib.contextmanager
def keras_dtype(dtype):
    """Make Keras really compute in ``dtype``: floatx *and* the global dtype policy.

    ``set_floatx`` alone is not enough once a layer exists (the policy is
    cached), and per-layer dtype leaves losses and optimizers in float32
    (docs/keras_conventions.md, pitfall 3). Everything built inside keeps ``dtype``.
    """
    old_floatx, old_policy = keras.config.floatx(), keras.config.dtype_policy()
    keras.config.set_floatx(dtype)
    keras.config.set_dtype_policy(dtype)
    try:
        yield
    finally:
        keras.config.set_floatx(old_floatx)
        keras.config.set_dtype_policy(old_policy)


def model_dtype(model):
    """The dtype a model computes in: its weights' dtype (the first layer's compute dtype when it has none).

    The one rule of this package, for Sequential, Functional and nested models alike.
    """
    if model.weights:
        return model.weights[0].dtype
    return model.layers[0].compute_dtype if model.layers else keras.config.floatx()


def _translate(kwargs):
    out = dict(kwargs)
    act = out.get("activation")
    if isinstance(act, str) and act in _ACTIVATION_FUNCTIONS:
        out["activation"] = _ACTIVATION_FUNCTIONS[act]
    return out


def build_layer(class_name, kwargs, name):
    cls = getattr(keras.layers, class_name, None)
    if cls is None:
        raise ValueError(f"Unknown Keras layer class for layer '{name}'. Received: class_name={class_name!r}")
    return cls(**_translate(kwargs), name=name)


def build_sequential(layer_configs, input_shape, dtype="float32", name="sequential"):
    """A built ``keras.Sequential`` whose layers and variables are all ``dtype``."""
    with keras_dtype(dtype):
        model = keras.Sequential(
            [keras.Input(shape=tuple(input_shape))] + [build_layer(*cfg) for cfg in layer_configs],
            name=name,
        )
    return model
