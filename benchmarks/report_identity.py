"""Whether two ``parity report`` outputs hold the same numbers: every field but timings, versions and the manifest.

    python benchmarks/report_identity.py BEFORE_DIR AFTER_DIR [RUN_FOLDER]

Compares ``parity.json`` (check rows, optimizer and variant rows, summary,
tolerances) and ``RUN_FOLDER/results.json`` (default ``digits``: every
experiment row and table) exactly: floats must be equal, not close. Fields
that time the run (``*sec*``, ``*seconds*``) and the manifest (versions,
pids, run id) are skipped. Prints each difference; exit code 1 if any.
"""
import json
import re
import sys
from pathlib import Path

SKIPPED_KEYS = ("manifest",)
TIMING_KEY = re.compile(r"(^|_)(sec|seconds)(_|$)")  # keras_sec_per_epoch, cpu_seconds; not "bisection"


def _skipped(key):
    return key in SKIPPED_KEYS or bool(TIMING_KEY.search(key))


def differences(before, after, path="$"):
    """[path: before != after] for every leaf that differs (NaN equals NaN), skipping timing and manifest keys."""
    if isinstance(before, dict) and isinstance(after, dict):
        keys = sorted(set(before) | set(after))
        return [line for k in keys if not _skipped(k)
                for line in differences(before.get(k, "<missing>"), after.get(k, "<missing>"), f"{path}.{k}")]
    if isinstance(before, list) and isinstance(after, list):
        if len(before) != len(after):
            return [f"{path}: {len(before)} items != {len(after)} items"]
        return [line for i, (b, a) in enumerate(zip(before, after, strict=True))
                for line in differences(b, a, f"{path}[{i}]")]
    same = before == after or (before != before and after != after)  # NaN == NaN here
    return [] if same else [f"{path}: {before!r} != {after!r}"]


def compare_reports(before_dir, after_dir, run_folder="digits"):
    """Differences between the two reports' parity.json and run results.json (missing files count as one)."""
    lines = []
    for name in ("parity.json", f"{run_folder}/results.json"):
        b, a = Path(before_dir) / name, Path(after_dir) / name
        if b.exists() != a.exists():
            lines.append(f"{name}: present in only one report")
        elif b.exists():
            lines += [f"{name} {line}" for line in differences(json.loads(b.read_text()), json.loads(a.read_text()))]
    return lines


if __name__ == "__main__":
    found = compare_reports(*sys.argv[1:4])
    print("\n".join(found) if found else "identical: every number but timings and the manifest")
    sys.exit(1 if found else 0)
