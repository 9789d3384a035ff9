"""Rows as pandas DataFrames, and a DataFrame rendered as a markdown table (``loading.load`` reads them back)."""
import pandas as pd


def frame(rows, columns=None):
    """Rows (dicts) as a DataFrame for rendering: ``columns`` first, then other keys in first-seen order.

    ``dtype=object`` keeps each value as it was (an int column with a missing cell stays ints, not floats).
    """
    keys = list(dict.fromkeys(list(columns or []) + [k for r in rows for k in r]))
    return pd.DataFrame([[r.get(k) for k in keys] for r in rows], columns=keys, dtype=object)  # missing: None


def to_markdown(df, fmt, formats=None):
    """A markdown table of ``df`` (from ``frame``), each cell through ``formats[column]`` if given, else ``fmt``.

    A small renderer rather than ``DataFrame.to_markdown``, which needs the ``tabulate`` package.
    """
    cell = [(formats or {}).get(c, fmt) for c in df.columns]
    lines = ["| " + " | ".join(map(str, df.columns)) + " |", "|" + "---|" * len(df.columns)]
    for row in df.astype(object).itertuples(index=False):
        lines.append("| " + " | ".join(f(v) for f, v in zip(cell, row)) + " |")
    return lines
