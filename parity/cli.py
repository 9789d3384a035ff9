"""The ``parity`` command.

    parity report   parity checks (reports/parity.md|json) and the training experiments (reports/<run>/)
    parity list     the experiments and the registered specs
    parity sweep    experiments over many seeds on a Dask cluster (reports/sweep/)
    parity verify   check a saved Keras model against its NumPy twin (parity.verify.cli)
"""
import argparse
import os
import re
import sys
import time
from pathlib import Path

from parity.checks.backends import BACKENDS, rerun_with_variants, run_backends
from parity.report import quiet, run_output
from parity.report.backend_html import backend_page
from parity.report.backend_report import backend_json, backend_rows, render_backend_matrix
from parity.report.experiment_backends import DIGITS_EXPERIMENTS, experiment_json, render_experiment_tables, run_experiments
from parity.report.experiment_report import write_run
from parity.report.parity_report import counts, summary_line, write_parity_report
from parity.specs import SPECS, get_spec
from parity.sweep import cli as sweep_cli
from parity.sweep.cluster import available_cores, connect
from parity.sweep import report_parts
from parity.sweep.runner import map_calls
from parity.sweep.tasks import DTYPES, refuse_unknown
from parity.training import EXPERIMENTS, datasets
from parity.verify import cli as verify_cli

SECTIONS = ("checks", "optimizers", "variants", "experiments")
# Models the optimizer table runs on: a Dense net and a CNN.
OPTIMIZER_MODELS = ("net_2_3_1_sigmoid_mse", "lenet_digits_8")


# argparse's own messages, rewritten to name the flag, what was expected and what was received.
_ARGPARSE_MESSAGES = [
    (r"argument (\S+): invalid int value: '(.*)'", r"\1 expects an integer. Received: \1=\2"),
    (r"argument (\S+): invalid choice: '(.*)' \(choose from (.*)\)", r"\1 expects one of \3. Received: \1=\2"),
    (r"argument (\S+): expected one argument", r"\1 expects a value. Received: \1 with no value"),
]


class _Parser(argparse.ArgumentParser):
    """Every argument error as one line (no usage block), exit code 2; ``--help`` shows the usage."""

    def error(self, message):
        for pattern, replacement in _ARGPARSE_MESSAGES:
            message = re.sub(pattern, replacement, message)
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser():
    parser = _Parser(prog="parity", description="NumPy vs Keras parity checks and reports.")
    sub = parser.add_subparsers(dest="command")
    report = sub.add_parser("report", help="run the checks and experiments and write reports (default command)")
    report.add_argument("--out", default="reports", help="output directory (default: reports)")
    report.add_argument("--seed", type=int, default=0, help="seed for weights, data split and batches (default: 0)")
    report.add_argument("--dtype", choices=DTYPES, action="append", help="dtype(s) (default: both)")
    report.add_argument("--spec", action="append",
                        help="only these spec ids in the checks section (default: all); alone, runs only the checks")
    report.add_argument("--section", action="append", choices=SECTIONS, help="only these sections (default: all)")
    report.add_argument("--experiment", action="append",
                        help="only these experiments (default: all); alone, runs only the experiments section")
    report.add_argument("--dataset", default="digits", help="digits (embedded, default), mnist or fashion_mnist")
    report.add_argument("--data-path", help="MNIST/Fashion-MNIST: a Keras-layout .npz or a folder of IDX files")
    report.add_argument("--epochs", type=int, help="override every experiment's epoch count")
    report.add_argument("--full", action="store_true",
                        help=f"use the whole MNIST-like dataset (default: first {datasets.QUICK_MNIST[0]} / {datasets.QUICK_MNIST[1]} images)")
    report.add_argument("--progress", action="store_true", help="show progress bars")
    report.add_argument("--verbose", action="store_true", help="show TensorFlow's and Dask's own log lines")
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


def _implied_sections(args):
    """--experiment / --spec name what to run: only their sections, unless --section says otherwise."""
    return ({"experiments"} if args.experiment else set()) | ({"checks"} if args.spec else set())


