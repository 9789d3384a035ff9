"""Layer classes by Keras class name, and building a model from layer configs."""
from numpy_models import convolutional, core, normalization, pooling, regularization
from numpy_models.sequential import Sequential

LAYERS = {cls.__name__: cls for cls in (
    core.Dense, core.Activation, core.Flatten, convolutional.Conv2D, pooling.MaxPooling2D,
    pooling.AveragePooling2D, pooling.GlobalAveragePooling2D, normalization.BatchNormalization,
    regularization.Dropout)}


def register(cls):
    LAYERS[cls.__name__] = cls
    return cls


def layer_from_config(class_name, kwargs, name):
    if class_name not in LAYERS:
        raise ValueError(f"Unknown layer class for layer '{name}'. Expected one of {sorted(LAYERS)}. Received: class_name={class_name!r}")
    try:
        return LAYERS[class_name](**kwargs, name=name)
    except TypeError as exc:
        raise TypeError(f"Layer '{name}' ({class_name}): invalid arguments {sorted(kwargs)}: {exc}") from None


def build_sequential(layer_configs, input_shape, dtype="float32", seed=0, name="sequential"):
    """Build a NumPy Sequential from ``[(class_name, kwargs, name), ...]``."""
    layers = [layer_from_config(c, kw, n) for c, kw, n in layer_configs]
    return Sequential(layers, name=name, dtype=dtype).build((None,) + tuple(input_shape), seed=seed)

# Convolution family (issue 13).
from numpy_models import convolutional1d, depthwise, separable, transposed  # noqa: E402

for _cls in (depthwise.DepthwiseConv2D, separable.SeparableConv2D, transposed.Conv2DTranspose, convolutional1d.Conv1D):
    register(_cls)
