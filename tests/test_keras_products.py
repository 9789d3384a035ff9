"""The Keras products the forward, backward and loss checks share (``model_checks.keras_product``)."""
import dataclasses

import pytest

from parity.checks.model_checks import check_forward, check_loss, clear_keras_products
from parity.specs import SPECS


@pytest.fixture(autouse=True)
def _fresh_products():
    clear_keras_products()
    yield
    clear_keras_products()


def _same_id(spec, **changes):
    return dataclasses.replace(spec, **changes)  # same id and layers: only the field under test differs


def test_a_spec_with_another_batch_size_gets_its_own_products():
    spec = SPECS["net_2_3_1_sigmoid_mse"]
    check_forward(spec, "float64")
    other = _same_id(spec, batch_size=spec.batch_size + 2)
    assert all(c.passed for c in check_forward(other, "float64"))


def test_a_spec_with_another_loss_gets_its_own_products():
    spec = SPECS["net_2_3_1_sigmoid_mse"]
    check_loss(spec, "float64")
    other = _same_id(spec, loss=("MeanAbsoluteError", {}))
    assert all(c.passed for c in check_loss(other, "float64"))
