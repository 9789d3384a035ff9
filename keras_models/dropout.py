"""Keras's dropout mask stream, replayable: the masks a seeded ``keras.layers.Dropout`` draws.

A Keras ``Dropout(rate, seed=S)`` draws its masks from ``SeedGenerator(S)``;
a twin generator with the same seed, advanced once per training call, yields
the same masks through ``keras.random.dropout`` (stock Keras, no custom
math). Copies of a replay replay the same stream from the same point, so
gradient checkers can deep-copy models freely. On PyTorch an unseeded
Dropout draws from torch's global generator instead (``F.dropout``): see
``draws_from_torch_generator`` and ``TorchGeneratorStream``.

On the TensorFlow backend a draw repeated often (``TRACE_AFTER`` times in this
process for one shape, dtype and rate) becomes one call of a graph traced from
the same Keras calls (an eager draw is a few ms of op dispatch, the graph call
a fraction of that). The graph draws from a carrier ``SeedGenerator`` of its
own: the replay's generator state goes in, the advanced state comes out, so
every replay (and every copy) shares the trace and keeps its own stream. (The
carrier is shared: draws run one at a time, as the NumPy twins draw them.)

Parity: the traced and the eager draws run the same stateless TensorFlow
kernels on the same seeds: masks, noise and generator states are bit-identical
(tests/test_mask_replay_traced.py), and ``parity report``'s numbers are unchanged.
"""
import collections

import keras

from keras_models.build import keras_dtype
from keras_models.tracing import call_concrete

# Eager draws of one (draw, shape, dtype, parameter) before its graph is traced: a trace costs about as much CPU as
# 10-20 eager draws (measured 25-60 ms against 1.5-4 ms), so a stream drawn a few times (a short check) never pays it.
TRACE_AFTER = 16
_EAGER_DRAWS = collections.Counter()
_GRAPHS = {}  # (draw, shape, dtype, parameter) -> concrete function: generator state -> (draw, advanced state)


def _dropout(generator, shape, dtype, rate):
    return keras.random.dropout(keras.ops.ones(shape, dtype=dtype), rate, seed=generator)


def _noise_shaped_dropout(generator, shape, dtype, rate):
    """SpatialDropout2D's draw, a mask of its noise shape drawn as the layer draws it: with ``noise_shape`` given.
    (PyTorch takes a different path without one: ``torch.nn.functional.dropout`` on torch's global generator for an
    unseeded layer, ``keras_models.dropout.draws_from_torch_generator``.)"""
    return keras.random.dropout(keras.ops.ones(shape, dtype=dtype), rate, noise_shape=tuple(shape), seed=generator)


def _noise(generator, shape, dtype, stddev):
    return keras.random.normal(shape, mean=0.0, stddev=stddev, dtype=dtype, seed=generator)


def _trace(key):
    """The concrete function drawing ``key`` from a carrier generator set to the state it is given."""
    import tensorflow as tf  # only reached on the TensorFlow backend

    draw, shape, dtype, parameter = key
    carrier = keras.random.SeedGenerator(0)  # its state is overwritten by every call: the seed is irrelevant

    @tf.function(autograph=False)
    def draw_from(state):
        carrier.state.assign(state)
        drawn = draw(carrier, shape, dtype, parameter)
        return drawn, tf.identity(carrier.state.value)  # read after the draw's assign (automatic control deps)

    with keras_dtype(dtype):
        return draw_from.get_concrete_function(tf.TensorSpec((2,), carrier.state.dtype))


def _draw(draw, generator, shape, dtype, parameter):
    """``draw(generator, shape, dtype, parameter)`` eagerly, or through its traced graph once drawn often."""
    key = (draw, tuple(shape), keras.backend.standardize_dtype(dtype), parameter)
    graph = _GRAPHS.get(key)
    if graph is None:
        _EAGER_DRAWS[key] += 1
        if _EAGER_DRAWS[key] <= TRACE_AFTER or keras.backend.backend() != "tensorflow":
            with keras_dtype(dtype):
                return keras.ops.convert_to_numpy(draw(generator, shape, dtype, parameter))
        graph = _GRAPHS[key] = _trace(key)
    drawn, state = call_concrete(graph, generator.state.value)
    generator.state.assign(state)
    return keras.ops.convert_to_numpy(drawn)


class KerasMaskReplay:
    """``replay(shape, dtype) -> bool mask`` (True = kept), the next mask of the Keras layer's stream."""

    def __init__(self, seed, rate, noise_shaped=False):
        self.seed, self.rate, self.draws, self.noise_shaped = seed, rate, 0, noise_shaped
        self._generator = keras.random.SeedGenerator(seed)

    def __call__(self, shape, dtype):
        kept = _draw(_noise_shaped_dropout if self.noise_shaped else _dropout, self._generator, shape, dtype, self.rate)
        self.draws += 1
        return kept != 0

    def __deepcopy__(self, memo):
        clone = KerasMaskReplay(self.seed, self.rate, self.noise_shaped)
        clone._generator.state.assign(self._generator.state.value)  # where this stream is: O(1), not O(draws)
        clone.draws = self.draws
        return clone


class KerasNoiseReplay(KerasMaskReplay):
    """GaussianNoise's stream: ``keras.random.normal(shape, 0, stddev, seed=SeedGenerator(S))`` per training call."""

    def __init__(self, seed, stddev):
        super().__init__(seed, stddev)
        self.stddev = stddev

    def __call__(self, shape, dtype):
        noise = _draw(_noise, self._generator, shape, dtype, self.stddev)
        self.draws += 1
        return noise

    def __deepcopy__(self, memo):
        clone = KerasNoiseReplay(self.seed, self.stddev)
        clone._generator.state.assign(self._generator.state.value)
        clone.draws = self.draws
        return clone


