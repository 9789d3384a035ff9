"""PReLU with one alpha for the whole layer (He et al. 2015's channel-shared variant) vs one alpha per channel.

Both start from He et al.'s alpha = 0.25 and learn alpha alone by gradient descent on the same data, whose targets
come from a PReLU with a different slope in each channel. The per-channel layer can learn those slopes; the shared
one can only learn one slope for all channels, so the trained outputs differ: the variant measures by how much.
"""
import numpy as np

from numpy_models.optimizers import SGD
from parity.twins import twins_from_layers
from parity.variants.result import VariantResult

SHAPE = (6, 6, 3)  # (H, W, C)
TRUE_ALPHA = np.array([0.1, 0.5, -0.2])  # the per-channel slopes of the targets
INITIAL_ALPHA = {"class_name": "Constant", "config": {"value": 0.25}}  # He et al.'s initial alpha
STEPS, LEARNING_RATE = 20, 2.0
SHARED, PER_CHANNEL = [1, 2, 3], [1, 2]  # shared_axes: alpha shape (1, 1, 1) vs (1, 1, C)


def prelu_configs(shared_axes):
    return [("PReLU", {"alpha_initializer": INITIAL_ALPHA, "shared_axes": shared_axes}, "prelu")]


def _data(dtype):
    x = np.random.default_rng(0).standard_normal((8, *SHAPE))
    return x.astype(dtype), (np.maximum(x, 0) - TRUE_ALPHA * np.maximum(-x, 0)).astype(dtype)


def train_alpha(dtype, numpy_axes, keras_axes):
    """(NumPy model, Keras model, their outputs after training): PReLU(shared_axes=numpy_axes) in NumPy and
    PReLU(shared_axes=keras_axes) in Keras, each trained by SGD on 0.5 * mean((y - target)^2) for STEPS steps.

    Shapes: x, target (8, 6, 6, 3); alpha (1, 1, 1) when shared, (1, 1, 3) per channel.
    """
    from keras_models import forward, forward_backward  # imports TensorFlow
    from keras_models.optimizers import apply_gradients, build_optimizer  # imports TensorFlow

    ours, theirs = twins_from_layers(prelu_configs(numpy_axes), SHAPE, dtype,
                                     keras_configs=prelu_configs(keras_axes), copy_weights=False)
    x, target = _data(dtype)
    np_opt, k_opt = SGD(learning_rate=LEARNING_RATE), build_optimizer("SGD", {"learning_rate": LEARNING_RATE}, dtype)
    for _ in range(STEPS):
        y = ours.forward(x)
        ours.backward((y - target) / y.size)
        np_opt.update(ours.params, ours.grads)
        k_y = forward(theirs, x)[-1]
        apply_gradients(k_opt, theirs, forward_backward(theirs, x, (k_y - target) / k_y.size)["grads"])
    return ours, theirs, ours.forward(x), forward(theirs, x)[-1]


def SharedPReLU(dtype):
    _, _, ours, theirs = train_alpha(dtype, SHARED, PER_CHANNEL)
    return VariantResult.measured("SharedPReLU", dtype, [ours], [theirs],
                                  f"one alpha for all {SHAPE[-1]} channels (He et al.'s channel-shared PReLU, 1 "
                                  f"parameter) vs one per channel ({SHAPE[-1]}): trained {STEPS} SGD steps on "
                                  "targets with a different slope per channel, the shared alpha can only learn "
                                  "their compromise; outputs after training compared",
                                  "PReLU(shared_axes=[1, 2]) (PReLU(shared_axes=[1, 2, 3]) reproduces it)")


VARIANTS = [SharedPReLU]
