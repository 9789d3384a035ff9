"""NumPy <-> Keras parity: specs, weight bridge, comparisons, gradient checks, reports.

The only package that imports both ``numpy_models`` and ``keras_models``;
Keras is imported lazily so that ``parity.compare`` and the gradient checker
work without TensorFlow. See docs/architecture.md for the package map.
"""
from parity.compare import Comparison, ParityError, assert_all_passed, compare
from parity.gradcheck import GradcheckResult, assert_gradients_ok, check_against_keras, gradcheck, gradcheck_net
from parity.tolerances import TOLERANCES, tolerance


def from_keras(model_or_path, dtype=None, **kwargs):
    """See ``parity.convert.from_keras`` (imports TensorFlow on first use): ``with_compiled``, ``input_shapes``."""
    from parity.convert import from_keras as convert
    return convert(model_or_path, dtype=dtype, **kwargs)


def to_keras(np_model):
    """See ``parity.convert.to_keras`` (imports TensorFlow on first use)."""
    from parity.convert import to_keras as convert
    return convert(np_model)


def verify(model, x=None, y=None, steps=10, twin=None, **kwargs):
    """See ``parity.verify.verify`` (imports TensorFlow on first use)."""
    from parity.verify.api import verify as run
    return run(model, x, y, steps=steps, twin=twin, **kwargs)


__all__ = ["Comparison", "GradcheckResult", "ParityError", "TOLERANCES", "assert_all_passed",
           "assert_gradients_ok", "check_against_keras", "compare", "from_keras", "gradcheck", "gradcheck_net", "to_keras",
           "tolerance", "verify"]
