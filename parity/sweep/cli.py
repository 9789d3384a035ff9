"""``parity sweep``: every argument is checked before a cluster starts or a file is written."""
import re
import sys
import time

from parity.report import quiet, run_output
from parity.sweep import summary
from parity.sweep.cluster import available_cores, connect
from parity.sweep.runner import run_tasks
from parity.sweep.store import Store
from parity.sweep.tasks import DTYPES, Settings, environment, task_keys, validate

SEEDS = re.compile(r"^\d+(-\d+)?(,\d+(-\d+)?)*$")
ADDRESS = re.compile(r"^(\w+://)?(\[[0-9a-fA-F:]+\]|[\w.\-]+):\d+$")  # [protocol://]host:port, IPv6 in brackets


def add_parser(sub):
    p = sub.add_parser("sweep", help="run experiments over many seeds (and dtypes, datasets) as Dask tasks")
    p.add_argument("--experiment", action="append", required=True, help="experiment id (repeatable)")
    p.add_argument("--seeds", default="0-49", help="seeds: N, N-M (inclusive) or a comma list (default: 0-49)")
    p.add_argument("--dtype", action="append", help="float32 and/or float64 (default: both)")
    p.add_argument("--dataset", action="append", help="digits (default), mnist, fashion_mnist (repeatable)")
    p.add_argument("--data-path", help="MNIST/Fashion-MNIST file or folder; must exist on every worker")
    p.add_argument("--full", action="store_true", help="whole MNIST-like dataset (default: the report's subset)")
    p.add_argument("--backend", action="append", help="Keras backend (only tensorflow for now)")
    p.add_argument("--epochs", type=int, help="override every experiment's epoch count")
    p.add_argument("--scheduler", help="address of a running Dask scheduler, e.g. tcp://host:8786")
    p.add_argument("--workers", type=int, help="local cluster size (default: one worker per core)")
    p.add_argument("--resume", action="store_true", help="continue the sweep in --out, skipping finished tasks")
    p.add_argument("--out", default="reports/sweep", help="output directory (default: reports/sweep)")
    p.add_argument("--verbose", action="store_true", help="show TensorFlow's and Dask's own log lines")
    return p


def parse_seeds(text):
    """'0-49' -> [0..49]; '1,5-7' -> [1, 5, 6, 7] (sorted, without repeats)."""
    if not SEEDS.match(text):
        raise ValueError(f"--seeds must be N, N-M or a comma list of those (e.g. 0-49). Received: --seeds={text}")
    seeds = set()
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        if hi and int(hi) < int(lo):
            raise ValueError(f"--seeds range {part} runs backwards. Received: --seeds={text}")
        seeds.update(range(int(lo), int(hi or lo) + 1))
    return sorted(seeds)


def plan(args):
    """Validate everything; returns (keys, settings, store). Raises ValueError with one line."""
    seeds = parse_seeds(args.seeds)
    if args.epochs is not None and args.epochs <= 0:
        raise ValueError(f"--epochs must be positive. Received: --epochs={args.epochs}")
    if args.workers is not None and (args.workers <= 0 or args.scheduler):
        raise ValueError("--workers sizes the local cluster: a positive number, without --scheduler. "
                         f"Received: --workers={args.workers}, --scheduler={args.scheduler}")
    if args.scheduler and not ADDRESS.match(args.scheduler):
        raise ValueError(f"--scheduler expects a Dask scheduler address, e.g. tcp://host:8786. "
                         f"Received: --scheduler={args.scheduler}")
    dtypes, datasets = args.dtype or list(DTYPES), args.dataset or ["digits"]
    if (args.data_path or args.full) and not set(datasets) - {"digits"}:
        raise ValueError("--data-path and --full apply to --dataset mnist or fashion_mnist; digits is embedded and "
                         f"always used whole. Received: --dataset=digits {'--data-path' if args.data_path else '--full'}")
    backends = args.backend or ["tensorflow"]
    validate(args.experiment, dtypes, datasets, backends, args.data_path)
    run_output.check_out_dir(args.out)
    settings = Settings(args.epochs, args.full, args.data_path)
    store = Store(args.out)
    store.check_resumable(settings, args.resume)
    return task_keys(args.experiment, seeds, dtypes, datasets, backends), settings, store


def _manifest(args, keys, settings, seconds, executed, records):
    info = _environments(records)
    info["flags"] = {**info["flags"], "settings": settings.as_dict()}
    info.update({"experiments": args.experiment, "seeds": args.seeds, "tasks": len(keys),
                 "executed_now": executed, "resumed": args.resume, "scheduler": args.scheduler or "local",
                 "workers": "the scheduler's" if args.scheduler else args.workers or available_cores(),
                 "wall_seconds": round(seconds, 1),
                 "seeding": "each task's seed seeds its weights, data split and batch order; nothing else does"})
    return info


def _environments(records):
    """Versions and flags as the workers that ran the tasks saw them (this process never imports TensorFlow): those
    of the first finished task, and ``other_environments`` where tasks ran elsewhere (another machine of a
    ``--scheduler``'s cluster, or a resumed sweep's earlier software). Without a finished task, this process's own."""
    seen = []
    for record in records:
        env = record.get("worker", {}).get("environment")
        if env is not None and env not in seen:
            seen.append(env)
    if not seen:
        quiet.import_tensorflow()  # quietly, before keras_models.backend imports it
        import keras_models.backend  # noqa: F401 -- the precision a task would run with (TF32 off)

        seen = [{**environment(), "environment_of": "this sweep process: no task finished"}]
    return {**seen[0], **({"other_environments": seen[1:]} if len(seen) > 1 else {})}


def cmd_sweep(args, on_record=None):
    """Run the tasks not yet finished, then write the sweep report from every task file."""
    quiet.set_verbose(args.verbose)  # as ``parity report``: TensorFlow's and Dask's own lines only with --verbose
    keys, settings, store = plan(args)
    done = set(store.finished(keys, settings))
    todo = [k for k in keys if k not in done]
    start = time.perf_counter()
    if todo:
        try:
            with connect(args.scheduler, args.workers) as client:
                run_tasks(client, todo, settings, store, on_record)
        except KeyboardInterrupt:  # every finished task is already a whole file: say how to go on from them
            kept = len(store.finished(keys, settings))
            raise KeyboardInterrupt(f"parity: interrupted; {kept} of {len(keys)} tasks are finished in {args.out} "
                                    "(no report written); run the same command with --resume to continue.") from None
    seconds = time.perf_counter() - start
    records = [store.read(k) for k in keys]
    df = summary.write(args.out, records, _manifest(args, keys, settings, seconds, len(todo), records))
    failed = df[df["status"] != "ok"]
    breaking = df[df["passed"].eq(False)]  # None for failed tasks
    print(f"sweep: {len(keys)} tasks ({len(todo)} run now, {len(keys) - len(todo)} already done) in {seconds:.1f} s; "
          f"{len(failed)} failed, {len(breaking)} of {len(df) - len(failed)} runs break the pass rule; "
          f"wrote {args.out}/index.html")
    for _, r in failed.iterrows():
        print(f"  FAILED {r['experiment']} {r['dataset']} {r['dtype']} seed {r['seed']}: {r['error']}", file=sys.stderr)
    return 1 if len(failed) or len(breaking) else 0
