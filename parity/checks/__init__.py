"""Parity checks and the registry that picks them for a spec.

    model_checks        weight round trip, forward, backward, loss, moving statistics (Sequential and graph specs)
    nodes               both twins node by node (a node is one layer call): outputs, output gradients, backward
    graph_checks        gradients and training steps of any Keras model against its twin (parity.convert)
    three_way           NumPy backward vs Keras GradientTape vs finite differences
    optimizer_settings  the optimizer settings checked, and both twins' optimizer from one setting
    optimizer_checks    optimizer trajectories and training steps, parameters and slots after every step
    testing             ``parametrize_with_checks`` for pytest
    backends            the checks on JAX and PyTorch: ``run_backends``, one spawned process per Keras backend
    backend_variants    measured explanations: failing JAX/PyTorch rows re-run with the variant that explains them
    backend_pooling     torch_replicate_pool: the NumPy average pooling padded as Keras's PyTorch pads it

``yield_checks(spec)`` yields a ``CheckCase`` per check that applies; pytest
and the report both run them (scikit-learn's estimator-checks design).
"""
import dataclasses
from dataclasses import dataclass

from parity.checks.model_checks import (check_backward, check_forward, check_loss, check_moving_statistics,
                                        check_weight_roundtrip)
from parity.checks.three_way import check_gradients_three_way

CHECKS = {fn.__name__: fn for fn in (check_weight_roundtrip, check_forward, check_backward, check_loss,
                                     check_moving_statistics, check_gradients_three_way)}


@dataclass(frozen=True)
class CheckCase:
    """One check on one spec in one dtype (and training mode, for checks that have one)."""

    spec: object  # parity.specs.ModelSpec
    check: str
    dtype: str
    training: bool = None  # None: the check has no training argument

    @property
    def id(self):
        mode = "" if self.training is None else f", training={self.training}"
        return f"{self.check}(dtype={self.dtype}{mode})"

    @property
    def expected_failure(self):
        """The spec's reason this check is known to fail, or None."""
        return self.spec.expected_failed_checks.get(self.check)

    def run(self):
        """The check's comparisons, each carrying this case's spec, check and dtype."""
        kwargs = {} if self.training is None else {"training": self.training}
        comparisons = CHECKS[self.check](self.spec, self.dtype, **kwargs)
        return [dataclasses.replace(c, spec=self.spec.id, check=self.check, dtype=self.dtype) for c in comparisons]


def yield_checks(spec, dtypes=("float32", "float64")):
    """A ``CheckCase`` for every check that applies to ``spec``."""
    modes = (False, True) if spec.has_training_behaviour else (False,)
    for dtype in dtypes:
        yield CheckCase(spec, "check_weight_roundtrip", dtype)
        for training in modes:
            for check in ("check_forward", "check_backward", "check_loss"):
                yield CheckCase(spec, check, dtype, training)
        if any(l.class_name == "BatchNormalization" for l in spec.layers):
            yield CheckCase(spec, "check_moving_statistics", dtype)
        if dtype == "float64":
            for training in modes:
                yield CheckCase(spec, "check_gradients_three_way", "float64", training)


__all__ = ["CHECKS", "CheckCase", "check_backward", "check_forward", "check_gradients_three_way", "check_loss",
           "check_moving_statistics", "check_weight_roundtrip", "yield_checks"]