def _refuse_filters_left_out(args, sections):
    """An option for a section that does not run would be ignored: refuse it instead (--spec for the checks;
    --experiment and the data and epoch options for the experiments)."""
    given = [("--spec", ",".join(args.spec or []), "checks"),
             ("--experiment", ",".join(args.experiment or []), "experiments"),
             ("--dataset", args.dataset if args.dataset != "digits" else None, "experiments"),
             ("--data-path", args.data_path, "experiments"), ("--full", args.full or None, "experiments"),
             ("--epochs", args.epochs, "experiments")]
    for flag, value, section in given:
        if value and section not in sections:
            raise ValueError(f"{flag} applies to --section {section}, which this run leaves out. Received: "
                             f"{flag}={value} --section={','.join(sorted(sections))}")
    on_backends = {"checks", "optimizers"} & sections or "experiments" in sections and \
        any(e in DIGITS_EXPERIMENTS for e in args.experiment or EXPERIMENTS)
    if args.backend != "tensorflow" and not on_backends:
        raise ValueError(f"--backend runs the checks, the optimizer table and the training experiments "
                         f"({', '.join(DIGITS_EXPERIMENTS)}) on other backends; this run has none of them. "
                         f"Received: --backend={args.backend} --section={','.join(sorted(sections))}"
                         + (f" --experiment={','.join(args.experiment)}" if args.experiment else ""))


def _plan(args):
    """Validate every argument and load the data before anything runs or is written."""
    refuse_unknown("--experiment", args.experiment, EXPERIMENTS)
    refuse_unknown("--spec", args.spec, SPECS)
    datasets.check_name(args.dataset)
    if args.seed < 0:
        raise ValueError(f"--seed must be a non-negative integer. Received: --seed={args.seed}")
    if args.dataset == "digits" and (args.data_path or args.full):
        raise ValueError("--data-path and --full apply to --dataset mnist or fashion_mnist; digits is embedded and "
                         f"always used whole. Received: --dataset=digits {'--data-path' if args.data_path else '--full'}")
    if args.epochs is not None and args.epochs <= 0:
        raise ValueError(f"--epochs must be positive. Received: --epochs={args.epochs}")
    if getattr(args, "workers", None) is not None and args.workers <= 0:
        raise ValueError(f"--workers must be positive. Received: --workers={args.workers}")
    sections = set(args.section or _implied_sections(args) or SECTIONS)
    _refuse_filters_left_out(args, sections)
    data = datasets.load_for_run(args.dataset, args.data_path, args.seed, args.full) \
        if "experiments" in sections else None
    specs = [get_spec(s) for s in args.spec] if args.spec else list(SPECS.values())
    experiments = [EXPERIMENTS[e] for e in args.experiment] if args.experiment else list(EXPERIMENTS.values())
    return sections, tuple(args.dtype or DTYPES), specs, experiments, data


def _backend_matrix(args, sections, dtypes, specs):
    """(markdown section, json, failing lines, html page) of the backend matrix and the experiments across
    backends; empty for the default TensorFlow-only run."""
    backends = BACKENDS if args.backend == "all" else ("tensorflow", args.backend)
    md, js, failing, page = "", {}, [], ""
    if args.backend != "tensorflow" and {"checks", "optimizers"} & sections:
        results = run_backends(backends, [s.id for s in specs] if "checks" in sections else [], dtypes,
                               optimizer_spec_ids=OPTIMIZER_MODELS if "optimizers" in sections else ())
        results["_variants"] = rerun_with_variants(results)  # failing rows re-run with the variant that explains them
        failing = [f"{r['backend']} {r['spec']} {r['check']}" for r in backend_rows(results)
                   if not r["passed"] and not r["explanation"] and not r.get("expected_failure")]
        md, js, page = render_backend_matrix(results), {"backends": backend_json(results)}, backend_page(results)
    if args.backend == "tensorflow" or "experiments" not in sections:
        return md, js, failing, page
    _, _, _, experiments, data = _plan(args)
    chosen = [fn.id for fn in experiments if fn.id in DIGITS_EXPERIMENTS]
    if chosen:
        rows = run_experiments(backends, chosen, data, dtypes, args.seed, args.epochs)
        explained = {(r["backend"], r["experiment"], r["run"]) for r in rows if r["variant"] and r["passed"]}
        failing += [f"{r['backend']} {r['experiment']} {r['run']} ({r['dtype']})" for r in rows
                    if not r["passed"] and not r["variant"] and (r["backend"], r["experiment"], r["run"]) not in explained]
        md = "\n\n".join(p for p in (md, render_experiment_tables(rows)) if p)
        js = {**js, "experiments_across_backends": experiment_json(rows)}
    return md, js, failing, page


