"""Result sets as pandas DataFrames: read back from a report folder, and rendered as CSV and markdown.

    >>> from parity.report import load
    >>> frames = load("reports")          # {"checks": DataFrame, "digits/experiments": DataFrame, ...}
    >>> frames["checks"].query("not passed")
"""
import json
from pathlib import Path

import pandas as pd

PARITY_SETS = {"rows": "checks", "optimizers": "optimizers", "variants": "variants"}


def _key(folder, path, name):
    where = path.parent.relative_to(folder).as_posix()
    return name if where == "." else f"{where}/{name}"


def load(folder):
    """Every result set under ``folder`` (a report's --out) as DataFrames, keyed '<run folder>/<set>'.

    Parity tables are 'checks', 'optimizers', 'variants' (prefixed by their folder for a filtered run);
    a run folder gives '<run>/experiments' (the summary rows) and '<run>/<caption>' for each experiment table.
    """
    folder = Path(folder)
    frames = {}
    for path in sorted(folder.rglob("parity.json")):
        data = json.loads(path.read_text())
        frames.update({_key(folder, path, name): pd.DataFrame(data[field])
                       for field, name in PARITY_SETS.items() if data.get(field)})
    for path in sorted(folder.rglob("results.json")):
        data = json.loads(path.read_text())
        frames[_key(folder, path, "experiments")] = pd.DataFrame(data["rows"])
        frames.update({_key(folder, path, t["caption"]): pd.DataFrame(t["rows"]) for t in data["tables"]})
    return frames


def frame(rows, columns=None):
    """Rows (dicts) as a DataFrame for rendering: ``columns`` first, then other keys in first-seen order.

    ``dtype=object`` keeps each value as it was (an int column with a missing cell stays ints, not floats).
    """
    keys = list(dict.fromkeys(list(columns or []) + [k for r in rows for k in r]))
    return pd.DataFrame([[r.get(k) for k in keys] for r in rows], columns=keys, dtype=object)  # missing: None


def to_markdown(df, fmt):
    """A markdown table of ``df`` (from ``frame``), each cell through ``fmt``."""
    lines = ["| " + " | ".join(map(str, df.columns)) + " |", "|" + "---|" * len(df.columns)]
    for row in df.astype(object).itertuples(index=False):
        lines.append("| " + " | ".join(fmt(v) for v in row) + " |")
    return lines
