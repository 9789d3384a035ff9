"""The first-divergence finder: the first layer, the first training step and the first phase out of tolerance.

Layers: errors flow forward through outputs and backward through input
gradients, so the first divergence is the first node in topological order whose
*output* leaves tolerance, or, when every output holds, the first node in
reverse topological order (the order backward runs) whose *input gradient* does.
Steps: both runs are recorded with a snapshot after every step
(``parity.verify.training``); the first step whose state (loss, weights, slots)
leaves tolerance is found by bisection over the snapshots, each probe recorded,
and that one step is replayed phase by phase (forward, gradient, slot, update).
``locate`` does all of it for a run (``parity.verify`` on one batch,
``parity.training.drift`` on a training run's own batches) and names the layer:
for a forward or gradient phase by tracing that step node by node, for a slot or
update phase by the failing tensor; it also returns the reproduction's payload.
"""
from parity.tolerances import tolerance
from parity.verify import layers, optimizer_repro, repro
from parity.verify.keras_trace import trace
from parity.verify.training import FLOORED_NOTE, PHASES, failed_steps, replay_step, restore, state_comparisons


def first_layer(rows):
    """(row, "output" | "input gradient") of the first diverging node, or (None, None)."""
    for row in rows:
        if not row["output_passed"]:
            return row, "output"
    for row in reversed(rows):
        if not row["d_input_passed"]:
            return row, "input gradient"
    return None, None


def probe(run, step, probes):
    """Do the loss of ``step`` and the state after it hold? Recorded in ``probes``."""
    found = state_comparisons(run, step)
    worst = max(found, key=lambda c: (not c.passed, _nearness(c)))  # nearest its limit
    passed = all(c.passed for c in found)
    probes.append({"step": step, "passed": passed, "worst": worst.name, "max_rel": worst.max_rel, "rtol": worst.rtol})
    return passed


def _nearness(c):
    """max_rel / rtol; 0 for a state that holds on the shadow's floor, whose ratio is just below 1 by construction
    (``training.FLOORED_NOTE``): the shadow's own comparison beside it says how near its limit it is."""
    if c.passed and c.note == FLOORED_NOTE:
        return 0.0
    return c.max_rel / c.rtol if c.rtol else c.max_rel


def first_step(run, steps, low=0, probes=None):
    """(first step over tolerance or None, [probe records]) by bisection over ``run``'s snapshots.

    The last step is probed first: a state that holds after ``steps`` steps is
    taken to have held throughout (a difference, once made, persists in the
    weights or slots); the loss of every step is checked as well, and so are
    the shadowed tensors' gradients (``training.failed_steps``). ``low``: a
    step known to hold (snapshots before it may be missing).
    """
    probes = [] if probes is None else probes
    last_ok = probe(run, steps, probes)
    bad_losses = failed_steps(run)
    if last_ok and not bad_losses:
        return None, probes
    # the state after `low` holds (step 0: weights copied bit for bit); the probe of `high` fails
    high = min([steps] + bad_losses[:1])
    while high - low > 1:
        mid = (low + high) // 2
        if probe(run, mid, probes):
            low = mid
        else:
            high = mid
    return high, probes


def first_phase(run, step):
    """(phase, first failing Comparison, {phase: [Comparison]}) of ``step`` replayed phase by phase."""
    phases = replay_step(run, step)
    for phase in PHASES:
        failing = [c for c in phases[phase] if not c.passed]
        if failing:
            return phase, failing[0], phases
    return None, None, phases


def layer_divergence(twin, ref, rows, mode, training_flag):
    """({node, layer, quantity, max_rel, mode}, repro payload) of the first diverging node, or (None, None)."""
    row, quantity = first_layer(rows)
    if row is None:
        return None, None
    rel = row["output_rel"] if quantity == "output" else row["d_input_rel"]
    node = layers.twin_nodes(layers.as_graph(twin))[row["node"]]
    k = ref[row["node"]]
    payload = repro.payload(row["node"], node.layer, k["layer"], k["inputs"], k["d_outputs"], training_flag,
                            node.list_input, tolerance(twin.dtype).rtol)
    return {"node": row["node"], "layer": row["layer"], "layer_name": node.layer.name, "quantity": quantity,
            "max_rel": rel, "mode": mode, "note": row.get("note", "")}, payload


def locate(run, steps, douts_of, low=0, probes=None):
    """(found or None, bisection probes, {phase: [Comparison]}, repro payload or None) over ``steps`` of ``run``.

    ``found``: {"step", "phase", "tensor", "max_rel", "layer"}. ``douts_of(step, xs)`` gives the upstream
    gradients at the outputs for the node-by-node trace of a forward or gradient divergence; ``low`` and
    ``probes`` as ``first_step``.
    """
    step, probes = first_step(run, steps, low, probes)
    if step is None:
        return None, probes, {}, None
    phase, worst, phases = first_phase(run, step)
    found = {"step": step, "phase": phase, "tensor": worst.tensor if worst else None,
             "max_rel": worst.max_rel if worst else 0.0, "layer": None}
    payload = None
    if phase in ("forward", "gradient"):
        restore(run, step - 1)
        xs, _ = run.batch(step)
        douts = douts_of(step, xs)
        ref = trace(run.k_model, xs, douts, training=True)
        rows = layers.chained_rows(run.twin, ref, xs, douts, training=True)
        layer, payload = layer_divergence(run.twin, ref, rows, f"training step {step}", True)
        found["layer"] = layer["node"] if layer else None
        own = [c for c in phases[phase] if not c.passed and layer and c.tensor.startswith(layer["layer_name"] + "/")]
        if own:  # that layer's own failing weight gradient, rather than the first in weight order
            found.update(tensor=own[0].tensor, max_rel=own[0].max_rel)
    elif worst is not None:
        found["layer"] = worst.tensor.rsplit("/", 1)[0]
        payload = optimizer_repro.payload(run, step, worst.tensor)
    return found, probes, phases, payload
