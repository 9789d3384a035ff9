"""A standalone reproduction of a failing optimizer step (phase "slot" or "update"): ``repro.py`` and ``repro.npz``.

The twin's optimizer is fed exactly what Keras's was at that step: Keras's
weights and slots before the step and Keras's gradients of the step; Keras's
weights and slots after it are stored. The optimizer's own counters
(``iterations``; Nadam's ``u_product``) come from the twin's state before the
step, its class and config from the twin. ``python repro.py`` rebuilds the
optimizer (the twin's own class when it can be imported, else the
``numpy_models`` class of the same Keras name, saying so), applies the one
step and compares every slot and weight with Keras's at ``tolerance(dtype)``:
on identical inputs the same optimizer agrees to round-off (see the
``adaptive_own_gradients`` entry of ``parity.tolerances``). It exits 1 while
the mismatch persists, 0 once fixed, and needs only NumPy and ``numpy_models``.
"""
import inspect

import numpy as np

from numpy_models.optimizers import KERAS_OPTIMIZERS
from parity.tolerances import tolerance
from parity.verify import training

SCRIPT = '''"""Reproduces: {title}. Run: python repro.py (exit 1 while the mismatch persists)."""
import importlib
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, {root!r})  # the project holding numpy_models
sys.path.insert(0, str(Path(__file__).parent))
import numpy_models.optimizers as optimizers  # noqa: E402



def imported(path):
    module, _, qualname = path.partition(":")
    found = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    return found


data = np.load(Path(__file__).with_name("repro.npz"))
meta = json.loads(str(data["meta"]))
try:
    cls = imported(meta["optimizer_class"])
except (ImportError, AttributeError) as exc:
    cls = optimizers.KERAS_OPTIMIZERS[meta["keras_class"]]
    print(f"note: {{meta['optimizer_class']}} could not be imported ({{exc}}); using numpy_models {{cls.__name__}}")
rate = meta["config"].get("learning_rate")
if isinstance(rate, dict):  # a learning-rate schedule, read at the optimizer's iterations (restored below)
    meta["config"]["learning_rate"] = imported(rate["schedule_class"])(**rate["config"])
optimizer = cls(**meta["config"])
optimizer.exclude_from_weight_decay(meta["exclude_from_weight_decay"])
params = {{k: data[f"weight_{{i}}"].copy() for i, k in enumerate(meta["keys"])}}
grads = {{k: data[f"grad_{{i}}"] for i, k in enumerate(meta["keys"])}}
optimizer.build(params)
for slot in meta["slots"]:
    for i, k in enumerate(meta["keys"]):
        optimizer.slots[slot][k] = data[f"slot_{{slot}}_{{i}}"].copy()
for name in meta["state"]:
    setattr(optimizer, name, data[f"state_{{name}}"][()])
optimizer.update(params, grads)  # the step {step}, on Keras's weights, slots and gradients
failed = False
pairs = [(f"{{k}} [{{s}}]", optimizer.slots[s][k], data[f"keras_slot_{{s}}_{{i}}"]) for s in meta["slots"]
         for i, k in enumerate(meta["keys"])]
pairs += [(k, params[k], data[f"keras_weight_{{i}}"]) for i, k in enumerate(meta["keys"])]
for what, a, b in pairs:
    scale = max(np.abs(a).max(initial=0.0), np.abs(b).max(initial=0.0))
    rel = float(np.abs(a.astype(np.float64) - b).max(initial=0.0) / scale) if scale else 0.0
    bad = rel > meta["rtol"]
    failed |= bad
    if bad or what == meta["tensor"]:
        print(f"step {{meta['step']}} {{what}}: max_rel={{rel:.3e}} rtol={{meta['rtol']:.1e}} "
              f"{{'MISMATCH' if bad else 'ok'}}")
if not failed:
    print("note: fed Keras's own weights, slots and gradients, this step agrees with Keras. If parity verify still "
          "fails at this step, the difference comes from what each side fed its optimizer (its own gradients or "
          "state), not from the optimizer: see verify.md")
sys.exit(1 if failed else 0)
'''


def _keras_state(run):
    from keras_models.functional import keyed_variables  # imports TensorFlow
    from keras_models.optimizers import slots  # imports TensorFlow
    from keras_models.runtime import read_values  # imports TensorFlow

    keyed = keyed_variables(run.k_model, trainable_only=True)
    return dict(zip([k for k, _ in keyed], read_values(v for _, v in keyed), strict=True)), slots(run.k_opt, keyed)


def _constructor_arguments(cls):
    return {name for c in cls.__mro__ if "__init__" in vars(c) for name in inspect.signature(c.__init__).parameters}


def _optimizer_meta(optimizer):
    """Class path, Keras class name, constructor config, and the scalar counters of the twin's optimizer."""
    cls = type(optimizer)
    keras_class = next(c.__name__ for c in cls.__mro__ if c.__name__ in KERAS_OPTIMIZERS)
    accepted = _constructor_arguments(cls)
    config = {k: v for k, v in optimizer.get_config().items() if k in accepted}
    rate = config.get("learning_rate")
    if callable(rate):  # a schedule: its class and config, rebuilt by the script
        config["learning_rate"] = {"schedule_class": f"{type(rate).__module__}:{type(rate).__qualname__}",
                                   "config": rate.get_config()}
    counters = {k: np.asarray(v) for k, v in vars(optimizer).items()
                if k not in accepted and not k.startswith("_") and isinstance(v, (int, float, np.number, np.ndarray))
                and np.ndim(v) == 0}
    return {"optimizer_class": f"{cls.__module__}:{cls.__qualname__}", "keras_class": keras_class, "config": config,
            "exclude_from_weight_decay": list(optimizer.exclude_from_weight_decay_names)}, counters


def payload(run, step, tensor):
    """(meta, arrays) reproducing ``step`` of ``run`` for the optimizer alone; both sides end after ``step``."""
    training.restore(run, step - 1)
    meta, counters = _optimizer_meta(run.twin.optimizer)  # before the step moves its counters
    weights, slots_before = _keras_state(run)
    _, ref = training._forward_backward(run, step)
    training._apply(run, ref)
    weights_after, slots_after = _keras_state(run)
    keys = list(weights)
    meta.update({"kind": "optimizer", "step": step, "tensor": tensor, "keys": keys, "slots": list(slots_before),
                 "state": list(counters), "rtol": float(tolerance(run.twin.dtype).rtol)})
    arrays = {f"state_{k}": v for k, v in counters.items()}
    for i, k in enumerate(keys):
        arrays.update({f"weight_{i}": weights[k], f"grad_{i}": np.asarray(ref["grads"][k]),
                       f"keras_weight_{i}": weights_after[k]})
        arrays.update({f"slot_{s}_{i}": slots_before[s][k] for s in slots_before})
        arrays.update({f"keras_slot_{s}_{i}": slots_after[s][k] for s in slots_after})
    return meta, arrays


def title(meta):
    return f"step {meta['step']} of {meta['keras_class']} differs from Keras at {meta['tensor']}"
