"""The whole model's outputs, input gradients and weight gradients against Keras's, with verify's floors.

As ``parity.checks.graph_checks.check_gradients`` (``L = sum(output * dout)``,
bias-like gradients at their condition scale), each comparison's scale also at
least its ``parity.verify.floors`` floor (measured round-off, flush-to-zero),
and the rows named by the model's input and output layers.
"""
from parity.checks.graph_checks import condition_scales
from parity.compare import compare
from parity.tolerances import tolerance


def tensor_names(tensors):
    """The layer names of a Keras model's input or output tensors."""
    return [t._keras_history[0].name for t in tensors]


def check_gradients(k_model, floors, xs, douts, graph):
    """[Comparison]: outputs, input gradients, every weight gradient; ``floors`` ran ``graph`` (the twin)."""
    from keras_models.functional import graph_forward_backward  # imports TensorFlow

    ref = graph_forward_backward(k_model, list(xs), list(douts))
    tol, scales = tolerance(graph.dtype), condition_scales(graph)
    out = [compare(y, r, f"output {name}", tol, floor=floors.model("output", i), kind="output", tensor=name)
           for i, (name, y, r) in enumerate(zip(tensor_names(k_model.outputs), floors.outputs, ref["outputs"],
                                                strict=True))]
    out += [compare(d, r, f"d input {name}", tol, floor=floors.model("d input", i), kind="input_grad", tensor=name)
            for i, (name, d, r) in enumerate(zip(tensor_names(k_model.inputs), floors.dxs, ref["dxs"], strict=True))]
    return out + [compare(floors.grads[k], g, f"d {k}", tol, floor=max(scales.get(k, 0.0), floors.weight(k)),
                          kind="param", tensor=k) for k, g in ref["grads"].items()]
