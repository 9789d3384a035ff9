"""The ``parity`` command.

    parity report   parity checks (reports/parity.md|json) and the training experiments (reports/<run>/)
    parity list     the experiments and the registered specs
    parity sweep    experiments over many seeds on a Dask cluster (reports/sweep/)
    parity verify   check a saved Keras model against its NumPy twin (parity.verify.cli)
"""
import argparse
import os
import sys
from pathlib import Path

from parity.checks.backends import BACKENDS, run_backends
from parity.report.backend_report import backend_json, backend_rows, render_backend_matrix
from parity.report.environment import manifest
from parity.report.experiment_report import write_run
from parity.report.optimizer_report import optimizer_rows, render_optimizer_table, render_variant_table, variant_rows
from parity.report.parity_report import run_parity, write_parity_report
from parity.specs import SPECS, get_spec
from parity.sweep import cli as sweep_cli
from parity.sweep.cluster import available_cores, connect
from parity.sweep.runner import map_calls
from parity.training import EXPERIMENTS, Context, datasets
from parity.verify import cli as verify_cli

DTYPES = ("float32", "float64")
SECTIONS = ("checks", "optimizers", "variants", "experiments")
# Models the optimizer table runs on: a Dense net and a CNN.
OPTIMIZER_MODELS = ("net_2_3_1_sigmoid_mse", "lenet_digits_8")


def _parser():
    parser = argparse.ArgumentParser(prog="parity", description="NumPy vs Keras parity checks and reports.")
    sub = parser.add_subparsers(dest="command")
    report = sub.add_parser("report", help="run the checks and experiments and write reports (default command)")
    report.add_argument("--out", default="reports", help="output directory (default: reports)")
    report.add_argument("--seed", type=int, default=0, help="seed for weights, data split and batches (default: 0)")
    report.add_argument("--dtype", choices=DTYPES, action="append", help="dtype(s) (default: both)")
    report.add_argument("--spec", action="append", help="parity checks: only these spec ids (default: all)")
    report.add_argument("--section", action="append", choices=SECTIONS, help="only these sections (default: all)")
    report.add_argument("--experiment", action="append", help="only these experiments (default: all)")
    report.add_argument("--dataset", default="digits", help="digits (embedded, default), mnist or fashion_mnist")
    report.add_argument("--data-path", help="MNIST/Fashion-MNIST: a Keras-layout .npz or a folder of IDX files")
    report.add_argument("--epochs", type=int, help="override every experiment's epoch count")
    report.add_argument("--full", action="store_true",
                        help=f"use the whole MNIST-like dataset (default: first {datasets.QUICK_MNIST[0]} / {datasets.QUICK_MNIST[1]} images)")
    report.add_argument("--progress", action="store_true", help="show progress bars")
    report.add_argument("--workers", type=int, help="processes for the independent parts (default: one per core)")
    report.add_argument("--backend", choices=BACKENDS + ("all",), default="tensorflow",
                        help="Keras backend(s) the checks also run on, each in its own process, in a backend matrix "
                             "beside TensorFlow (default: tensorflow, no matrix)")
    sub.add_parser("list", help="list the experiments and the registered specs")
    sweep_cli.add_parser(sub)
    verify_cli.add_parser(sub)
    return parser


def cmd_list(args):
    print("Experiments:")
    for fn in EXPERIMENTS.values():
        print(f"  {fn.id:<32} {fn.title}")
    print("Specs:")
    for spec in SPECS.values():
        print(f"  {spec.id:<32} {spec.description}")
    return 0


def _plan(args):
    """Validate every argument and load the data before anything runs or is written."""
    unknown = [e for e in args.experiment or [] if e not in EXPERIMENTS]
    if unknown:
        raise ValueError(f"Unknown experiment(s) {unknown}. Expected some of {sorted(EXPERIMENTS)}")
    if args.epochs is not None and args.epochs <= 0:
        raise ValueError(f"--epochs must be positive. Received: {args.epochs}")
    if getattr(args, "workers", None) is not None and args.workers <= 0:
        raise ValueError(f"--workers must be positive. Received: {args.workers}")
    sections = set(args.section or SECTIONS)
    data = datasets.load_for_run(args.dataset, args.data_path, args.seed, args.full) \
        if "experiments" in sections else None
    specs = [get_spec(s) for s in args.spec] if args.spec else list(SPECS.values())
    experiments = [EXPERIMENTS[e] for e in args.experiment] if args.experiment else list(EXPERIMENTS.values())
    return sections, tuple(args.dtype or DTYPES), specs, experiments, data


