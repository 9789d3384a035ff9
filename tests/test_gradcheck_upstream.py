"""The gradient checkers' upstream gradient is never what a user draws x from (walkthrough 25).

With the stream at offset 0, ``x = np.random.default_rng(0).standard_normal(shape)`` gave dout == x: for a
BatchNorm the exact dx is then 0 (pure cancellation), check_against_keras failed a correct BatchNorm in
float32 on round-off, and gradcheck's BatchNorm dx check compared round-off.
"""
import keras
import numpy as np
import pytest

import numpy_models as nm
from parity import check_against_keras, random_streams

EVERYDAY_SEEDS = [0, 1, 2, 3, 7, 42, 123, 1234, 2**31 - 1, 2**32 - 1]


@pytest.mark.parametrize("seed", [0, 1, 42])
def test_the_upstream_stream_is_no_everyday_generator(seed):
    dout = random_streams.generator("gradcheck_upstream", seed).standard_normal(16)
    assert not any(np.array_equal(dout, np.random.default_rng(s).standard_normal(16)) for s in EVERYDAY_SEEDS)


def test_a_correct_batchnorm_matches_keras_in_float32_with_x_from_default_rng_0():
    layer = nm.BatchNormalization()
    layer.build((None, 4), np.random.default_rng(0))
    result = check_against_keras(layer, keras.layers.BatchNormalization(dtype="float32"),
                                 np.random.default_rng(0).standard_normal((8, 4)))
    assert result.ok, str(result)