def _write_parity(folder, tables, info, links, matrix):
    rows, opt_rows, var_rows = tables
    write_parity_report(folder, rows, info, extra_sections=[matrix[0]],
                        extra_json={"optimizers": opt_rows, "variants": var_rows, **matrix[1]}, opt_rows=opt_rows,
                        links=links, var_rows=var_rows)
    failing = [f"{r['spec']} {r['check']}: {(r['error'] or '').splitlines()[0]}" for r in rows
               if not r["passed"] and not r.get("expected_failure")]
    failing += [f"optimizer {r['model']} {r['setting']} ({r['dtype']})" for r in opt_rows if not r["passed"]]
    if matrix[3]:
        (folder / "backends.html").write_text(matrix[3])
    return failing + matrix[2]


def _run_info(args, dtypes, parts, run_id):
    """The manifest: versions and flags as a worker saw them (this process never imports TensorFlow), and
    per part where it ran and its wall and CPU seconds ("processes")."""
    env = parts[0].pop("environment")
    for part in parts[1:]:
        part.pop("environment")
    info = {**env, "seed": args.seed, "flags": {**env["flags"], "dtypes": list(dtypes), "epochs_override": args.epochs,
                                                "full": args.full}}
    info["flags"].pop("tf32_execution")  # per process: see "processes"
    info.update({"run_id": run_id, "processes": parts})
    return info


def _experiment_info(info, experiments, data):
    return {**info, "dataset": data.name, "dataset_checksum": data.checksum, "train_size": len(data.x_train),
            "test_size": len(data.x_test), "experiments": [fn.id for fn in experiments],
            "batch_order": "np.random.default_rng([seed, epoch]).permutation(n_train), shared by both twins"}


def _print_runs(rows):
    for r in rows:
        if r.get("numpy_test_acc") is None and "test_mse_rel_diff" in r:
            print(f"  {r['dtype']} {r['run']:<28} test MSE rel diff {r['test_mse_rel_diff']:.1e}"
                  f"  max rel loss diff {r['max_rel_loss_diff']:.1e}")
        elif r.get("numpy_test_acc") is not None:
            print(f"  {r['dtype']} {r['run']:<28} test acc NumPy {r['numpy_test_acc']:.4f} Keras {r['keras_test_acc']:.4f}"
                  f"  max rel loss diff {r['max_rel_loss_diff']:.1e}")


def _layout(args, sections, dtypes):
    """(folder of parity.md relative to --out, the run folder relative to --out)."""
    asked = set(args.section or ())  # named in the folder only when they say more than --spec/--experiment
    beside = [b for b in (BACKENDS if args.backend == "all" else (args.backend,)) if b != "tensorflow"]
    filtered = run_output.filtered_name(asked if asked != _implied_sections(args) else (), args.spec or [],
                                        args.experiment or [], dtypes, SECTIONS, DTYPES, beside)
    run_name = args.dataset + ("-full" if args.full else "") + (f"-seed{args.seed}" if args.seed else "") + \
        (f"-epochs{args.epochs}" if args.epochs else "")  # shorter runs never replace the default run's pages
    if filtered:  # a filtered or multi-backend run never replaces the full report: everything in its own folder
        name = run_name + "-" + filtered if "experiments" in sections else filtered
        return Path(name), Path(name)
    return Path("."), Path(run_name)