def _quiet_tensorflow():
    """Reports print their own summary; TF's retracing notices (partial last batches) are noise there."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow's first import in this process
    import tensorflow as tf  # after the environment variable above
    tf.get_logger().setLevel("ERROR")
    return tf


def _experiment_job(args, dtype):
    _, _, _, experiments, data = _plan(args)
    ctx = Context(data, dtype, args.seed, args.epochs, args.full, args.progress)
    return [(dtype, fn(ctx)) for fn in experiments]


def _backend_matrix(args, sections, dtypes, specs):
    """(markdown section, json, failing lines) of the backend matrix; empty for the default TensorFlow-only run."""
    if args.backend == "tensorflow" or not {"checks", "optimizers"} & sections:
        return "", {}, []
    backends = BACKENDS if args.backend == "all" else ("tensorflow", args.backend)
    results = run_backends(backends, [s.id for s in specs] if "checks" in sections else [], dtypes,
                           optimizer_spec_ids=OPTIMIZER_MODELS if "optimizers" in sections else ())
    failing = [f"{r['backend']} {r['spec']} {r['check']}" for r in backend_rows(results)
               if not r["passed"] and not r["explanation"] and not r.get("expected_failure")]
    return render_backend_matrix(results), {"backends": backend_json(results)}, failing


def _parity_tables(args, sections, dtypes, specs, matrix=("", {}, [])):
    rows = run_parity(specs, dtypes) if "checks" in sections else []
    opt_rows = optimizer_rows([get_spec(s) for s in OPTIMIZER_MODELS], dtypes) if "optimizers" in sections else []
    var_rows = variant_rows(dtypes) if "variants" in sections else []
    if not (rows or opt_rows or var_rows):
        return []
    write_parity_report(args.out, rows, manifest(args.seed, {"dtypes": list(dtypes)}),
                        extra_sections=[render_optimizer_table(opt_rows) if opt_rows else "",
                                        render_variant_table(var_rows) if var_rows else "", matrix[0]],
                        extra_json={"optimizers": opt_rows, "variants": var_rows, **matrix[1]})
    failing = [f"{r['spec']} {r['check']}: {(r['error'] or '').splitlines()[0]}" for r in rows
               if not r["passed"] and not r.get("expected_failure")]
    failing += [f"optimizer {r['model']} {r['setting']} ({r['dtype']})" for r in opt_rows if not r["passed"]]
    failing += matrix[2]
    total = len(rows) + len(opt_rows)
    print(f"parity: {total - len(failing)} of {total} checks passed; wrote {args.out}/parity.md and {args.out}/parity.json")
    return failing


def _write_experiments(args, dtypes, experiments, data, results, parity_note):
    run_name = args.dataset + ("-full" if args.full else "") + (f"-seed{args.seed}" if args.seed else "")
    info = manifest(args.seed, {"dtypes": list(dtypes), "epochs_override": args.epochs, "full": args.full,
                                "workers": f"{args.workers or 1} Dask worker processes, 1 thread each "
                                           "(seconds per epoch measured under that load)"})
    info.update({"dataset": data.name, "dataset_checksum": data.checksum, "train_size": len(data.x_train),
                 "test_size": len(data.x_test), "experiments": [fn.id for fn in experiments],
                 "batch_order": "np.random.default_rng([seed, epoch]).permutation(n_train), shared by both twins"})
    rows = write_run(Path(args.out) / run_name, results, info, parity_note)
    failing = [f"experiment {r['experiment']} {r['run']} ({r['dtype']})" for r in rows if not r["passed"]]
    print(f"experiments: {len(rows) - len(failing)} of {len(rows)} rows passed; wrote {args.out}/{run_name}/index.html")
    for r in rows:
        if r.get("numpy_test_acc") is None and "test_mse_rel_diff" in r:
            print(f"  {r['dtype']} {r['run']:<28} test MSE rel diff {r['test_mse_rel_diff']:.1e}"
                  f"  max rel loss diff {r['max_rel_loss_diff']:.1e}")
        elif r.get("numpy_test_acc") is not None:
            print(f"  {r['dtype']} {r['run']:<28} test acc NumPy {r['numpy_test_acc']:.4f} Keras {r['keras_test_acc']:.4f}"
                  f"  max rel loss diff {r['max_rel_loss_diff']:.1e}")
    return failing


def cmd_report(args):
    """Validate, then run the parity tables and each dtype's experiments as tasks on a local Dask cluster."""
    sections, dtypes, specs, experiments, data = _plan(args)
    tables = bool({"checks", "optimizers", "variants"} & sections)
    matrix = _backend_matrix(args, sections, dtypes, specs)
    jobs = ([(_parity_tables, (args, sections, dtypes, specs, matrix))] if tables else []) + \
        ([(_experiment_job, (args, d)) for d in dtypes] if "experiments" in sections else [])
    if len(jobs) > 1:  # independent parts: one single-threaded worker process each, up to --workers
        args.workers = min(len(jobs), args.workers or available_cores())
        with connect(workers=args.workers) as client:
            outputs = map_calls(client, jobs)
    else:
        _quiet_tensorflow()
        outputs = [fn(*a) for fn, a in jobs]
    failing = outputs.pop(0) if tables else []
    results = [r for out in outputs for r in out]
    if "experiments" in sections:
        note = f"Parity checks: {'all passed' if not failing else f'{len(failing)} failing'} (see ../parity.md)." \
            if tables else "Parity checks were not run in this report."
        failing += _write_experiments(args, dtypes, experiments, data, results, note)
    for line in failing:
        print(f"  FAIL {line}")
    return 1 if failing else 0


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("report", "list", "sweep", "verify", "-h", "--help"):
        argv = ["report"] + argv
    args = _parser().parse_args(argv)
    try:
        commands = {"report": cmd_report, "list": cmd_list, "sweep": sweep_cli.cmd_sweep, "verify": verify_cli.cmd_verify}
        return commands[args.command](args)
    except (KeyError, ValueError, FileNotFoundError, datasets.DataError) as exc:
        print(f"parity: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
