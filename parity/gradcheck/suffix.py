"""Evaluating a layer stack from the layer a parameter belongs to: the unchanged prefix runs once.

Perturbing a weight of layer k leaves the outputs of layers 0..k-1 bit for bit
unchanged, so finite differences of that weight need only layers k.. on the
prefix's output, computed once (a LeNet check spends most of its time in the
first convolution otherwise). Stacks qualify when they expose ``layers`` whose
``call(x, training)`` chained reproduce ``forward`` exactly (this project's
``Sequential``); the checker checks it on the unperturbed parameters before
using a suffix (two evaluations must both give the full forward's value exactly),
and falls back to full evaluations otherwise.

Layers without state or a generator named ``rng`` are built once and reused
(they only overwrite their cache); the others are deep-copied from the template
for every evaluation (together, in one deep copy), as the full objective copies
the whole subject. A reused
layer that changes between evaluations anyway (a generator under another name,
a counter, lazily built state) makes the second evaluation differ: every layer
is then copied for every evaluation.
Parameter arrays are shared with the pristine subject, whose arrays the probes
perturb in place.
"""
import copy

import numpy as np

from parity.gradcheck import subject as subj
from parity.gradcheck.chunks import chunked
from parity.gradcheck.finite_differences import SignedObjective, signatures_differ


def chain_layers(obj):
    """The subject's layers when it is a plain stack (``layers`` with ``call`` and ``params``), else None."""
    layers = getattr(obj, "layers", None)
    if not isinstance(layers, list) or not layers:
        return None
    return layers if all(_one_layer(l) for l in layers) else None


def _signature(layers):
    return [s for layer in layers for s in subj.kink_signature(layer)]


class SuffixObjective(SignedObjective):
    """f = sum(stack[start:](source) * dout), with the signature of the suffix layers only.

    ``source`` (the stack's input, or the prefix's output) is copied for every
    evaluation. The prefix's signatures are the same at every perturbation, so
    leaving them out changes no kink decision (those compare signatures at w+h,
    w-h and w).
    """

    def __init__(self, pristine, start, source, training, dout, rng_state):
        shared = {id(a): a for layer in pristine.layers for a in layer.params.values()}
        template = copy.deepcopy(pristine.layers[start:], shared)
        self.template, self.shared = template, shared
        self._set_fresh([not reusable(l) for l in template])
        self.source, self.training, self.dout, self.rng_state = source, training, dout, rng_state
        self._previous = None

    def evaluate(self, h, dout, signature, restore=True):
        """(output, sum(output * dout), signature or None) of the suffix on ``h`` (consumed).

        ``restore=False`` leaves NumPy's and Python's RNGs as they are (the caller restored them).
        ``elements`` is then the number of activations per sample (the input and every layer's output).
        """
        layers = copy.deepcopy(self.template, dict(self._memo)) if self._memo is not None else list(self.template)
        if restore:
            subj.restore_rng(self.rng_state)
        n, elements = len(h), np.size(h)
        for layer in layers:
            h = layer.call(h, training=self.training)
            elements += np.size(h)
        self._previous, self.elements = layers, elements / max(n, 1)  # freed blocks are reused by the next evaluation
        return h, float(np.sum(np.asarray(h, dtype=np.float64) * dout)), _signature(layers) if signature else None

    def copy_every_layer(self):
        """Deep-copy every layer from the template for each evaluation (a reused one changed between two)."""
        self._set_fresh([True] * len(self.template))

    def _set_fresh(self, fresh):
        """Which layers each evaluation copies. They are copied together, in one deep copy of the template whose
        memo holds the shared parameters and the reused layers: what they reach (the layer graph's nodes link
        every layer to the others) is copied once, the reused layers are the ones that run, and parameters stay
        shared. None when no layer is copied."""
        self._fresh = fresh
        kept = {id(l): l for l, copied in zip(self.template, fresh, strict=True) if not copied}
        self._memo = {**self.shared, **kept} if any(fresh) else None

    def signatures(self):
        """The last evaluation's branch signatures, one list per layer."""
        return [subj.kink_signature(layer) for layer in self._previous]

    def signatures_differ_from(self, base):
        """Does the last evaluation's signature differ from ``base`` (``signatures()`` of another)? Stops at
        the first layer that differs, so later layers' signatures are not computed."""
        return any(signatures_differ(subj.kink_signature(layer), sig)
                   for layer, sig in zip(self._previous, base, strict=True))

    def _run(self, signature):
        return self.evaluate(self.source.copy(), self.dout, signature)[1:]


