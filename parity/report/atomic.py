"""Write outputs so that an interrupted run leaves nothing half-written behind."""
import contextlib
import os
import shutil
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_directory(target):
    """Yield a temporary directory; on success move its files into ``target`` (which may hold other files).

    Files are written next to ``target`` and moved with ``os.replace`` (atomic per
    file on one filesystem). On any exception the temporary directory is removed
    and ``target`` keeps its previous files.
    """
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".partial-", dir=target))
    try:
        yield tmp
        for path in sorted(tmp.rglob("*")):
            if path.is_file():
                dest = target / path.relative_to(tmp)
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(path, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
