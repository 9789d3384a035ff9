"""The ``parity`` command: ``parity report`` and ``parity list``."""
import argparse
import sys

DTYPES = ("float32", "float64")
SECTIONS = ("checks", "optimizers", "variants")
# Models the optimizer table runs on: a Dense net and a CNN.
OPTIMIZER_MODELS = ("net_2_3_1_sigmoid_mse", "lenet_digits_8")


def _parser():
    parser = argparse.ArgumentParser(prog="parity", description="NumPy vs Keras parity checks and reports.")
    sub = parser.add_subparsers(dest="command")
    report = sub.add_parser("report", help="run the parity checks and write reports (default command)")
    report.add_argument("--out", default="reports", help="output directory (default: reports)")
    report.add_argument("--seed", type=int, default=0, help="seed for weights and data (default: 0)")
    report.add_argument("--dtype", choices=DTYPES, action="append", help="dtype(s) to check (default: both)")
    report.add_argument("--spec", action="append", help="only these spec ids (default: all)")
    report.add_argument("--section", action="append", choices=SECTIONS,
                        help="only these report sections (default: all)")
    sub.add_parser("list", help="list the registered specs")
    return parser


def cmd_list(args):
    from parity.specs import SPECS
    for spec in SPECS.values():
        print(f"{spec.id:<32} {spec.description}")
    return 0


def cmd_report(args):
    from parity.environment import manifest
    from parity.optimizer_report import (optimizer_rows, render_optimizer_table, render_variant_table,
                                         variant_rows)
    from parity.report import run_parity, write_parity_report
    from parity.specs import get_spec, SPECS

    specs = [get_spec(s) for s in args.spec] if args.spec else list(SPECS.values())
    dtypes = tuple(args.dtype or DTYPES)
    sections = set(args.section or SECTIONS)
    rows = run_parity(specs, dtypes) if "checks" in sections else []
    opt_rows = optimizer_rows([get_spec(s) for s in OPTIMIZER_MODELS], dtypes) if "optimizers" in sections else []
    var_rows = variant_rows(dtypes) if "variants" in sections else []
    write_parity_report(args.out, rows, manifest(args.seed, {"dtypes": list(dtypes)}),
                        extra_sections=[render_optimizer_table(opt_rows) if opt_rows else "",
                                        render_variant_table(var_rows) if var_rows else ""],
                        extra_json={"optimizers": opt_rows, "variants": var_rows})
    failing = [r for r in rows if not r["passed"] and not r.get("expected_failure")]
    failing += [{"spec": r["model"], "check": f"optimizer {r['setting']} ({r['dtype']})",
                 "error": "parameters or slots differ"} for r in opt_rows if not r["passed"]]
    print(f"parity: {len(rows) + len(opt_rows) - len(failing)} of {len(rows) + len(opt_rows)} checks passed; "
          f"wrote {args.out}/parity.md and {args.out}/parity.json")
    for r in failing:
        print(f"  FAIL {r['spec']} {r['check']}: {(r['error'] or '').splitlines()[0]}")
    return 1 if failing else 0


def main(argv=None):
    args = _parser().parse_args(argv)
    command = args.command or "report"
    if args.command is None:
        args = _parser().parse_args(["report"] + list(argv or sys.argv[1:]))
    try:
        return {"report": cmd_report, "list": cmd_list}[command](args)
    except (KeyError, ValueError, FileNotFoundError) as exc:
        print(f"parity: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
