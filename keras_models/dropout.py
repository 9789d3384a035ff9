"""Keras's dropout mask stream, replayable: the masks a seeded ``keras.layers.Dropout`` draws.

A Keras ``Dropout(rate, seed=S)`` draws its masks from ``SeedGenerator(S)``;
a twin generator with the same seed, advanced once per training call, yields
the same masks through ``keras.random.dropout`` (stock Keras, no custom
math). Copies of a replay replay the same stream from the same point, so
gradient checkers can deep-copy models freely.

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

    def __init__(self, seed, rate):
        self.seed, self.rate, self.draws = seed, rate, 0
        self._generator = keras.random.SeedGenerator(seed)

    def __call__(self, shape, dtype):
        kept = _draw(_dropout, self._generator, shape, dtype, self.rate)
        self.draws += 1
        return kept != 0

    def __deepcopy__(self, memo):
        clone = KerasMaskReplay(self.seed, self.rate)
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
# uniforms Keras draws for its noise_shape, so the Dropout replay serves it.
REPLAYS = {"Dropout": lambda layer: KerasMaskReplay(layer.seed, layer.rate),
           "SpatialDropout2D": lambda layer: KerasMaskReplay(layer.seed, layer.rate),
           "GaussianNoise": lambda layer: KerasNoiseReplay(layer.seed, layer.stddev)}


def follow(replay, keras_layer):
    """``replay`` set to draw from where ``keras_layer``'s own SeedGenerator now is: the masks (or noise) that layer
    draws next, whether it was seeded or not (an unseeded layer's generator got a random seed when built)."""
    replay._generator.state.assign(keras_layer.seed_generator.state.value)
    return replay
