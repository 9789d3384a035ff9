"""Every random stream comes from one table: named, distinct where they feed the same check, reproducible."""
import numpy as np
import pytest

from parity import random_streams


def test_streams_of_one_check_never_share_a_seed():
    seeds = [random_streams.seed_for(s, 0) for s in ("batch_inputs", "upstream_gradient", "finite_difference")]
    seeds += [random_streams.seed_for("batch_targets", 0)]
    assert len(set(seeds)) == len(seeds)


def test_same_stream_same_numbers():
    a = random_streams.generator("optimizer_gradients", 5).standard_normal(4)
    np.testing.assert_array_equal(a, random_streams.generator("optimizer_gradients", 5).standard_normal(4))


def test_per_step_streams_need_a_step_and_unknown_streams_are_named():
    assert random_streams.seed_for("training_step_batch", 0, step=3) == 300
    with pytest.raises(ValueError, match="Received: step=None"):
        random_streams.seed_for("training_step_batch", 0)
    with pytest.raises(KeyError, match="Received: stream='nope'"):
        random_streams.seed_for("nope", 0)
