"""Shared by the hypothesis tests of the issue-13 layers: one random configuration, both twins, every tensor."""
from hypothesis import HealthCheck, settings

from parity import assert_all_passed
from parity.checks import check_backward, check_forward
from parity.specs import LayerConfig, ModelSpec

SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DTYPES = ("float32", "float64")


def assert_layers_agree(layers, input_shape, dtype, seed=0, training=False, inputs="normal", batch_size=3):
    """Forward outputs, parameter and input gradients of NumPy vs Keras at the table tolerance for ``dtype``.

    ``layers`` is a list of (class_name, kwargs, name); checks run through ``parity.checks`` exactly as the
    registered specs do (random upstream gradient, condition-scaled bias-like gradients).
    """
    spec = ModelSpec("hypothesis", tuple(LayerConfig(*cfg) for cfg in layers), tuple(input_shape),
                     ("MeanSquaredError", {}), batch_size=batch_size, inputs=inputs)
    context = f"{layers} on {input_shape} ({dtype}, training={training}, seed={seed})"
    assert_all_passed(check_forward(spec, dtype, seed, training=training), context=context)
    assert_all_passed(check_backward(spec, dtype, seed, training=training), context=context)
