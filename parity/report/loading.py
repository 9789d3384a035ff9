"""Every result set of a report folder as pandas DataFrames, built by the same functions that rendered the files.

    >>> from parity.report import load
    >>> frames = load("reports")          # {"checks": DataFrame, "digits/experiments": DataFrame, ...}
    >>> frames["checks"].query("not passed")
"""
import json
from pathlib import Path

import pandas as pd

from parity.report.parity_tables import parity_frames


def _key(folder, path, name):
    where = path.parent.relative_to(folder).as_posix()
    return name if where == "." else f"{where}/{name}"


def _report_folder(folder):
    """``folder`` as a Path, refused unless it is a folder holding a report's parity.json or results.json."""
    folder = Path(folder)
    expected = "expected a folder written by `parity report` (its --out) or one of its run folders"
    if not folder.exists():
        raise FileNotFoundError(f"{folder} does not exist; {expected}. Received: folder={folder}")
    if not folder.is_dir():
        raise ValueError(f"{folder} is a file; {expected}. Received: folder={folder}")
    if not any(folder.rglob("parity.json")) and not any(folder.rglob("results.json")):
        raise ValueError(f"{folder} holds no parity.json or results.json; {expected}. Received: folder={folder}")
    return folder


def load(folder):
    """Every result set under ``folder`` (a report's --out) as DataFrames, keyed '<run folder>/<set>'.

    Parity tables are 'checks', 'optimizers', 'variants', 'tolerances' (prefixed by their folder for a filtered
    run), the frames parity.md and parity-<set>.csv were rendered from (failures first); a run folder gives
    '<run>/experiments' (the summary rows) and '<run>/<caption>' for each experiment table. Raises
    FileNotFoundError for a missing ``folder`` and ValueError for one that holds no report.
    """
    folder = _report_folder(folder)
    frames = {}
    for path in sorted(folder.rglob("parity.json")):
        frames.update({_key(folder, path, name): df for name, df in parity_frames(json.loads(path.read_text())).items()})
    for path in sorted(folder.rglob("results.json")):
        data = json.loads(path.read_text())
        frames[_key(folder, path, "experiments")] = pd.DataFrame(data["rows"])
        frames.update({_key(folder, path, t["caption"]): pd.DataFrame(t["rows"]) for t in data["tables"]})
    return frames
