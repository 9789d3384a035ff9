"""Textbook variants: each one's measured difference from Keras, with the reason and the Keras twin.

    optimizers  textbook optimizers and the textbook L2 penalty
    layers      NCHW data through the bridge, symmetric padding, non-inverted dropout, per-activation BatchNorm
    prelu       PReLU's alpha shared across channels (He et al.'s channel-shared) vs one per channel
    result      VariantResult

A variant is a function ``(dtype) -> VariantResult``; ``VARIANTS`` lists them
(in report order) and the report renders the table. Tests assert every
difference is non-zero where the variant really differs and, where a Keras
setting reproduces the textbook exactly, that the setting does.
"""
from parity.variants import layers, optimizers, prelu
from parity.variants.result import VariantResult

VARIANTS = {fn.__name__: fn for fn in optimizers.VARIANTS + layers.VARIANTS + prelu.VARIANTS}


def measure_all(dtypes=("float32", "float64")):
    return [fn(dtype) for fn in VARIANTS.values() for dtype in dtypes]


__all__ = ["VARIANTS", "VariantResult", "measure_all"]