def _compute(args, parts):
    """Every part's (payload, info), in ``parts``' order: on workers, longest first, when worth it (see
    ``report_parts.worth_workers``), else here in section order."""
    if not report_parts.worth_workers(parts):
        quiet.import_tensorflow()
        return [fn(*a) for _, _, fn, a in parts]
    order = report_parts.run_order(parts)
    args.workers = min(len(parts), args.workers or available_cores())  # single-threaded worker processes
    with connect(workers=args.workers) as client:
        done = map_calls(client, [(parts[i][2], parts[i][3]) for i in order])
    by_part = dict(zip(order, done, strict=True))
    return [by_part[i] for i in range(len(parts))]


def cmd_report(args):
    """Validate, run the parts as tasks on a local Dask cluster, then write every output at one commit point."""
    started = time.perf_counter()
    quiet.set_verbose(args.verbose)
    sections, dtypes, specs, experiments, data = _plan(args)
    run_output.check_out_dir(args.out)
    run_output.clean_stale(args.out)
    tables = bool({"checks", "optimizers", "variants"} & sections)
    parts = report_parts.plan(sections, dtypes, specs, [get_spec(s) for s in OPTIMIZER_MODELS],
                              [fn.id for fn in experiments],
                              ((args.dataset, args.data_path, args.seed, args.full), args.seed, args.epochs, args.full),
                              args.progress)
    phases = {"setup": time.perf_counter() - started}
    check_rows, opt_rows, var_rows, results, part_infos = report_parts.assemble(parts, _compute(args, parts), dtypes)
    phases["parts"] = time.perf_counter() - started - phases["setup"]
    matrix = _backend_matrix(args, sections, dtypes, specs)  # its own process per backend
    phases["backends"] = time.perf_counter() - started - phases["setup"] - phases["parts"]
    parity_dir, run_dir = _layout(args, sections, dtypes)
    info = _run_info(args, dtypes, part_infos, run_output.new_run_id())
    info["phase_seconds"] = phases  # wall seconds of this process until writing; each part's own in "processes"
    failing, lines = [], []
    with run_output.staged(args.out) as stage:
        if tables:
            c = counts(check_rows, opt_rows, var_rows)
            links = [("training report", str(os.path.relpath(run_dir / "index.html", parity_dir)))] \
                if "experiments" in sections else []
            failing += _write_parity(stage / parity_dir, (check_rows, opt_rows, var_rows), info, links, matrix)
            lines.append(f"parity: {summary_line(c)}; wrote {Path(args.out) / parity_dir / 'parity.md'} and parity.json")
        if "experiments" in sections:
            parity_md = os.path.relpath(parity_dir / "parity.md", run_dir)
            note = (f"Parity checks: {summary_line(c)} (see {parity_md})." if tables
                    else "Parity checks were not run in this report.")
            links = [("summary.md", "summary.md")] + ([("parity.md", parity_md)] if tables else [])
            rows = write_run(stage / run_dir, results,
                             _experiment_info(info, experiments, data), note,
                             c if tables else None, links)
            failing += [f"experiment {r['experiment']} {r['run']} ({r['dtype']})" for r in rows if not r["passed"]]
            passed = sum(r["passed"] for r in rows)
            lines.append(f"experiments: {passed} of {len(rows)} rows passed; wrote {Path(args.out) / run_dir / 'index.html'}")
        if matrix[0] and not tables:  # experiments across backends, no parity.md to hold them
            (stage / run_dir / "backends.md").write_text(matrix[0] + "\n")
            failing += matrix[2]
            lines.append(f"backends: wrote {Path(args.out) / run_dir / 'backends.md'}")
    print("\n".join(lines))
    if "experiments" in sections:
        _print_runs(rows)
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
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc  # KeyError's str() adds quotes
        print(f"parity: error: {message}", file=sys.stderr)
        return 2
    except OSError as exc:  # the disk, not the code: a full disk, a folder made read-only during the run
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"parity: error: {where}{exc.strerror or exc}; this run's files were not all moved into place.", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:  # staging folders were removed on the way out (run_output.staged)
        print(exc.args[0] if exc.args else "parity: interrupted; nothing was written for this run.", file=sys.stderr)
        return 130  # a sweep's interrupt carries its own line: its finished tasks are kept for --resume


if __name__ == "__main__":
    sys.exit(main())
