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
and the report both run them (scikit-learn's estimator-checks design). A case
runs in two halves (``HALVES``): its NumPy half returns plain data, its Keras half
compares Keras with it; ``run`` is the one after the other, and the backend
workers (``backends``) get the NumPy halves computed once in the parent.
"""
import dataclasses
from dataclasses import dataclass

from parity.checks import model_checks as mc
from parity.checks.model_checks import (check_backward, check_forward, check_loss, check_moving_statistics,
                                        check_weight_roundtrip)
from parity.checks.three_way import check_gradients_three_way, gradients_three_way_keras, gradients_three_way_numpy
from parity.twins import replays_keras_stream

CHECKS = {fn.__name__: fn for fn in (check_weight_roundtrip, check_forward, check_backward, check_loss,
                                     check_moving_statistics, check_gradients_three_way)}
# check -> (NumPy half, Keras half): ``CHECKS[check](spec, dtype)`` is ``keras(spec, dtype, numpy(spec, dtype))``
HALVES = {"check_weight_roundtrip": (mc.weight_roundtrip_numpy, mc.weight_roundtrip_keras),
          "check_forward": (mc.forward_numpy, mc.forward_keras),
          "check_backward": (mc.backward_numpy, mc.backward_keras),
          "check_loss": (mc.loss_numpy, mc.loss_keras),
          "check_moving_statistics": (mc.moving_statistics_numpy, mc.moving_statistics_keras),
          "check_gradients_three_way": (gradients_three_way_numpy, gradients_three_way_keras)}


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

    @property
    def key(self):
        """(spec id, check, dtype, training): what tells one case's NumPy half from another's."""
        return self.spec.id, self.check, self.dtype, self.training

    @property
    def backend_independent(self):
        """Whether the NumPy half is the same on every Keras backend: not where a training-mode pass replays
        the backend's random streams (Dropout masks, ``parity.twins.install_keras_masks``)."""
        training = self.training or self.check == "check_moving_statistics"
        return not (training and replays_keras_stream(self.spec, self.dtype))

    def _kwargs(self):
        return {} if self.training is None else {"training": self.training}

    def numpy_half(self):
        """The check's NumPy half: plain data (picklable), the same in every process for the same seed."""
        return HALVES[self.check][0](self.spec, self.dtype, **self._kwargs())

    def keras_half(self, data):
        """The check's comparisons from its NumPy half's ``data``, each carrying this case's spec, check and dtype."""
        comparisons = HALVES[self.check][1](self.spec, self.dtype, data, **self._kwargs())
        return [dataclasses.replace(c, spec=self.spec.id, check=self.check, dtype=self.dtype) for c in comparisons]

    def run(self):
        """The check's comparisons: its NumPy half, then its Keras half, in this process."""
        return self.keras_half(self.numpy_half())


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


__all__ = ["CHECKS", "HALVES", "CheckCase", "check_backward", "check_forward", "check_gradients_three_way",
           "check_loss", "check_moving_statistics", "check_weight_roundtrip", "yield_checks"]
