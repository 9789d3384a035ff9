"""NumPy <-> Keras parity: specs, weight bridge, comparisons, gradient checks, reports.

The only package that imports both ``numpy_models`` and ``keras_models``;
Keras is imported lazily so that ``parity.compare`` and the gradient checker
work without TensorFlow.
"""
from parity.compare import Comparison, ParityError, assert_all_passed, compare
from parity.tolerances import TOLERANCES, tolerance

__all__ = ["Comparison", "ParityError", "TOLERANCES", "assert_all_passed", "compare", "tolerance"]
