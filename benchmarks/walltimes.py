"""Wall and CPU seconds of the default ``parity report`` (whole, its phases, then each section alone) and of the suite.

Each command runs in a fresh process, as a user runs it, so TensorFlow's
import is included. CPU seconds are the children's user + system time
(``resource.getrusage``): on a shared machine they move much less than the
wall time, so they tell whether a change made the work itself smaller.
"""
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ("checks", "optimizers", "variants", "experiments")
REPORT_TARGET_S, SUITE_TARGET_S = 60, 90


def _children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command):
    """(wall seconds, CPU seconds, exit code) of ``command`` run from the repository root."""
    cpu, start = _children_cpu(), time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start, _children_cpu() - cpu, done.returncode


def phase_rows(manifest, exit_code):
    """The report's own split, read from its manifest: the CLI's phases (wall), then each section x dtype's parts
    (the sum of the parts' wall and CPU seconds in their workers; the parts of two workers overlap in time)."""
    rows = [{"what": f"  phase {name}", "wall_s": seconds, "cpu_s": None, "exit_code": exit_code, "target": ""}
            for name, seconds in manifest.get("phase_seconds", {}).items()]
    groups = {}
    for part in manifest.get("processes", []):
        key = (part["section"], part["dtype"])
        wall, cpu, n = groups.get(key, (0.0, 0.0, 0))
        groups[key] = (wall + part["seconds"], cpu + part["cpu_seconds"], n + 1)
    for (section, dtype), (wall, cpu, n) in groups.items():
        rows.append({"what": f"    {section}{f' {dtype}' if dtype else ''} ({n} part{'s' if n > 1 else ''})",
                     "wall_s": wall, "cpu_s": cpu, "exit_code": exit_code, "target": ""})
    return rows


def walltimes(suite=True):
    """Rows {what, wall_s, cpu_s, exit_code, target}: the report and its phases, its sections one by one, the suite."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        report = [sys.executable, "-m", "parity", "report", "--out", tmp]
        commands = [("parity report (default)", report, f"< {REPORT_TARGET_S} s")]
        commands += [(f"  section {s} alone", report + ["--section", s], "") for s in SECTIONS]
        if suite:
            commands.append(("pytest -n auto", [sys.executable, "-m", "pytest", "-n", "auto", "-q", "-p",
                                                "no:cacheprovider"], f"< {SUITE_TARGET_S} s"))
        for what, command, target in commands:
            wall, cpu, code = timed(command)
            rows.append({"what": what, "wall_s": wall, "cpu_s": cpu, "exit_code": code, "target": target})
            if what == "parity report (default)" and (Path(tmp) / "parity.json").exists():
                rows += phase_rows(json.loads((Path(tmp) / "parity.json").read_text())["manifest"], code)
    return rows


def render_walltimes(rows):
    lines = ["## Report and test-suite wall times", "",
             "Fresh processes, TensorFlow's import included; a report runs its parts (a dtype's share of a section, "
             "longest first) on one worker process per core. CPU s: user + system of the "
             "command's processes. Indented under the default report: its phases (wall) and, per section and dtype, "
             "the sum of its parts' wall and CPU seconds in the workers, as the report's manifest records them.", "",
             "| command | wall s | CPU s | exit code | target | met |", "|---|---|---|---|---|---|"]
    for r in rows:
        limit = float(r["target"].split()[1]) if r["target"] else None
        met = "" if limit is None else ("yes" if r["wall_s"] < limit and r["exit_code"] == 0 else "NO")
        cpu = "-" if r["cpu_s"] is None else f"{r['cpu_s']:.1f}"
        lines.append(f"| {r['what']} | {r['wall_s']:.1f} | {cpu} | {r['exit_code']} | {r['target']} "
                     f"| {met} |")
    return "\n".join(lines)
