"""Write a whole output directory at once: nothing half-written is ever left behind."""
import contextlib
import os
import shutil
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_directory(target):
    """Yield a temporary directory; on success move its files into ``target``.

    Files are written next to ``target`` and moved with ``os.replace`` (atomic per
    file on one filesystem). On any exception the temporary directory is removed
    and ``target`` is left exactly as it was.
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
