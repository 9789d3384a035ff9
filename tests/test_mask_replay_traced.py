"""Dropout masks and GaussianNoise drawn through the traced graph are the eager Keras draws, bit for bit.

``keras_models.dropout`` traces a draw once it has been drawn ``TRACE_AFTER`` times; these tests set it to trace
from the first draw (or never) and compare long streams: several shapes, float32 and float64, copies mid-stream,
the switch from eager to traced, and Keras's own seeded layers.
"""
import copy

import keras
import numpy as np
import pytest

from keras_models import dropout
from keras_models.build import keras_dtype

SHAPES = [(64, 100), (29, 100), (4, 6, 6, 3), (4, 1, 1, 3)]  # (N, 1, 1, C): SpatialDropout2D's mask
DTYPES = ["float32", "float64"]
REPLAYS = {"mask_0.2": lambda: dropout.KerasMaskReplay(7, 0.2), "mask_0.5": lambda: dropout.KerasMaskReplay(11, 0.5),
           "noise_0.3": lambda: dropout.KerasNoiseReplay(13, 0.3)}


def _fresh_traces(monkeypatch, trace_after):
    monkeypatch.setattr(dropout, "TRACE_AFTER", trace_after)
    monkeypatch.setattr(dropout, "_GRAPHS", {})
    monkeypatch.setattr(dropout, "_EAGER_DRAWS", dropout.collections.Counter())


def _stream(replay, dtype, draws=50):
    return [replay(SHAPES[i % len(SHAPES)], dtype) for i in range(draws)]


def _assert_bit_identical(ours, theirs):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert a.tobytes() == b.tobytes()  # bits: -0.0 and 0.0 differ, NaNs compare


def _state(replay):
    return keras.ops.convert_to_numpy(replay._generator.state.value).tolist()


def _eager(make, dtype, monkeypatch, draws=50):
    _fresh_traces(monkeypatch, 10**9)
    replay = make()
    stream = _stream(replay, dtype, draws)
    assert not dropout._GRAPHS  # really eager
    return stream, _state(replay)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", REPLAYS)
def test_traced_stream_is_the_eager_stream(kind, dtype, monkeypatch):
    expected, expected_state = _eager(REPLAYS[kind], dtype, monkeypatch)
    _fresh_traces(monkeypatch, 0)
    replay = REPLAYS[kind]()
    _assert_bit_identical(_stream(replay, dtype), expected)
    assert _state(replay) == expected_state == [replay.seed, 50]
    assert len(dropout._GRAPHS) == len(SHAPES)  # really traced: one graph per shape, every later draw reusing it


@pytest.mark.parametrize("kind", REPLAYS)
def test_switching_from_eager_to_traced_mid_stream_keeps_the_stream(kind, monkeypatch):
    expected, expected_state = _eager(REPLAYS[kind], "float32", monkeypatch, draws=30)
    _fresh_traces(monkeypatch, 3)  # each shape: three eager draws, then the graph
    replay = REPLAYS[kind]()
    _assert_bit_identical(_stream(replay, "float32", draws=30), expected)
    assert _state(replay) == expected_state
    assert len(dropout._GRAPHS) == len(SHAPES)


@pytest.mark.parametrize("kind", REPLAYS)
def test_copies_mid_stream_replay_from_the_same_point_and_share_no_state(kind, monkeypatch):
    expected, _ = _eager(REPLAYS[kind], "float64", monkeypatch, draws=40)
    _fresh_traces(monkeypatch, 0)
    replay = REPLAYS[kind]()
    head = _stream(replay, "float64", draws=20)
    clone = copy.deepcopy(replay)
    from_clone = _stream(clone, "float64", draws=20)  # drawn first: the original must not move
    assert _state(replay) == [replay.seed, 20] and clone.draws == 40
    _assert_bit_identical(head + _stream(replay, "float64", draws=20), expected)
    _assert_bit_identical(from_clone, expected[20:])


@pytest.mark.parametrize("dtype", DTYPES)
def test_traced_replays_draw_keras_own_layers_masks_and_noise(dtype, monkeypatch):
    _fresh_traces(monkeypatch, 0)
    with keras_dtype(dtype):
        layers = {"Dropout": keras.layers.Dropout(0.3, seed=5),
                  "GaussianNoise": keras.layers.GaussianNoise(0.4, seed=9)}
        x = keras.ops.ones((16, 12), dtype=dtype)
        keras_draws = {name: [keras.ops.convert_to_numpy(layer(x, training=True)) for _ in range(30)]
                       for name, layer in layers.items()}
    mask = dropout.REPLAYS["Dropout"](layers["Dropout"])
    noise = dropout.REPLAYS["GaussianNoise"](layers["GaussianNoise"])
    assert [np.array_equal(k != 0, mask((16, 12), dtype)) for k in keras_draws["Dropout"]] == [True] * 30
    _assert_bit_identical([noise((16, 12), dtype) + 1 for _ in range(30)], keras_draws["GaussianNoise"])  # x + noise
    assert len(dropout._GRAPHS) == 2


def test_other_backends_keep_the_eager_draw(monkeypatch):
    _fresh_traces(monkeypatch, 0)
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    expected = _stream(dropout.KerasMaskReplay(7, 0.2), "float32", draws=8)
    assert not dropout._GRAPHS
    monkeypatch.undo()
    _assert_bit_identical(expected, _eager(REPLAYS["mask_0.2"], "float32", monkeypatch, draws=8)[0])
