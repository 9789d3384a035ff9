"""The "Run" section of every report: versions, seed and flags, then where each part ran, from the run's manifest.

Scalars are one line each, a dict one line per key (``flags`` as ``flag <name>``), and the list of parts
(``processes``: one per task on the worker processes) a table, not a line thousands of characters long.
"""
import html

from parity.report.tables import frame, to_markdown

PART_COLUMNS = ["part", "pid", "seconds", "cpu_seconds"]


def run_items(manifest):
    """[(label, text)] for every manifest entry but the parts; a dict gives one item per key."""
    items = []
    for key, value in manifest.items():
        if key == "processes":
            continue
        if isinstance(value, dict):
            prefix = "flag" if key == "flags" else key
            items += [(f"{prefix} {name}", _text(v)) for name, v in value.items()]
        else:
            items.append((key, _text(value)))
    return items


def parts_frame(manifest):
    """The parts as a DataFrame (part, pid, wall and CPU seconds in its worker), in the order they were planned."""
    return frame([{c: p.get(c) for c in PART_COLUMNS} for p in manifest.get("processes", [])], PART_COLUMNS)


def run_markdown(manifest):
    """Markdown lines of the section's body (the caller writes the heading)."""
    lines = [f"- {label}: {text}" for label, text in run_items(manifest)]
    parts = parts_frame(manifest)
    if len(parts):
        lines += ["", "Parts, one per task on the worker processes (wall and CPU seconds in the worker):", ""]
        lines += to_markdown(parts, _text)
    return lines


def run_html(manifest):
    """HTML of the section's body: the items as a list, the parts as a table."""
    items = "".join(f"<li>{html.escape(label)}: {html.escape(text)}</li>" for label, text in run_items(manifest))
    parts = parts_frame(manifest)
    if not len(parts):
        return f"<ul>{items}</ul>"
    head = "".join(f"<th>{html.escape(c)}</th>" for c in PART_COLUMNS)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_text(v))}</td>" for v in row) + "</tr>"
                   for row in parts.itertuples(index=False))
    return f"<ul>{items}</ul><table id='parts'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _text(value):
    return f"{value:.4g}" if isinstance(value, float) else str(value)
