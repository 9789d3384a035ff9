"""Shared fixtures and the hypothesis profile. Setting PARITY_BLOCK_TF=1 makes importing TensorFlow or Keras fail,
which proves the NumPy-only tests need neither (see test_numpy_only.py)."""
import os
import sys

import numpy as np
import pytest
from hypothesis import settings

# Every machine runs the same examples: derandomized (examples derived from each test's source, not a random
# seed), no example database carried between runs, no per-example deadline (the first example pays TF's
# warm-up). Registered before the test modules import, so their own ``settings(...)`` inherit it.
# HYPOTHESIS_PROFILE=random (with --hypothesis-seed) explores new examples locally.
settings.register_profile("ci", derandomize=True, deadline=None, database=None)
settings.register_profile("random", deadline=None, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

if os.environ.get("PARITY_BLOCK_TF") == "1":
    class _Blocker:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("tensorflow", "keras"):
                raise ImportError(f"PARITY_BLOCK_TF=1: importing {name} is not allowed here")
            return None

    sys.meta_path.insert(0, _Blocker())

SEED = 0


@pytest.fixture
def rng():
    return np.random.default_rng(SEED)