def layer_inputs(pristine, x, training, rng_state):
    """The input of every layer of the stack for ``x``, and its output (one pass on a deep copy)."""
    layers = copy.deepcopy(pristine.layers)
    subj.restore_rng(rng_state)
    inputs = [x.copy()]
    for layer in layers:
        inputs.append(layer.call(inputs[-1].copy(), training=training))
    return inputs


def objectives_by_layer(pristine, x_eval, training, dout, rng_state, f0, full):
    """{layer name: objective} for the stack's layers, and the objective for dx; ``full`` where not proven.

    A layer alone (``call`` and ``params``, no ``layers``) is a stack of one: {parameter name: objective}.
    A suffix is used only if, unperturbed, it gives exactly ``f0`` (the full forward's value).
    """
    training = subj.forward_kwargs(pristine, training).get("training", False)  # what forward passes its layers
    if chain_layers(pristine) is None and _one_layer(pristine):  # a layer alone: a stack of one
        only = _proven(SuffixObjective(_Stack([pristine]), 0, x_eval, training, dout, rng_state), f0, full)
        return {name: only for name in pristine.params}, only
    layers = chain_layers(pristine)
    if layers is None or len({l.name for l in layers}) != len(layers):
        return {}, full
    try:
        inputs = layer_inputs(pristine, x_eval.copy(), training, rng_state)
    except Exception:  # not a plain chain (a graph with branches): evaluate it whole
        return {}, full
    inputs[0] = x_eval  # the same values: the first layer's suffix serves dx too (one proof, one set of chunks)
    by_layer = {layer.name: _proven(SuffixObjective(pristine, start, inputs[start], training, dout, rng_state), f0, full)
                for start, layer in enumerate(layers) if layer.params}
    if layers[0].params:
        return by_layer, by_layer[layers[0].name]
    return by_layer, _proven(SuffixObjective(pristine, 0, x_eval, training, dout, rng_state), f0, full)


class _Stack:
    """``layers`` and nothing else: what a suffix needs of a stack."""

    def __init__(self, layers):
        self.layers = layers


def _one_layer(obj):
    """This project's layer protocol: ``call(x, training)`` and a ``params`` dict (checked params named by key)."""
    return callable(getattr(obj, "call", None)) and isinstance(getattr(obj, "params", None), dict)


def _proven(suffix, f0, full):
    """``suffix`` (in chunks of samples where they check out) if two evaluations both give the full forward's
    value exactly, with reused layers, else with every layer copied per evaluation; else ``full``."""
    y = _reproduced(suffix, f0)
    if y is None and not all(suffix._fresh):  # a reused layer changed between evaluations (its own generator, ...)
        suffix.copy_every_layer()
        y = _reproduced(suffix, f0)
    return full if y is None else chunked(suffix, f0, y)


def _reproduced(suffix, f0):
    """The suffix's output if two evaluations both give ``f0`` exactly (signature0 set), else None."""
    try:
        y, f, suffix.signature0 = suffix.evaluate(suffix.source.copy(), suffix.dout, True)
        y = np.array(y, copy=True)  # a reused layer may hand back its own buffer
        again = suffix.evaluate(suffix.source.copy(), suffix.dout, False)[1]
    except Exception:  # a graph that is not a plain chain fails to chain: evaluate it whole
        return None
    return y if f == f0 == again else None


def reusable(layer):
    """No state (a missing or empty ``state``), no generator named ``rng``, nor a nested layer with either:
    evaluating it changes nothing, so one object serves every evaluation."""
    state = getattr(layer, "state", None)
    return ((state is None or (isinstance(state, dict) and not state)) and not hasattr(layer, "rng")
            and all(reusable(l) for l in getattr(layer, "layers", ())))
