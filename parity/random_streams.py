"""Every random stream derived from a run's seed, laid out in one table.

Each stream is ``np.random.default_rng(seed_for(stream, seed, step))``: an
offset keeps the streams apart, so drawing more from one never shifts
another. Same seed, same numbers.

| stream                 | seed                | feeds                                                         |
|------------------------|---------------------|---------------------------------------------------------------|
| weights                | seed                | the NumPy twin's initialisation (copied into Keras)           |
| roundtrip_weights      | seed + 1            | the fresh model ``check_weight_roundtrip`` copies Keras into  |
| batch_inputs           | batch seed          | ``specs.make_inputs``: a check batch                          |
| batch_targets          | batch seed + 1      | ``specs.make_targets``: the targets of that batch             |
| upstream_gradient      | seed + 2            | ``dout`` of ``check_backward`` and the three-way check        |
| finite_difference      | seed + 3            | coordinates and directions the three-way check probes         |
| optimizer_gradients    | seed + 10           | the gradient sequence fed to both optimizers                  |
| training_step_batch    | seed + 100 * step   | batch seed of step ``step`` of ``check_training_steps``       |
| moving_statistics_batch| seed + 1000 + step  | batch seed of call ``step`` of ``check_moving_statistics``    |
| epoch_order            | [seed, epoch]       | the batch order of an epoch in a training run (both twins)    |
| gradcheck_upstream     | seed + 2 * 2**32    | the upstream gradient of ``gradcheck``, ``check_against_keras``|
| gradcheck_probes       | seed + 1            | ``gradcheck``'s sampled coordinates and directions            |
| dropout_streams        | seed + 20 + k       | k-th unseeded Dropout-like layer of a model ``verify`` loaded |

``gradcheck_upstream`` sits in the seed's high 32-bit word: it is never the
generator of an everyday seed (0 .. 2**32 - 1), which users draw their x from;
with offset 0, ``x = default_rng(0).standard_normal(shape)`` made dout == x
(for BatchNorm, an upstream gradient whose exact dx is 0). The high word is 2:
any value works; the whole-LeNet gradcheck does data-dependent work (kinks
hit), measured over high words 1, 2, 3, 5 as 401k, 381k, 377k, 402k samples
through its layers vs 380k at offset 0, and 2 keeps the benchmark comparable.

The batch seed of a single check is the run's seed itself. Layer seeds
(``Dropout(seed=...)``) are part of a spec, not of this table.
"""
import numpy as np

OFFSETS = {
    "weights": 0,
    "roundtrip_weights": 1,
    "batch_inputs": 0,
    "batch_targets": 1,
    "upstream_gradient": 2,
    "finite_difference": 3,
    "optimizer_gradients": 10,
    "gradcheck_upstream": 2 << 32,  # see the module docstring: never an everyday seed
    "gradcheck_probes": 1,
    "dropout_streams": 20,
}
STEP_STREAMS = {  # stream: (offset, multiplier of step)
    "training_step_batch": (0, 100),
    "moving_statistics_batch": (1000, 1),
}


def seed_for(stream, seed, step=None):
    """The integer seed of ``stream`` for a run seeded ``seed`` (``step`` for per-step streams)."""
    if stream in STEP_STREAMS:
        if step is None:
            raise ValueError(f"Random stream '{stream}' is drawn per step. Received: step=None")
        offset, per_step = STEP_STREAMS[stream]
        return seed + offset + per_step * step
    if stream not in OFFSETS:
        raise KeyError(f"Unknown random stream. Expected one of {sorted(OFFSETS) + sorted(STEP_STREAMS)}. "
                       f"Received: stream={stream!r}")
    return seed + OFFSETS[stream]


def generator(stream, seed, step=None):
    """``np.random.default_rng`` of ``stream`` (see the module table)."""
    return np.random.default_rng(seed_for(stream, seed, step))


def epoch_order(seed, epoch, n):
    """The permutation of ``n`` training examples both twins see in ``epoch``."""
    return np.random.default_rng([seed, epoch]).permutation(n)
