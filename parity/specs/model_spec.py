"""The model spec: one declarative spec builds both twins, and the check data drawn for it.

A ``ModelSpec`` lists ``LayerConfig(class_name, kwargs, name)`` entries whose
kwargs are valid for both ``numpy_models`` and ``keras.layers`` (Keras names
and serialisation formats), plus the loss and how to draw test data.

A graph spec (``spec.is_graph``) is the same list in call order, each entry
naming the tensors it is called on (``inputs``: "input" for the model input,
else a node name; None: the previous entry's output). An entry repeating an
earlier name calls that layer again (a shared layer; its kwargs stay empty);
its node is named ``name@k`` for the k-th call, as ``numpy_models`` names it.
The last entry's output is the model output.
"""
from dataclasses import dataclass, field

import numpy as np

from parity import random_streams


@dataclass(frozen=True)
class LayerConfig:
    class_name: str
    kwargs: dict
    name: str
    inputs: tuple = None  # graph specs: the tensors this call consumes (see the module docstring)

    def as_tuple(self):
        return (self.class_name, dict(self.kwargs), self.name)


@dataclass(frozen=True)
class ModelSpec:
    """A small model to build twice.

    Attributes:
        id: snake_case identifier, used in pytest ids and reports.
        layers: the LayerConfigs, with explicit names.
        input_shape: per-sample input shape (no batch axis).
        loss: (Keras loss class name, kwargs).
        batch_size: rows in the check batch.
        inputs: "normal" (N(0,1)), "unit" (U[0,1], like scaled pixels), "binary", "wide" (U[-8, 8]:
            spans the kinks of relu6 and the hard activations) or "integers" (indices in [0, input_dim)
            of the first layer, for Embedding).
        description: one line for reports.
        expected_failed_checks: {check name: reason}, turned into strict xfails.
    """

    id: str
    layers: tuple
    input_shape: tuple
    loss: tuple
    batch_size: int = 8
    inputs: str = "normal"
    description: str = ""
    expected_failed_checks: dict = field(default_factory=dict)

    def layer_tuples(self):
        return [layer.as_tuple() for layer in self.layers]

    @property
    def is_graph(self):
        return any(l.inputs is not None for l in self.layers)

    @property
    def has_training_behaviour(self):
        return any(l.class_name in ("Dropout", "BatchNormalization", "SpatialDropout2D", "GaussianNoise") for l in self.layers)


def dense(units, name, activation=None, **kwargs):
    return LayerConfig("Dense", {"units": units, "activation": activation, **kwargs}, name)


def layer(class_name, name, **kwargs):
    return LayerConfig(class_name, kwargs, name)


def node(class_name, name, inputs, **kwargs):
    """A graph spec entry: ``class_name(**kwargs, name=name)`` called on the tensors named in ``inputs``."""
    return LayerConfig(class_name, kwargs, name, tuple(inputs))


# -- data for checks -------------------------------------------------------------
def make_inputs(spec, dtype, seed):
    """A check batch drawn as ``spec.inputs`` says (stream ``batch_inputs`` of ``seed``)."""
    rng = random_streams.generator("batch_inputs", seed)
    shape = (spec.batch_size,) + tuple(spec.input_shape)
    if spec.inputs == "unit":
        x = rng.uniform(0.0, 1.0, shape)
    elif spec.inputs == "wide":
        x = rng.uniform(-8.0, 8.0, shape)
    elif spec.inputs == "integers":
        x = rng.integers(0, spec.layers[0].kwargs["input_dim"], shape)
    elif spec.inputs == "binary":
        x = rng.integers(0, 2, shape).astype(float)
    else:
        x = rng.standard_normal(shape)
    return x.astype(dtype)


def make_targets(spec, output_shape, dtype, seed):
    """Targets that suit the spec's loss: one-hot, labels, bits or reals."""
    rng = random_streams.generator("batch_targets", seed)
    n, k = spec.batch_size, output_shape[-1]
    name = spec.loss[0]
    if name == "CategoricalCrossentropy":
        return np.eye(k, dtype=dtype)[rng.integers(0, k, n)]
    if name == "SparseCategoricalCrossentropy":
        return rng.integers(0, k, n)
    if name == "BinaryCrossentropy":
        return rng.integers(0, 2, (n, k)).astype(dtype)
    return rng.standard_normal((n, k)).astype(dtype)


def call(name, kwargs):
    """``name(k=v, ...)`` for descriptions; random initializers named after it: 'BatchNormalization(axis=1) with
    random gamma, beta' (their distributions are in the spec's kwargs)."""
    random = [k.removesuffix("_initializer") for k, v in kwargs.items() if _is_random(v)]
    text = f"{name}({', '.join(f'{k}={v!r}' for k, v in kwargs.items() if not _is_random(v))})"
    return text + (f" with random {', '.join(random)}" if random else "")


def _is_random(value):
    return isinstance(value, dict) and str(value.get("class_name", "")).startswith("Random")
