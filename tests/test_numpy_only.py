"""numpy_models (and the NumPy-only parts of parity) import and pass their tests without TensorFlow."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(args, **env):
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=300)


def test_numpy_models_never_imports_tensorflow():
    code = ("import sys, numpy_models, parity, parity.gradcheck.finite_differences, parity.convert; "
            "assert not any(m.split('.')[0] in ('tensorflow', 'keras') for m in sys.modules), 'TF imported'")
    result = _run(["-c", code])
    assert result.returncode == 0, result.stderr


def test_numpy_tests_pass_with_tensorflow_blocked():
    files = ["tests/test_numpy_layers.py", "tests/test_initializers.py", "tests/test_errors.py", "tests/test_graph.py"]
    result = _run(["-m", "pytest", "-q", "-p", "no:cacheprovider", *files], PARITY_BLOCK_TF="1")
    assert result.returncode == 0, result.stdout[-3000:]
    assert " passed" in result.stdout and "failed" not in result.stdout
