"""NumPy <-> Keras parity: specs, weight bridge, comparisons, gradient checks, reports.

The only package that imports both ``numpy_models`` and ``keras_models``;
Keras is imported lazily so that ``parity.compare`` and the gradient checker
work without TensorFlow. See docs/architecture.md for the package map.
"""
from parity.compare import Comparison, ParityError, assert_all_passed, compare
from parity.gradcheck import GradcheckResult, assert_gradients_ok, check_against_keras, gradcheck, gradcheck_net
from parity.tolerances import TOLERANCES, tolerance

__all__ = ["Comparison", "GradcheckResult", "ParityError", "TOLERANCES", "assert_all_passed",
           "assert_gradients_ok", "check_against_keras", "compare", "gradcheck", "gradcheck_net", "tolerance"]
