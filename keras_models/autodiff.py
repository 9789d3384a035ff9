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
        objective: ``objective(outputs) -> scalar tensor`` (backend-neutral ``keras.ops``).
        state: non-trainable variables the call updates (moving statistics, seed
            generators); JAX's stateless call returns them and they are assigned after.

    Returns:
        {"outputs", "value", "grads" (per variable), "dxs" (per input), "output_grads"}; a gradient that
        does not exist (integer input, unused tensor) is None.
    """
    return {"tensorflow": _tensorflow, "jax": _jax, "torch": _torch}[BACKEND](variables, inputs, forward, objective, state)


def _result(outputs, value, grads, dxs, output_grads):
    arrays = lambda ts: [None if t is None else keras.ops.convert_to_numpy(t) for t in ts]  # noqa: E731
    return {"outputs": arrays(outputs), "value": float(keras.ops.convert_to_numpy(value)),
            "value_dtype": keras.backend.standardize_dtype(value.dtype), "grads": arrays(grads),
            "dxs": arrays(dxs), "output_grads": arrays(output_grads)}


def _tensorflow(variables, inputs, forward, objective, state):
    import tensorflow as tf

    xs = [tf.convert_to_tensor(x) for x in inputs]
    with tf.GradientTape() as tape:
        tape.watch([x for x in xs if x.dtype.is_floating])
        outputs = forward(xs, None)
        value = objective(outputs)
    # One backward pass for every source: the tape walks the same ops whatever the sources (they only choose
    # which sums it keeps), so each gradient has the bits of its own pass; three passes cost three backwards.
    n, m = len(variables), len(xs)
    found = tape.gradient(value, [*variables, *xs, *outputs])
    grads, dxs, output_grads = found[:n], found[n:n + m], found[n + m:]
    grads = [None if g is None else tf.convert_to_tensor(g) for g in grads]  # IndexedSlices (Embedding) densified
    return _result(outputs, value, grads, dxs, output_grads)


def _floating(x):
    return np.asarray(x).dtype.kind == "f"


def _jax(variables, inputs, forward, objective, state):
    import jax
    import jax.numpy as jnp

    float_idx = [i for i, x in enumerate(inputs) if _floating(x)]
    with keras.StatelessScope(state_mapping=[(v, v.value) for v in variables]):  # shapes only: no state changes
        taps = [jnp.zeros(o.shape, o.dtype) for o in forward([jnp.asarray(x) for x in inputs], None)]

    def scalar(values, float_inputs, taps):
        xs = [jnp.asarray(x) for x in inputs]
        for i, x in zip(float_idx, float_inputs, strict=True):
            xs[i] = x
        with keras.StatelessScope(state_mapping=list(zip(variables, values, strict=True)),
                                  collect_losses=True) as scope:
            outputs = forward(xs, taps)
            value = objective(outputs)
            new_state = [scope.get_current_value(v) for v in state]
        return value, (outputs, new_state)

    values, float_inputs = [v.value for v in variables], [jnp.asarray(inputs[i]) for i in float_idx]
    value, vjp_fn, (outputs, new_state) = jax.vjp(scalar, values, float_inputs, taps, has_aux=True)
    for variable, new in zip(state, new_state, strict=True):
        if new is not None:
            variable.assign(new)
    grads, dfloat, output_grads = vjp_fn(jnp.ones_like(value))
    dxs = [None] * len(inputs)
    for i, d in zip(float_idx, dfloat, strict=True):
        dxs[i] = d
    return _result(outputs, value, grads, dxs, output_grads)


def _torch(variables, inputs, forward, objective, state):
    import torch

    xs = [keras.ops.convert_to_tensor(np.asarray(x)) for x in inputs]  # on the device Keras computes on
    for x in xs:
        x.requires_grad_(x.is_floating_point())
    outputs = forward(xs, None)
    value = objective(outputs)
    wanted = [v.value for v in variables] + xs + list(outputs)
    live = [t for t in wanted if t.requires_grad]
    found = iter(torch.autograd.grad(value, live, allow_unused=True))
    grads = [next(found) if t.requires_grad else None for t in wanted]
    n = len(variables)
    detach = lambda ts: [None if t is None else t.detach() for t in ts]  # noqa: E731
    return _result(detach(outputs), value.detach(), detach(grads[:n]), detach(grads[n:n + len(xs)]),
                   detach(grads[n + len(xs):]))
