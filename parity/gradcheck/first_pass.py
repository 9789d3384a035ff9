"""gradcheck's first pass over a user's layer: a float64 copy run forward and backward once.

It yields what the probes rely on: the pristine copy (whose arrays they perturb),
the output and upstream gradient, the analytic gradients and the parameters found,
and what went wrong on the way (errors fail the result, hazards are listed).
Parameters are found after backward (a textbook layer sets dW there), so a layer
holding an integer parameter is copied and run again with it in float64, as
float16/float32 arrays are from the start: a perturbation of an integer array
would be truncated to nothing.
"""
import copy
from dataclasses import dataclass, field

import numpy as np

from parity import random_streams
from parity.gradcheck import inputs
from parity.gradcheck import subject as subj


@dataclass
class FirstPass:
    pristine: object  # the float64 copy the probes perturb and copy again for every evaluation
    run: object  # the copy that ran forward and backward (its gradients are the analytic ones)
    y: np.ndarray
    dout: np.ndarray
    dx: object
    refs: list  # subject.ParamRef of every parameter found
    notes: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    hazards: list = field(default_factory=list)

    @property
    def checkable(self):
        """False when the output is not finite: every finite difference through it is NaN."""
        return self.y.dtype.kind not in "fc" or bool(np.isfinite(self.y).all())


def first_pass(layer, x, opts, rng_state):
    """Forward and backward once on a float64 copy of ``layer`` (again with integer parameters converted)."""
    found = _run(layer, x, opts, rng_state)
    ints = subj.integer_arrays({r.name: r.value(found.run) for r in found.refs})
    if ints:
        originals = [_value_on(r, layer) for r in found.refs if r.name in ints]
        found = _run(layer, x, opts, rng_state, [a for a in originals if a is not None], list(ints))
    inputs.finite_parameters({r.label(found.pristine): r.value(found.pristine) for r in found.refs}, "gradcheck")
    return found


def _value_on(ref, obj):
    try:
        return ref.value(obj)
    except (AttributeError, KeyError):  # created by the first forward: converted with the copy's own arrays
        return None


def _run(layer, x, opts, rng_state, also=(), integers=(), scalars=()):
    """One pass; run again with number attributes found to be parameters (``self.w = 2.0``) held as 0-d arrays."""
    pristine, converted = subj.float64_copy(layer, also)
    held = subj.as_arrays(pristine, scalars)
    run = copy.deepcopy(pristine)
    ids = subj.array_ids(run)
    subj.restore_rng(rng_state)  # a second pass draws the same dropout masks as the first
    x_given = x.copy()
    y = np.array(_one_output(subj.call_forward(run, x_given, opts["training"]), run), copy=True)  # y may view x
    dout = random_streams.generator("gradcheck_upstream", opts["seed"]).standard_normal(y.shape)
    dout_sent, x_saved = dout.copy(), x_given.copy()
    dx = subj.call_backward(run, dout_sent, opts["training"])
    found = [n for n in subj.scalar_attributes(run, opts["params"]) if n not in scalars]
    if found:  # (once: an attribute as_arrays could not convert is then left to find_params)
        return _run(layer, x, opts, rng_state, also, integers, tuple(scalars) + tuple(found))
    refs = subj.find_params(run, opts["params"], ids)  # after backward: textbook layers set dW there
    hazards = []
    if not np.array_equal(dout_sent, dout):
        hazards.append("backward() wrote into its input gradient dout (callers may reuse it): return a new array")
    if not np.array_equal(x_given, x_saved):
        hazards.append("backward() modified the saved input x in place")
    if opts["params"] is None and refs and all(r.kind == "attr" for r in refs):
        name = type(run).__name__
        hazards += [f"{a}: not checked: {name}.{a} is an array forward() left in place, but there is no "
                    f"{name}.d{a}: a parameter whose gradient backward() never sets, or a constant (params=[...] "
                    "names the parameters to check)" for a in subj.unpaired_arrays(run, refs, ids)]
    notes = [n for n in (subj.conversion_note(converted, integers), _held_note(held)) if n]
    return FirstPass(pristine, run, y, dout, dx, refs, notes, _forward_problems(x, x_given, y), hazards)


def _one_output(y, layer):
    """``y`` unless forward returned several outputs (an LSTM cell's (h, c)): stacked into one array, they would be
    checked against a backward that takes one gradient per output, with a misleading shape error."""
    if isinstance(y, (tuple, list)):
        shapes = ", ".join(str(np.shape(a)) for a in y)
        raise TypeError(f"gradcheck: forward(x) of {type(layer).__name__} returned a {type(y).__name__} of {len(y)} "
                        f"outputs (shapes {shapes}). Expected one array: gradcheck checks backward(dout) for a single "
                        "output. Check one output at a time: wrap the layer so that forward returns that output "
                        "(e.g. h) and backward passes its gradient on (e.g. backward(dh, dc=0)).")
    return y


def _held_note(held):
    return (f"scalar parameter(s) {', '.join(held)} held as 0-d float64 array(s) in the checked copy (finite "
            "differences perturb arrays in place); checked like any other parameter") if held else ""


def _forward_problems(x, x_given, y):
    problems = []
    if not np.array_equal(x, x_given):
        problems.append("forward() modified its input x in place")
    if y.dtype != np.float64:
        problems.append(f"the layer computes in {y.dtype} although its inputs and parameters were float64 "
                        "(a silent downcast): finite differences would only measure its round-off (elements listed "
                        "as kinks below are that round-off, not kinks)")
    bad = inputs.nonfinite(y, "y") if y.dtype.kind in "fc" else ""
    if bad:
        problems.append(f"forward(x) returned NaN or Inf: {bad}; no gradient can be checked through it (fix the "
                        "forward pass, or choose x inside its domain)")
    return problems
