"""``parity report``'s work cut into parts that run as tasks on the worker processes, and put back together.

A part is one dtype's share of one section (the parity checks of a group of
specs, the optimizer table, each experiment): small enough that two workers
finish together, and each part's result is exactly what the whole section
would have computed for it (every check, optimizer row and experiment builds
its own twins from its own seed, so neither the part nor the process changes
a number). Parts are planned longest first (``COST``, CPU seconds measured on
the default digits run; the float64 checks, whose few heavy specs are not known
in advance, go early) so that no worker is left with a long part at the end.
Every part returns its payload and where and how long it ran.
"""
import os
import sys
import time

from tqdm.auto import tqdm

from parity.report.environment import manifest
from parity.report.optimizer_report import optimizer_rows, variant_rows
from parity.report.parity_report import run_parity
from parity.report.plots import training_figures
from parity.sweep.tasks import _dataset  # loaded once per worker, as a sweep's tasks load it
from parity.training import EXPERIMENTS, Context

SPECS_PER_PART = 5  # a few specs (LeNet, the BatchNorm MLPs, the ResNets) take most of the float64 checks' time
COST = {"checks": {"float32": 2, "float64": 15}, "optimizers": {"lenet_digits_8": 16, "net_2_3_1_sigmoid_mse": 10},
        "experiments": {"logic_gates": 21, "deep_mlps": 14, "resnet": 13, "two_layer_net": 8, "cnn": 8,
                        "init_study": 6, "lr_reduce_on_plateau": 3}}
DEFAULT_COST = 2


def _timed(section, dtype, part, fn, *args):
    """(fn(*args), {"part", "section", "dtype", "pid", "tf32_execution", "gpus", "seconds", "cpu_seconds",
    "environment"}): ``seconds``/``cpu_seconds`` are the part's own wall and CPU time in its worker."""
    wall, cpu = time.perf_counter(), time.process_time()
    payload = fn(*args)
    seconds, cpu_seconds = time.perf_counter() - wall, time.process_time() - cpu
    env = manifest(0)  # this process's own versions and flags: the CLI records them without importing TensorFlow
    return payload, {"part": part, "section": section, "dtype": dtype, "pid": os.getpid(),
                     "tf32_execution": env["flags"]["tf32_execution"],
                     "gpus": env["flags"]["gpus"], "seconds": seconds, "cpu_seconds": cpu_seconds,
                     "environment": env}


def checks_part(specs, dtype, progress=False):
    """Rows of ``specs``' checks in ``dtype``, grouped per spec: [(spec id, [row])]."""
    def run():
        return [(spec.id, run_parity([spec], (dtype,))) for spec in tqdm(
            specs, desc=f"parity checks ({dtype})", disable=not progress, file=sys.stderr)]
    return _timed("checks", dtype, f"checks {dtype} {specs[0].id}..{specs[-1].id}", run)


def optimizer_part(specs, dtype, progress=False):
    return _timed("optimizers", dtype, f"optimizer table {dtype} {specs[0].id}", optimizer_rows, specs, (dtype,),
                  progress)


def variants_part(dtypes):
    return _timed("variants", None, "variants", variant_rows, dtypes)


def experiment_part(experiment_id, dtype, data_args, seed, epochs, full, progress=False):
    """``EXPERIMENTS[experiment_id]`` in ``dtype``; ``data_args``: (dataset, data path, seed, full), as the CLI
    loads the data."""
    ctx = Context(_dataset(*data_args), dtype, seed, epochs, full, progress)
    fn = EXPERIMENTS[experiment_id]

    def run():  # the figures are drawn here, on the workers, not one by one by the CLI after every part
        result = fn(ctx)
        result.run_figures = training_figures(result.runs)
        return dtype, result
    return _timed("experiments", dtype, f"experiments {dtype} {experiment_id}", run)


def plan(sections, dtypes, specs, optimizer_specs, experiment_ids, experiment_args, progress=False):
    """[(section, cost, fn, args)] of every part of a report, in section order (``run_order`` sorts them)."""
    parts = []
    if "checks" in sections:
        parts += [("checks", COST["checks"][d], checks_part, (specs[i:i + SPECS_PER_PART], d, progress))
                  for d in dtypes for i in range(0, len(specs), SPECS_PER_PART)]
    if "optimizers" in sections:
        parts += [("optimizers", COST["optimizers"].get(s.id, DEFAULT_COST), optimizer_part, ([s], d, progress))
                  for s in optimizer_specs for d in dtypes]
    if "variants" in sections:
        parts.append(("variants", DEFAULT_COST, variants_part, (dtypes,)))
    if "experiments" in sections:
        parts += [("experiments", COST["experiments"].get(e, DEFAULT_COST), experiment_part,
                   (e, d, *experiment_args, progress)) for d in dtypes for e in experiment_ids]
    return parts


def worth_workers(parts):
    """Whether ``parts`` are worth worker processes: the tables and each dtype's experiments are each enough work
    to pay for a worker's start (a TensorFlow import); a report of only one of them runs in the calling process."""
    return len({"tables" if section != "experiments" else args[1] for section, _, _, args in parts}) > 1


def run_order(parts):
    """Indices of ``parts``, longest first (stable: equal costs keep section order)."""
    return sorted(range(len(parts)), key=lambda i: -parts[i][1])


def assemble(parts, outputs, dtypes):
    """The sections' results in the order one process computing them section by section gives.

    ``outputs[i]`` is ``parts[i]``'s (payload, info). Returns (parity rows, optimizer rows, variant rows,
    [(dtype, ExperimentResult)], [info per part]).
    """
    payloads = {"checks": [], "optimizers": [], "variants": [], "experiments": []}
    for (section, *_), (payload, _) in zip(parts, outputs, strict=True):
        payloads[section].append(payload)
    per_spec = [group for payload in payloads["checks"] for group in payload]  # dtype by dtype, specs in order
    n_specs = len(per_spec) // len(dtypes) if per_spec else 0
    rows = [row for i in range(n_specs) for d in range(len(dtypes)) for row in per_spec[d * n_specs + i][1]]
    per_model = [payloads["optimizers"][i:i + len(dtypes)] for i in range(0, len(payloads["optimizers"]), len(dtypes))]
    opt = [row for model in per_model for same_case in zip(*model, strict=True) for row in same_case]
    var = payloads["variants"][0] if payloads["variants"] else []
    return rows, opt, var, payloads["experiments"], [info for _, info in outputs]
