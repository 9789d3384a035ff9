"""The whole model's outputs, input gradients and weight gradients against Keras's, with verify's floors.

As ``parity.checks.graph_checks.check_gradients`` (``L = sum(output * dout)``,
bias-like gradients at their condition scale), each comparison's scale also at
least its ``parity.verify.floors`` floor (measured round-off, flush-to-zero),
and the rows named by the model's input and output layers.
"""
from parity.checks.graph_checks import condition_scales
from parity.verify.flushed import floored_compare
from parity.tolerances import tolerance


def tensor_names(tensors):
    """The layer names of a Keras model's input or output tensors."""
    return [t._keras_history[0].name for t in tensors]


def check_gradients(k_model, floors, xs, douts, graph):
    """[Comparison]: outputs, input gradients, every weight gradient; ``floors`` ran ``graph`` (the twin)."""
    from keras_models.functional import graph_forward_backward  # imports TensorFlow

    ref = graph_forward_backward(k_model, list(xs), list(douts))
    tol, scales = tolerance(graph.dtype), condition_scales(graph)
    flush = floors.underflow
    out = [floored_compare(y, r, f"output {name}", tol, underflow=flush, kind="output", tensor=name)
           for name, y, r in zip(tensor_names(k_model.outputs), floors.outputs, ref["outputs"], strict=True)]
    out += [floored_compare(d, r, f"d input {name}", tol, underflow=flush, kind="input_grad", tensor=name)
            for name, d, r in zip(tensor_names(k_model.inputs), floors.dxs, ref["dxs"], strict=True)]
    return out + [floored_compare(floors.grads[k], g, f"d {k}", tol, floor=scales.get(k, 0.0), underflow=flush,
                                  kind="param", tensor=k) for k, g in ref["grads"].items()]
