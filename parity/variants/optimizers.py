"""Textbook optimizers and the textbook L2 penalty: each one's measured difference from its Keras twin."""
import numpy as np

from numpy_models.optimizers import TEXTBOOK
from numpy_models.regularizers import L2, TextbookL2 as HalfL2
from parity.checks.optimizer_checks import gradient_sequence
from parity.specs import SPECS
from parity.twins import build_twins
from parity.variants.result import VariantResult

TEXTBOOK_OPTIMIZERS = ("TextbookMomentum", "TextbookNesterov", "TextbookAdaGrad", "TextbookRMSprop", "TextbookAdam")


def _optimizer_variant(textbook_cls, dtype, steps=20, seed=0, learning_rate=0.01):
    """Run a textbook optimizer and its Keras twin on the same 20 gradients; max parameter difference."""
    from keras_models.optimizers import build_optimizer, stepper  # imports TensorFlow
    from keras_models.runtime import weight_keys

    np_model, k_model = build_twins(SPECS["net_2_3_1_sigmoid_mse"], dtype, seed)
    tb = textbook_cls(learning_rate=learning_rate)
    name, kwargs = textbook_cls.KERAS_TWIN
    k_opt = build_optimizer(name, {"learning_rate": learning_rate, **kwargs}, dtype)
    keras_step = stepper(k_opt, k_model)
    for grads in gradient_sequence(np_model, steps, dtype, seed):
        tb.update(np_model.params, grads)
        keras_step(grads)
    keyed = weight_keys(k_model)
    setting = f"{name}(learning_rate={learning_rate}" + "".join(f", {k}={v}" for k, v in kwargs.items()) + ")"
    return VariantResult.measured(textbook_cls.__name__, dtype, [np_model.params[k] for k, _ in keyed],
                                  [v.numpy() for _, v in keyed], textbook_cls.REASON, setting)


def _measure_optimizer(class_name):
    def measure(dtype):
        return _optimizer_variant(TEXTBOOK[class_name], dtype)
    measure.__name__ = class_name
    return measure


def TextbookL2(dtype):
    """0.5 * lam * sum(w^2) vs Keras L2(lam / 2): equal but for the float32-rounded coefficient."""
    w = np.random.default_rng(0).standard_normal((50, 20)).astype(dtype)
    lam = 0.01
    a = [np.asarray(HalfL2(lam)(w)), HalfL2(lam).gradient(w)]
    b = [np.asarray(L2(lam / 2)(w)), L2(lam / 2).gradient(w)]
    return VariantResult.measured("TextbookL2", dtype, a, b,
                                  "textbook penalty 0.5*lam*sum(w^2); Keras L2(l) is l*sum(w^2) with l cast "
                                  "through float32",
                                  "L2(l2=lam / 2)")


VARIANTS = [_measure_optimizer(name) for name in TEXTBOOK_OPTIMIZERS] + [TextbookL2]
