"""The whole model's outputs, input gradients and weight gradients against Keras's, with verify's floor.

As ``parity.checks.graph_checks.check_gradients`` (``L = sum(output * dout)``,
bias-like gradients at their condition scale), under the flush-to-zero floor of
``parity.verify.floors`` (``parity.verify.flushed``), the rows named by the
model's input and output layers.
"""
from parity.checks.graph_checks import condition_scales
from parity.tolerances import tolerance
from parity.verify.data import tensor_names
from parity.verify.flushed import floored_compare


def check_gradients(k_model, floors, xs, douts):
    """[Comparison]: outputs, input gradients, every weight gradient; ``floors`` ran the twin's graph on ``xs``
    and ``douts``."""
    from keras_models.functional import graph_forward_backward  # imports TensorFlow

    ref = graph_forward_backward(k_model, list(xs), list(douts))
    tol, scales = tolerance(floors.graph.dtype), condition_scales(floors.graph)
    flush = floors.underflow
    out = [floored_compare(y, r, f"output {name}", tol, underflow=flush, kind="output", tensor=name)
           for name, y, r in zip(tensor_names(k_model.outputs), floors.outputs, ref["outputs"], strict=True)]
    out += [floored_compare(d, r, f"d input {name}", tol, underflow=flush, kind="input_grad", tensor=name)
            for name, d, r in zip(tensor_names(k_model.inputs), floors.dxs, ref["dxs"], strict=True)]
    return out + [floored_compare(floors.grads[k], g, f"d {k}", tol, floor=scales.get(k, 0.0), underflow=flush,
                                  kind="param", tensor=k) for k, g in ref["grads"].items()]
