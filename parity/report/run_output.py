"""Where a report run writes, checked before anything is computed, and one commit point for all of it.

Every file of a run (``parity.md``/``parity.json`` and the run folder) is
written into one staging folder ``<out>/.stage-<pid>-<token>`` and moved into
place file by file only once everything is written. Files not written by the
run (a user's notes inside a run folder) are left alone. Every file carries the
same ``run_id``, so a run that dies between two moves (SIGKILL, power loss)
still shows which parts came from which run. Staging folders of dead processes,
and the ``.partial-`` folders of earlier versions, are removed by the next run.
"""
import contextlib
import datetime
import hashlib
import os
import re
import shutil
import tempfile
import uuid
from pathlib import Path

STAGE_PREFIX = ".stage-"
_STALE = re.compile(r"^\.(?:stage-(\d+)-\w+|partial-\w+|.+-partial-\w+|.+-old-\d+)$")
MAX_NAME = 80


class OutputError(ValueError):
    """The output folder cannot be used (a file, not writable); raised before any computation."""


def new_run_id():
    """Sortable and unique: UTC time to the second and a short random token."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def filtered_name(sections, specs, experiments, dtypes, all_sections, all_dtypes, backends=()):
    """The folder a filtered run, or a run on more backends than TensorFlow, writes into, named after what it
    ran (``only-<filters>[-<dtype>]``, then ``-with-<backends>``); None for the full TensorFlow-only run, the
    only run written at the top of ``--out``.

    ``sections``: the sections asked for with --section (empty when implied by --spec/--experiment or all).
    ``backends``: the backends run beside TensorFlow (--backend jax|torch|all), empty for TensorFlow alone.
    """
    filters = ([] if not sections or set(sections) == set(all_sections) else sorted(sections)) + list(specs) + \
        list(experiments)
    words = (["+".join(filters)] if filters else []) + ([] if set(dtypes) == set(all_dtypes) else list(dtypes))
    with_backends = "-with-" + "+".join(backends) if backends else ""
    if not words and not backends:
        return None
    name = "-".join(["only"] + words) if words else ""
    if len(name + with_backends) > MAX_NAME:  # a readable, legal file name; the hash keeps distinct filters apart
        name = name[:MAX_NAME - 9 - len(with_backends)] + "-" + hashlib.sha1(name.encode()).hexdigest()[:8]
    return (name + with_backends).lstrip("-")


def check_out_dir(out):
    """Refuse an ``--out`` that is a file or lies in a folder this process cannot write, before any computation."""
    out = Path(out)
    existing = out
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        what = "is a file" if existing == out else f"lies under {existing}, which is a file"
        raise OutputError(f"--out {out} {what}; expected a folder (or a path to create). Received: --out={out}")
    try:  # a real write: os.access says yes to root on read-only folders and knows nothing of read-only mounts
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise OutputError(f"--out {out}: cannot write in {existing} ({exc.strerror}); expected a writable folder. "
                          f"Received: --out={out}") from None


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(out):
    """Remove leftovers of interrupted runs in ``out`` and its run folders (never a live run's stage)."""
    out = Path(out)
    if not out.is_dir():
        return []
    removed = []
    for folder in [out] + [p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")]:
        for path in folder.iterdir():
            match = _STALE.match(path.name)
            if match and path.is_dir() and not (match.group(1) and _alive(int(match.group(1)))):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
    return removed


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def staged(out):
    """Yield a staging folder laid out like ``out``; on success move every file into ``out``, else remove it."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f"{STAGE_PREFIX}{os.getpid()}-", dir=out))
    os.chmod(stage, 0o777 & ~_umask())  # mkdtemp makes 0700; what is moved out of it follows the umask
    try:
        yield stage
        commit(stage, out)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def commit(stage, out):
    """Move the staged files into ``out`` (``os.replace``: each file atomic); folders made with the umask."""
    files = sorted(p for p in Path(stage).rglob("*") if p.is_file())
    for path in files:
        dest = Path(out) / path.relative_to(stage)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, dest)
    return files
