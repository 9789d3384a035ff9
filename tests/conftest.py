"""Shared fixtures. Setting PARITY_BLOCK_TF=1 makes importing TensorFlow or Keras fail,
which proves the NumPy-only tests need neither (see test_numpy_only.py)."""
import os
import sys

import numpy as np
import pytest

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
