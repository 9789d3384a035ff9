"""Where a training run's twins first leave tolerance: the step, the phase and the layer, found by replay.

``train_both`` keeps both twins' state before its first step and at
``CHECKPOINTS`` evenly spaced steps (``capture`` and ``record``: a copy of the
NumPy model and optimizer; Keras's variables, seed-generator states included,
and its compiled optimizer's, built up front). When the run's per-step loss
difference first exceeds its ``training`` tolerance at step H, ``locate``
bisects the checkpoints before H for the last whose state holds, restores it
and replays from there to the next checkpoint (or H) through the run's own code
path (``numpy_step`` and Keras's ``train_on_batch``) on the run's own batches
(``batch_indices``: the same ``epoch_order``) with the same dropout masks, so
the replayed losses are the run's, bit for bit. Only runs over tolerance are
replayed, and at most one checkpoint interval of them.

Those snapshots then go to ``parity.verify``'s finder (``divergence.locate``):
bisection over steps (loss at the run's tolerance; weights, moving statistics
and slots at the per-step tolerances of ``verify``), that step replayed phase
by phase (forward, gradient, slot, update) and the layer. For float32 this
names where round-off has grown past the per-step tolerances, not a bug: a
float32 run's verdict stays its test accuracy.
"""
import copy
import math
import time

import numpy as np

from parity import random_streams
from parity.compare import compare
from parity.tolerances import tolerance
from parity.verify import divergence
from parity.verify.training import Run, _keras_state, finish, restore

FIELDS = ("step", "phase", "layer", "tensor", "max_rel")
CHECKPOINTS = 10  # per run: a located run replays at most 1/CHECKPOINTS of its steps


def batch_indices(seed, n, batch_size, step):
    """The example indices of training step ``step`` (1-based): one ``epoch_order`` permutation per epoch."""
    per_epoch = -(-n // batch_size)
    epoch, k = divmod(step - 1, per_epoch)
    return random_streams.epoch_order(seed, epoch, n)[k * batch_size:(k + 1) * batch_size]


def numpy_step(model, loss, optimizer, xb, yb):
    """One NumPy training step, as ``train_both`` takes it; returns the loss (pre-update weights)."""
    p = model.forward(xb, training=True)
    value = float(model.compute_loss(loss, yb, p))
    model.backward_loss(loss, yb, p, need_input_grad=False)
    optimizer.update(model.params, model.grads)
    return value


def _lean_copy(model):
    """A deep copy without the forward caches (activations, im2col buffers): every use of a snapshot starts with
    a forward pass, and copying the caches made each snapshot several times dearer."""
    holders = [obj for obj in [model, *model.layers] if getattr(obj, "_cache", None) is not None]
    caches = [obj._cache for obj in holders]
    for obj in holders:
        obj._cache = None
    try:
        return copy.deepcopy(model)
    finally:
        for obj, cache in zip(holders, caches, strict=True):
            obj._cache = cache


def _twin(np_model, optimizer, loss):
    twin = _lean_copy(np_model)
    twin.optimizer, twin.loss, twin.loss_weights = copy.deepcopy(optimizer), loss, None
    return twin


def _keep(run, step, twin):
    run.snapshots[step] = (twin, _keras_state(run))


def capture(np_model, optimizer, loss, k_model, total_steps):
    """A ``parity.verify.training.Run`` at step 0 of a run about to start; ``snapshots`` is {step: state}."""
    k_model.optimizer.build(k_model.trainable_variables)  # as the first train_on_batch would; now snapshot-able
    run = Run(k_model, None, None, None, k_opt=k_model.optimizer, snapshots={})
    run.every = max(1, math.ceil(total_steps / CHECKPOINTS))
    _keep(run, 0, _twin(np_model, optimizer, loss))
    return run


def record(run, step, np_model, optimizer, loss):
    """After ``step`` of the run: keep both states if ``step`` is a checkpoint."""
    if run is not None and step % run.every == 0:
        _keep(run, step, _twin(np_model, optimizer, loss))


def _replay(run, x, y, seed, batch_size, first, last, dtype):
    """Steps first..last from the state before ``first``, keeping both states after each."""
    from keras_models import train_on_batch  # imports TensorFlow

    tol = tolerance(dtype, "training")
    for step in range(first, last + 1):
        idx = batch_indices(seed, len(x), batch_size, step)
        ours = numpy_step(run.twin, run.twin.loss, run.twin.optimizer, x[idx], y[idx])
        theirs = train_on_batch(run.k_model, x[idx], y[idx])
        run.losses[step - 1:step] = [compare(np.asarray(ours), np.asarray(theirs), f"step {step}: loss", tol,
                                             kind="loss", step=step)]  # replaces the run's own (or appends)
        _keep(run, step, _lean_copy(run.twin))


def _last_good_checkpoint(run, before, probes):
    """The last checkpoint before step ``before`` whose state holds (bisection; step 0 always does), and the next."""
    steps = [0] + sorted(s for s in run.snapshots if 0 < s < before) + [before]
    low, high = 0, len(steps) - 1  # steps[low] holds; steps[high] is H, whose loss does not
    while high - low > 1:
        mid = (low + high) // 2
        if divergence.probe(run, steps[mid], probes):
            low = mid
        else:
            high = mid
    return steps[low], steps[high]


def _upstream(seed, outputs):
    def douts(step, xs):
        rng = random_streams.generator("upstream_gradient", seed + step)
        return [rng.standard_normal((len(xs[0]),) + tuple(outputs)).astype(xs[0].dtype)]
    return douts


def locate(run, x, y, seed, batch_size, losses, dtype):
    """{"step", "phase", "layer", "tensor", "max_rel", "replayed_steps", "bisection", "cpu_seconds"} for a run
    (``run`` from ``capture``) whose step losses ``(numpy, keras)`` first leave the training tolerance."""
    start = time.process_time()
    tol = tolerance(dtype, "training")
    first_over = first_step_over(*losses, dtype)
    run.losses = [compare(np.asarray(a), np.asarray(b), f"step {i + 1}: loss", tol, kind="loss", step=i + 1)
                  for i, (a, b) in enumerate(zip(*losses, strict=True))][:first_over]
    run.batches = lambda step: ([x[batch_indices(seed, len(x), batch_size, step)]],
                                [y[batch_indices(seed, len(x), batch_size, step)]])
    probes = []
    try:
        good, bad = _last_good_checkpoint(run, first_over, probes)
        restore(run, good)
        _replay(run, x, y, seed, batch_size, good + 1, bad, dtype)
        found, probes, _, _ = divergence.locate(run, bad, _upstream(seed, run.twin.output_shape[1:]), good, probes)
    finally:
        finish(run)
    found = found or dict.fromkeys(FIELDS)
    return {**{k: found[k] for k in FIELDS}, "replayed_steps": bad - good, "bisection": [p["step"] for p in probes],
            "cpu_seconds": time.process_time() - start}


def relative_drift(numpy_losses, keras_losses):
    """Relative difference of two step-loss curves at every step."""
    a, b = np.asarray(numpy_losses), np.asarray(keras_losses)
    return np.abs(a - b) / np.maximum(np.abs(b), np.finfo(np.float64).tiny)


def first_step_over(numpy_losses, keras_losses, dtype):
    """The first step (1-based) whose relative loss difference exceeds the ``training`` tolerance, or None."""
    over = np.nonzero(relative_drift(numpy_losses, keras_losses) > tolerance(dtype, "training").rtol)[0]
    return int(over[0]) + 1 if len(over) else None
