"""The optimizer-paths study (``descent_path``) on every installed Keras backend, through its own autodiff."""
import os

import pytest

from parity.checks.backends import BACKENDS, available, run_on
from parity.compare import relative_difference
from parity.tolerances import tolerance
from parity.training.studies import PATH_OPTIMIZERS, START, STEPS, _numpy_path, quadratic


def _keras_paths(dtype):
    from keras_models.backend import BACKEND  # imports the backend
    from keras_models.optimizers import descent_path

    return BACKEND, {label: descent_path(name, kwargs, START, quadratic, STEPS, dtype)
                     for label, (name, kwargs) in PATH_OPTIMIZERS.items()}


# The backend of this process runs here; the others in their kept process, on the xdist worker of their group.
HERE = os.environ.get("KERAS_BACKEND", "tensorflow")


@pytest.mark.parametrize("backend", [pytest.param(b, marks=[pytest.mark.xdist_group(f"backend_{b}"), pytest.mark.skipif(
    not available(b), reason=f"{b} is not installed: pip install -e '.[{b}]'")]) for b in BACKENDS])
def test_descent_paths_match_the_numpy_optimizers_on_each_backend(backend):
    ran_on, paths = _keras_paths("float32") if backend == HERE else run_on(backend, _keras_paths, "float32", reuse=True)
    assert ran_on == backend
    tol = tolerance("float32", "study").rtol  # the study's own rows are held to it (report.experiment_report)
    errors = {label: relative_difference(_numpy_path(name, kwargs, "float32"), paths[label])[1]
              for label, (name, kwargs) in PATH_OPTIMIZERS.items()}
    assert all(e <= tol for e in errors.values()), errors
    assert all(paths[label].shape == (STEPS + 1, 2) for label in PATH_OPTIMIZERS)
