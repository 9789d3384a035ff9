"""Differentiate a Keras computation with the running backend's own autodiff.

One function, ``differentiate``, for the three backends: TensorFlow's
``GradientTape``; JAX's ``jax.vjp`` over a stateless call (the variables'
values mapped by ``keras.StatelessScope``, as ``model.stateless_call`` does);
PyTorch's ``torch.autograd.grad`` on the variables' ``.value``. Each returns
the gradient of one scalar with respect to the trainable variables, the
inputs and every intermediate tensor the forward function returns.
"""
import keras
import numpy as np

from keras_models.backend import BACKEND


def differentiate(variables, inputs, forward, objective, state=()):
    """Outputs, the objective and its gradients.

    Args:
        variables: trainable ``keras.Variable`` s.
        inputs: NumPy arrays fed to ``forward``.
        forward: ``forward(input tensors, taps) -> [tensor]``; ``taps`` is None
            or one zero tensor per output that ``forward`` adds to it (JAX
            differentiates with respect to the taps).
        objective: ``objective(outputs) -> scalar tensor`` (backend-neutral ``keras.ops``), or a list of
            them: one forward pass serves them all (JAX re-runs its pure stateless call per objective), and
            each gets the numbers a pass of its own would give.
        state: non-trainable variables the call updates (moving statistics, seed
            generators); JAX's stateless call returns them and they are assigned after.

    Returns:
        {"outputs", "value", "grads" (per variable), "dxs" (per input), "output_grads"}, one per objective
        for a list; a gradient that does not exist (integer input, unused tensor) is None.
    """
    several = isinstance(objective, (list, tuple))
    results = {"tensorflow": _tensorflow, "jax": _jax, "torch": _torch}[BACKEND](
        variables, inputs, forward, list(objective) if several else [objective], state)
    return results if several else results[0]


def _arrays(tensors):
    return [None if t is None else keras.ops.convert_to_numpy(t) for t in tensors]


def _result(outputs, value, grads, dxs, output_grads):
    """One objective's result; ``outputs`` already NumPy (shared by every objective of the pass)."""
    return {"outputs": outputs, "value": float(keras.ops.convert_to_numpy(value)),
            "value_dtype": keras.backend.standardize_dtype(value.dtype), "grads": _arrays(grads),
            "dxs": _arrays(dxs), "output_grads": _arrays(output_grads)}


def _tensorflow(variables, inputs, forward, objectives, state):
    import tensorflow as tf

    xs = [tf.convert_to_tensor(x) for x in inputs]
    with tf.GradientTape(persistent=len(objectives) > 1) as tape:
        tape.watch([x for x in xs if x.dtype.is_floating])
        outputs = forward(xs, None)
        values = [objective(outputs) for objective in objectives]
    # One backward pass per objective for every source: the tape walks the ops that lead to the objective,
    # whatever the sources (they only choose which sums it keeps) or the other objectives recorded beside it,
    # so each gradient has the bits of a pass of its own.
    n, m, arrays = len(variables), len(xs), _arrays(outputs)
    results = []
    for value in values:
        found = tape.gradient(value, [*variables, *xs, *outputs])
        grads = [None if g is None else tf.convert_to_tensor(g) for g in found[:n]]  # IndexedSlices densified
        results.append(_result(arrays, value, grads, found[n:n + m], found[n + m:]))
    return results


def _floating(x):
    return np.asarray(x).dtype.kind == "f"


def _jax(variables, inputs, forward, objectives, state):
    import jax
    import jax.numpy as jnp

    float_idx = [i for i, x in enumerate(inputs) if _floating(x)]
    with keras.StatelessScope(state_mapping=[(v, v.value) for v in variables]):  # shapes only: no state changes
        taps = [jnp.zeros(o.shape, o.dtype) for o in forward([jnp.asarray(x) for x in inputs], None)]

    def scalar(objective):
        def call(values, float_inputs, taps):
            xs = [jnp.asarray(x) for x in inputs]
            for i, x in zip(float_idx, float_inputs, strict=True):
                xs[i] = x
            with keras.StatelessScope(state_mapping=list(zip(variables, values, strict=True)),
                                      collect_losses=True) as scope:
                outputs = forward(xs, taps)
                value = objective(outputs)
                new_state = [scope.get_current_value(v) for v in state]
            return value, (outputs, new_state)
        return call

    values, float_inputs = [v.value for v in variables], [jnp.asarray(inputs[i]) for i in float_idx]
    results = []
    for objective in objectives:  # the stateless call is pure: every objective sees the same state
        value, vjp_fn, (outputs, new_state) = jax.vjp(scalar(objective), values, float_inputs, taps, has_aux=True)
        grads, dfloat, output_grads = vjp_fn(jnp.ones_like(value))
        dxs = [None] * len(inputs)
        for i, d in zip(float_idx, dfloat, strict=True):
            dxs[i] = d
        results.append(_result(_arrays(outputs), value, grads, dxs, output_grads))
    for variable, new in zip(state, new_state, strict=True):
        if new is not None:
            variable.assign(new)
    return results


def _torch(variables, inputs, forward, objectives, state):
    import torch

    xs = [keras.ops.convert_to_tensor(np.asarray(x)) for x in inputs]  # on the device Keras computes on
    for x in xs:
        x.requires_grad_(x.is_floating_point())
    outputs = forward(xs, None)
    values = [objective(outputs) for objective in objectives]
    wanted = [v.value for v in variables] + xs + list(outputs)
    live = [t for t in wanted if t.requires_grad]
    n, m = len(variables), len(xs)
    detach = lambda ts: [None if t is None else t.detach() for t in ts]  # noqa: E731
    arrays, results = _arrays(detach(outputs)), []
    for k, value in enumerate(values):  # the graph is kept until the last objective's pass
        found = iter(torch.autograd.grad(value, live, allow_unused=True, retain_graph=k < len(values) - 1))
        grads = [next(found) if t.requires_grad else None for t in wanted]
        results.append(_result(arrays, value.detach(), detach(grads[:n]), detach(grads[n:n + m]),
                               detach(grads[n + m:])))
    return results