# Keras layer class -> its random stream. SpatialDropout2D draws one (N, 1, 1, C) mask per call from the same
# uniforms Keras draws for its noise_shape, so the Dropout replay serves it, drawing with that noise_shape as the
# layer does (PyTorch: the seeded path even for an unseeded layer, where a plain Dropout's takes F.dropout).
REPLAYS = {"Dropout": lambda layer: KerasMaskReplay(layer.seed, layer.rate),
           "SpatialDropout2D": lambda layer: KerasMaskReplay(layer.seed, layer.rate, noise_shaped=True),
           "GaussianNoise": lambda layer: KerasNoiseReplay(layer.seed, layer.stddev)}


def follow(replay, keras_layer):
    """``replay`` set to draw from where ``keras_layer``'s own SeedGenerator now is: the masks (or noise) that layer
    draws next, whether it was seeded or not (an unseeded layer's generator got a random seed when built)."""
    replay._generator.state.assign(keras_layer.seed_generator.state.value)
    return replay


# PyTorch: an unseeded Dropout never reads its SeedGenerator. keras/src/backend/torch/random.py ``dropout`` takes
# a "fast path" when the generator has no initial seed and there is no noise_shape: ``torch.nn.functional.dropout``,
# whose mask comes from torch's global generator (the layer's SeedGenerator never advances). Measured on Keras
# 3.15.1 / torch 2.13: such a layer's masks equal F.dropout's under the same ``torch.manual_seed``, and a replay of
# its SeedGenerator misses them. Such layers share one stream, torch's global generator, drawn in call order.
def draws_from_torch_generator(kind, keras_layer):
    """True where Keras draws ``keras_layer``'s masks (``kind``: its REPLAYS entry) from torch's global generator."""
    return (kind == "Dropout" and keras.backend.backend() == "torch"
            and keras_layer.seed_generator._initial_seed is None and getattr(keras_layer, "noise_shape", None) is None)


def _torch_generator():
    """torch's default generator of the device Keras runs on (the one ``F.dropout`` draws from there)."""
    import torch  # only reached on the PyTorch backend

    from keras.src.backend.torch.core import get_device

    device = torch.device(get_device())
    if device.type == "cpu":
        return torch.default_generator
    if device.type == "cuda":
        torch.cuda.init()
        return torch.cuda.default_generators[device.index if device.index is not None else torch.cuda.current_device()]
    raise ValueError(f"verify replays an unseeded Dropout's masks from torch's global generator on cpu or cuda only; "
                     f"give the layer a seed to verify it on this device. Received: device={get_device()!r}")


def torch_generator_state():
    """The state of torch's global generator (``_torch_generator``), to put back with ``set_torch_generator_state``."""
    return _torch_generator().get_state()


def set_torch_generator_state(state):
    _torch_generator().set_state(state)


def seed_torch_generator(seed):
    """Seed torch's global generator (``_torch_generator``), as ``torch.manual_seed`` does for that device."""
    _torch_generator().manual_seed(seed)


def global_stream_state():
    """What a snapshot of a Keras model's random state needs beside its variables: torch's global generator state
    on PyTorch (an unseeded Dropout's stream there), None on the other backends (every stream is a variable)."""
    return torch_generator_state() if keras.backend.backend() == "torch" else None


def set_global_stream_state(state):
    """Put back a ``global_stream_state`` (None: nothing to do)."""
    if state is not None:
        set_torch_generator_state(state)


class TorchGeneratorStream:
    """torch's global generator, followed: starts where it is now, and each ``draw`` runs from this stream's state
    and advances it, leaving the global generator as it was. One per model: its unseeded Dropout layers draw from
    it one after the other, as they draw from the global generator in Keras. A deep copy (of a twin: the memo keeps
    it shared by that copy's layers) continues from the same point."""

    def __init__(self):
        self.state = torch_generator_state()

    def draw(self, fn):
        saved = torch_generator_state()
        set_torch_generator_state(self.state)
        try:
            drawn = fn()
            self.state = torch_generator_state()
        finally:
            set_torch_generator_state(saved)
        return drawn


class TorchGeneratorMaskReplay:
    """``replay(shape, dtype) -> bool mask``: the mask Keras's unseeded Dropout draws next on PyTorch, drawn through
    the same Keras call (``keras.random.dropout`` without a seed: ``F.dropout``) on the model's shared stream."""

    def __init__(self, stream, rate):
        self.stream, self.rate, self.draws = stream, rate, 0

    def __call__(self, shape, dtype):
        kept = self.stream.draw(lambda: _draw(_dropout, None, shape, dtype, self.rate))
        self.draws += 1
        return kept != 0


def follower(kind, layer, keras_layer, shared):
    """The replay of the masks (or noise) ``keras_layer`` draws next, for the NumPy ``layer`` (``kind``: the REPLAYS
    entry both are). ``shared``: a dict kept across one model's layers (their torch stream, made when needed)."""
    if draws_from_torch_generator(kind, keras_layer):
        if "torch" not in shared:
            shared["torch"] = TorchGeneratorStream()
        return TorchGeneratorMaskReplay(shared["torch"], layer.rate)
    return follow(REPLAYS[kind](layer), keras_layer)
