"""``--substitute``: each twin layer fed the Keras input of its node, so an early small error hides nothing.

In the chained mode (``parity.verify.layers``) an error made early reaches every
later node; here each node is judged alone: the NumPy layer runs on the Keras
inputs of that node and is differentiated with the Keras upstream gradient at its
output, against the Keras layer's own vector-Jacobian product on the same
inputs (``keras_trace.node_vjp``). When the two modes name different first
divergences, the report shows both.
"""
from parity.verify.flushed import floored_compare
from parity.tolerances import tolerance
from parity.verify.keras_trace import node_vjp
from parity.verify.layers import as_graph, layer_forward_backward, row, twin_nodes


def substitute_rows(twin, ref, training=False, underflow=0.0):
    """Rows of the substitute mode: each twin layer on the Keras inputs and upstream gradients of its node;
    ``underflow`` as ``layers.chained_rows``."""
    twin = as_graph(twin)
    nodes, tol = twin_nodes(twin), tolerance(twin.dtype)
    rows = []
    for name, k in ref.items():
        node = nodes[name]
        mine, dxs = layer_forward_backward(node.layer, k["inputs"], k["d_outputs"], training, node.list_input)
        _, ref_dxs, _ = node_vjp(k["layer"], k["inputs"], k["d_outputs"], training, node.list_input)
        outputs = [floored_compare(a, b, f"{name} output", tol, underflow=underflow)
                   for a, b in zip(mine, k["outputs"], strict=True)]
        d_inputs = [floored_compare(a, b, f"{name} d input", tol, underflow=underflow)
                    for a, b in zip(dxs, ref_dxs, strict=True)]
        rows.append(row(name, node.layer, "substitute", outputs, d_inputs))
    return rows
