"""A standalone reproduction of a failing layer: ``DIR/repro.py`` and ``DIR/repro.npz``.

The ``.npz`` holds the failing node's layer config, its weights (as the twin has
them), the Keras inputs of that node, the Keras upstream gradient at its output
and Keras's own outputs and input gradients for them (``keras_trace.node_vjp``).
``python repro.py`` rebuilds the NumPy layer from the config, runs forward and
backward on those arrays and compares with the stored Keras results at the
stored tolerance: it prints the mismatch and exits 1 while it persists, 0 once
fixed. A random layer in training (Dropout, SpatialDropout2D, GaussianNoise)
replays the mask (noise) Keras drew in that call, stored as ``random_draw``
(``parity.verify.masks.keras_draw``; noise as N(0, 1), scaled by the layer's own
stddev; on PyTorch an unseeded Dropout's mask comes from torch's global generator,
as Keras draws it there): drawn anew it could never match, and a wrong rate or
stddev still shows. It needs only NumPy and ``numpy_models`` (found next to this project).
A first divergence in an optimizer slot or update writes the optimizer's
reproduction instead (``parity.verify.optimizer_repro``).
"""
import json
from pathlib import Path

import numpy as np

import numpy_models
from parity.verify import masks, optimizer_repro
from parity.verify.keras_trace import node_vjp

SCRIPT = '''"""Reproduces: {title}. Run: python repro.py (exit 1 while the mismatch persists)."""
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, {root!r})  # the project holding numpy_models
from numpy_models.registry import layer_from_config  # noqa: E402

data = np.load(Path(__file__).with_name("repro.npz"))
meta = json.loads(str(data["meta"]))
n_in, n_out = meta["n_inputs"], meta["n_outputs"]
inputs = [data[f"input_{{i}}"] for i in range(n_in)]
layer = layer_from_config(meta["class_name"], meta["config"], meta["name"])
shapes = [(None,) + x.shape[1:] for x in inputs]
layer.build(shapes if meta["list_input"] else shapes[0], rng=np.random.default_rng(0))
for key in meta["weights"]:
    getattr(layer, "params" if key in layer.params else "state")[key][...] = data[f"weight_{{key}}"]
if meta.get("random_draw"):  # the mask (noise) Keras drew in that call, replayed: a new draw could never match
    def keras_draw(shape, dtype):
        drawn = data["random_draw"]  # a keep mask, or N(0, 1) noise the layer's own stddev scales
        if tuple(shape) != drawn.shape:
            sys.exit(f"{{meta['node']}} ({{meta['class_name']}}) draws a {{meta['random_draw']}} of shape "
                     f"{{tuple(shape)}}; Keras drew one of shape {{drawn.shape}}: MISMATCH")
        return drawn * np.asarray(layer.stddev, drawn.dtype) if meta["random_draw"] == "unit_noise" else drawn
    layer.mask_fn = keras_draw
out = layer.call(inputs if meta["list_input"] else inputs[0], training=meta["training"])
outs = list(out) if isinstance(out, (list, tuple)) else [out]
dout = [data[f"d_output_{{i}}"] for i in range(n_out)]
dx = layer.backward_call(dout if n_out > 1 else dout[0])
dxs = list(dx) if meta["list_input"] else [dx]
failed = False
pairs = [("output", i, a, data[f"keras_output_{{i}}"]) for i, a in enumerate(outs)]
pairs += [("d input", i, a, data[f"keras_d_input_{{i}}"]) for i, a in enumerate(dxs)]
for what, i, a, b in pairs:
    scale = max(np.abs(a).max(initial=0.0), np.abs(b).max(initial=0.0))
    rel = float(np.abs(a.astype(np.float64) - b).max(initial=0.0) / scale) if scale else 0.0
    bad = rel > meta["rtol"]
    failed |= bad
    print(f"{{meta['node']}} ({{meta['class_name']}}) {{what}} {{i}}: max_rel={{rel:.3e}} rtol={{meta['rtol']:.1e}} "
          f"{{'MISMATCH' if bad else 'ok'}}")
sys.exit(1 if failed else 0)
'''


def payload(node_name, layer, k_layer, inputs, d_outputs, training, list_input, rtol):
    """The arrays and metadata of a repro, Keras's results computed now (``node_vjp``); a random layer in
    training also stores the mask (noise) Keras draws in that call, which ``repro.py`` replays."""
    # keras_draw before node_vjp, which advances the Keras layer's stream. PyTorch: node_vjp draws an unseeded
    # Dropout's mask from torch's global generator, as keras_draw finds it; the generator is put back after.
    with masks.global_streams_kept():
        drawn = masks.keras_draw(k_layer, inputs[0]) if training and hasattr(layer, "mask_fn") else None
        outs, d_ins, _ = node_vjp(k_layer, inputs, d_outputs, training, list_input)
    weights = {**layer.params, **layer.state}
    config = {k: v for k, v in layer.get_config().items() if k != "name"}
    meta = {"node": node_name, "name": layer.name, "class_name": type(layer).__name__, "config": config,
            "weights": list(weights), "training": bool(training), "list_input": bool(list_input),
            "n_inputs": len(inputs), "n_outputs": len(d_outputs), "rtol": float(rtol), "random_draw": drawn and drawn[0]}
    arrays = {f"input_{i}": x for i, x in enumerate(inputs)}
    arrays.update({f"d_output_{i}": d for i, d in enumerate(d_outputs)})
    arrays.update({f"keras_output_{i}": o for i, o in enumerate(outs)})
    arrays.update({f"keras_d_input_{i}": d for i, d in enumerate(d_ins)})
    arrays.update({f"weight_{k}": np.asarray(v) for k, v in weights.items()})
    if drawn is not None:
        arrays["random_draw"] = drawn[1]
    return meta, arrays


def write(directory, meta, arrays):
    """Write ``repro.py`` and ``repro.npz`` into ``directory``."""
    directory = Path(directory)
    with open(directory / "repro.npz", "wb") as f:
        np.savez(f, meta=np.array(json.dumps(meta)), **arrays)
    root = str(Path(numpy_models.__file__).resolve().parent.parent)
    if meta.get("kind") == "optimizer":  # a slot or update phase: parity.verify.optimizer_repro
        text = optimizer_repro.SCRIPT.format(title=optimizer_repro.title(meta), root=root, step=meta["step"])
    else:
        text = SCRIPT.format(title=f"{meta['class_name']} '{meta['node']}' differs from Keras", root=root)
    (directory / "repro.py").write_text(text)
