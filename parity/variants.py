"""Textbook variants: each one's measured difference from Keras, with the reason and the Keras twin.

A variant is a function returning ``VariantResult``; ``VARIANTS`` lists them
and the report renders the table. Tests assert every difference is non-zero
(the variant really differs) and, where a Keras setting reproduces the
textbook exactly, that the setting does.
"""
from dataclasses import asdict, dataclass

import numpy as np

VARIANTS = {}


@dataclass
class VariantResult:
    name: str
    dtype: str
    max_abs: float
    max_rel: float
    reason: str
    keras_setting: str

    def to_dict(self):
        return asdict(self)


def variant(fn):
    VARIANTS[fn.__name__] = fn
    return fn


def relative_difference(a, b):
    """(max abs, max abs / largest reference magnitude) over lists of arrays."""
    diff = max(float(np.abs(x - y).max()) for x, y in zip(a, b, strict=True))
    scale = max(float(np.abs(y).max()) for y in b)
    return diff, diff / scale


def _optimizer_variant(textbook_cls, dtype, steps=20, seed=0, learning_rate=0.01):
    """Run a textbook optimizer and its Keras twin on the same 20 gradients; max parameter difference."""
    from keras_models.optimizers import apply_gradients, build_optimizer
    from parity.checks import build_twins
    from parity.optimizer_checks import gradient_sequence
    from parity.specs import SPECS
    from keras_models.runtime import weight_keys

    np_model, k_model = build_twins(SPECS["net_2_3_1_sigmoid_mse"], dtype, seed)
    tb = textbook_cls(learning_rate=learning_rate)
    name, kwargs = textbook_cls.KERAS_TWIN
    k_opt = build_optimizer(name, {"learning_rate": learning_rate, **kwargs}, dtype)
    keyed = weight_keys(k_model)
    for grads in gradient_sequence(np_model, steps, dtype, seed):
        tb.update(np_model.params, grads)
        apply_gradients(k_opt, [v for _, v in keyed], [grads[k] for k, _ in keyed])
    max_abs, max_rel = relative_difference([np_model.params[k] for k, _ in keyed], [v.numpy() for _, v in keyed])
    setting = f"{name}(learning_rate={learning_rate}" + "".join(f", {k}={v}" for k, v in kwargs.items()) + ")"
    return VariantResult(textbook_cls.__name__, dtype, max_abs, max_rel, textbook_cls.REASON, setting)


def _make_optimizer_variant(class_name):
    def measure(dtype):
        from numpy_models.optimizers import TEXTBOOK
        return _optimizer_variant(TEXTBOOK[class_name], dtype)
    measure.__name__ = class_name
    return variant(measure)


for _name in ("TextbookMomentum", "TextbookNesterov", "TextbookAdaGrad", "TextbookRMSprop", "TextbookAdam"):
    _make_optimizer_variant(_name)


@variant
def TextbookL2(dtype):
    """0.5 * lam * sum(w^2) vs Keras L2(lam / 2): equal but for the float32-rounded coefficient."""
    from numpy_models.regularizers import L2, TextbookL2 as Half

    w = np.random.default_rng(0).standard_normal((50, 20)).astype(dtype)
    lam = 0.01
    a = [np.asarray(Half(lam)(w)), Half(lam).gradient(w)]
    b = [np.asarray(L2(lam / 2)(w)), L2(lam / 2).gradient(w)]
    max_abs, max_rel = relative_difference(a, b)
    return VariantResult("TextbookL2", dtype, max_abs, max_rel,
                         "textbook penalty 0.5*lam*sum(w^2); Keras L2(l) is l*sum(w^2) with l cast through float32",
                         "L2(l2=lam / 2)")


from parity import layer_variants  # noqa: E402,F401  (registers the layer variants)


def measure_all(dtypes=("float32", "float64")):
    return [fn(dtype) for fn in VARIANTS.values() for dtype in dtypes]
