"""Layer classes by Keras class name, and building a model from layer configs."""
from numpy_models import activation_layers, embedding, layer_normalization, maxout, pooling1d, reshaping, upsampling
from numpy_models import convolutional, core, normalization, pooling, regularization
from numpy_models.sequential import Sequential

LAYERS = {cls.__name__: cls for cls in (
    core.Dense, core.Activation, core.Flatten, convolutional.Conv2D, pooling.MaxPooling2D,
    pooling.AveragePooling2D, pooling.GlobalAveragePooling2D, normalization.BatchNormalization,
    regularization.Dropout)}
LAYERS.update({cls.__name__: cls for cls in (
    activation_layers.ReLU, activation_layers.LeakyReLU, activation_layers.PReLU, activation_layers.ELU,
    activation_layers.Softmax, layer_normalization.LayerNormalization, reshaping.ZeroPadding2D, reshaping.Cropping2D,
    reshaping.Reshape, reshaping.Permute, reshaping.RepeatVector, upsampling.UpSampling2D, pooling1d.MaxPooling1D,
    pooling1d.AveragePooling1D, pooling1d.GlobalMaxPooling1D, pooling1d.GlobalMaxPooling2D,
    pooling1d.GlobalAveragePooling1D, embedding.Embedding, regularization.SpatialDropout2D,
    regularization.GaussianNoise, maxout.Maxout)})


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
