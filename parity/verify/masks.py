"""The Keras model's Dropout masks (and GaussianNoise) replayed in the twin, so a training step is comparable.

Both sides of a verify run train on the same batch; a Dropout layer draws a mask
per training call, so the twin replays its Keras layer's stream element by
element (``keras_models.dropout``), as ``parity.twins.install_keras_masks`` does
for the report's twins. Here the stream starts from where the Keras layer's
generator is now, not from its seed: a layer without a seed, or one loaded from
a ``.keras`` file, replays the same way. A random layer that cannot be replayed
is refused by name. ``seed_unseeded`` makes a model verify loaded from a file
draw the same masks every run (Keras seeds an unseeded layer at random on load).
On PyTorch an unseeded Dropout draws from torch's global generator, not its
SeedGenerator: the twin follows that generator (``keras_models.dropout``), and
``global_streams_kept`` puts it back after a verify.
Keras is imported on first use.
"""
import contextlib

import numpy as np

from parity.random_streams import seed_for
from parity.twins import leaf_layers


def _kind(layer, replays):
    return next((c.__name__ for c in type(layer).__mro__ if c.__name__ in replays), None)


def _pairs(layers, k_container):
    """(NumPy layer, Keras layer or None) for every layer, nested models' layers too."""
    for layer in layers:
        try:
            k_layer = k_container.get_layer(layer.name) if k_container is not None else None
        except ValueError:  # no layer of that name: the twin was edited
            k_layer = None
        if hasattr(layer, "layers"):
            yield from _pairs(layer.layers, k_layer)
        else:
            yield layer, k_layer


def install(twin, k_model):
    """Give every random layer of ``twin`` (Dropout, SpatialDropout2D, GaussianNoise) its Keras layer's stream."""
    from keras_models.dropout import REPLAYS, follower  # imports TensorFlow

    shared = {}
    for layer, k_layer in _pairs(twin.layers, k_model):
        if not hasattr(layer, "mask_fn") or getattr(layer, "rate", getattr(layer, "stddev", None)) == 0:
            continue  # not random, or never draws (Keras's layer has no SeedGenerator then)
        kind = _kind(layer, REPLAYS)
        if kind is None or getattr(k_layer, "seed_generator", None) is None:
            found = "none" if k_layer is None else type(k_layer).__name__
            raise ValueError(f"Layer '{layer.name}' ({type(layer).__name__}): verify replays the masks of a Keras "
                             f"Dropout, SpatialDropout2D or GaussianNoise of the same name, and cannot replay this "
                             f"one's. Received: Keras layer {layer.name!r}={found}")
        layer.mask_fn = follower(kind, layer, k_layer, shared)


def keras_draw(k_layer, x):
    """(what, array): what the Keras random layer ``k_layer`` draws at its next training call on ``x``, read from
    a copy of its stream (its own generator does not advance); None for a layer that draws nothing.

    Dropout and SpatialDropout2D: ("mask", its keep mask: bool, True = kept, in its noise shape). GaussianNoise:
    ("unit_noise", the N(0, 1) draw its noise is ``stddev`` times; Keras's normal is ``N(0, 1) * stddev + 0`` from
    the same seed), so a layer replaying it still applies its own rate or stddev. An unseeded Dropout on PyTorch:
    the mask ``F.dropout`` draws next from torch's global generator, which is left where it is.
    """
    from keras_models.dropout import REPLAYS, KerasNoiseReplay, follow, follower  # imports TensorFlow

    kind = _kind(k_layer, REPLAYS)
    if kind is None or getattr(k_layer, "seed_generator", None) is None:
        return None
    noise_shape = getattr(k_layer, "_get_noise_shape", None)  # SpatialDropout2D's (N, 1, 1, C); else x's shape
    shape = tuple(int(d) for d in noise_shape(x)) if noise_shape is not None else tuple(x.shape)
    # the Keras layer's own rate (its mask's threshold), on the stream it draws from: its SeedGenerator's or torch's
    what, replay = ("unit_noise", follow(KerasNoiseReplay(k_layer.seed, 1.0), k_layer)) if kind == "GaussianNoise" \
        else ("mask", follower(kind, k_layer, k_layer, {}))
    return what, np.asarray(replay(shape, x.dtype.name))


def seed_unseeded(k_model, seed):
    """Start the generator of every unseeded random layer of ``k_model`` (verify's own copy) from ``seed``'s
    "dropout_streams" (``parity.random_streams``): same seed, same masks."""
    import keras  # imports TensorFlow

    from keras_models.dropout import REPLAYS, draws_from_torch_generator, seed_torch_generator

    unseeded = [l for l in leaf_layers(k_model) if getattr(l, "seed_generator", None) is not None and l.seed is None]
    for k, layer in enumerate(unseeded):
        layer.seed_generator.state.assign(keras.random.SeedGenerator(seed_for("dropout_streams", seed) + k).state.value)
    # PyTorch: an unseeded Dropout draws from torch's global generator, not its SeedGenerator (keras_models.dropout)
    if any(draws_from_torch_generator(_kind(layer, REPLAYS), layer) for layer in unseeded):
        seed_torch_generator(seed_for("dropout_streams", seed) + len(unseeded))


@contextlib.contextmanager
def global_streams_kept():
    """Run the block and put back the random state that lives outside the Keras model (torch's global generator,
    which an unseeded Dropout draws from on PyTorch): verify leaves it as it found it."""
    from keras_models.dropout import global_stream_state, set_global_stream_state  # imports TensorFlow

    state = global_stream_state()
    try:
        yield
    finally:
        set_global_stream_state(state)
