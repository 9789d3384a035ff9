"""Shared fixtures and the hypothesis profile. Setting PARITY_BLOCK_TF=1 makes importing TensorFlow or Keras fail,
which proves the NumPy-only tests need neither (see test_numpy_only.py)."""
import os
import sys

# One BLAS and one TensorFlow thread per process, set before NumPy, SciPy or TensorFlow load (subprocesses and
# spawned backend workers inherit it). The suite's arrays are small and pytest-xdist already runs a worker per core:
# with a thread pool per core in every worker, the pools spin against each other (a float64 three-way check of
# mlp_bn_784_100x4_10 took 10x longer). The same pinning as the sweep's workers (parity.sweep.cluster.PINNED_ENV).
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
              "TF_NUM_INTEROP_THREADS"):
    os.environ.setdefault(_name, "1")

# JAX's compilation cache (keras_models.backend) goes in this checkout's .pytest_cache, not the user's ~/.cache:
# the suite writes nothing outside the checkout, and `pytest --cache-clear` empties it. The backend workers
# are spawned with this environment.
os.environ.setdefault("PARITY_JAX_CACHE", os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                                       ".pytest_cache", "jax"))

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402
import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

threadpool_limits(1, user_api="blas")  # in case a plugin loaded NumPy before this file set the environment

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


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items):
    """Cluster tests run first, one after another, in the xdist group "cluster".

    pytest-xdist hands out tests in collection order (``--no-loadscope-reorder``,
    pyproject's addopts; an xdist group at its first test). A cluster test takes
    5-40 s (Dask worker processes importing TensorFlow); handed out last, it would
    leave the other xdist worker idle at the end. In one group, one xdist worker runs
    them while the other runs the rest, and no two clusters start at once on a small
    machine (their tests wait with timeouts).
    """
    for item in items:
        if item.get_closest_marker("cluster"):
            item.add_marker(pytest.mark.xdist_group("cluster"))
    items.sort(key=lambda item: item.get_closest_marker("cluster") is None)  # stable: file order otherwise


@pytest.fixture
def rng():
    return np.random.default_rng(SEED)


@pytest.fixture(scope="session")
def report_parts(tmp_path_factory):
    """The parts of one real ``parity report`` run, pickled (see tests/report_parts_run.py)."""
    from tests import report_parts_run  # here: it imports the whole report (2 s) that most test files never need

    return report_parts_run.computed(tmp_path_factory.mktemp("computed"))
