"""One JSON file per task under DIR/tasks/, written atomically the moment the task finishes.

A file is either complete or absent (written aside, then ``os.replace``), so an
interrupted sweep leaves only whole results, and ``--resume`` skips exactly the
tasks whose file says ``ok`` under the same settings. Failed tasks are recorded
too (with their error) and are run again by ``--resume``.
"""
import json
import os
import tempfile
from pathlib import Path


class Store:
    def __init__(self, out_dir):
        self.dir = Path(out_dir) / "tasks"

    def path(self, key):
        return self.dir / f"{key.name}.json"

    def write(self, key, record):
        self.dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{key.name}-", suffix=".partial", dir=self.dir)
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(record, f)
            os.replace(tmp, self.path(key))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def read(self, key):
        path = self.path(key)
        return json.loads(path.read_text()) if path.exists() else None

    def records(self):
        """Every complete task file (partial files are never read)."""
        return [json.loads(p.read_text()) for p in sorted(self.dir.glob("*.json"))] if self.dir.exists() else []

    def finished(self, keys, settings):
        """The keys that need no rerun: an ``ok`` record under these settings."""
        done = []
        for key in keys:
            record = self.read(key)
            if record and record["status"] == "ok" and record["settings"] == settings.as_dict():
                done.append(key)
        return done

    def check_resumable(self, settings, resume):
        """Refuse to mix settings in one directory, and to overwrite results without ``--resume``."""
        records = self.records()
        if records and not resume:
            raise ValueError(f"{self.dir.parent} already holds {len(records)} task results; pass --resume to "
                             f"continue that sweep or choose another --out. Received: --out={self.dir.parent}")
        other = {json.dumps(r["settings"], sort_keys=True) for r in records} - \
            {json.dumps(settings.as_dict(), sort_keys=True)}
        if other:
            raise ValueError(f"{self.dir.parent} holds a sweep with other settings ({sorted(other)[0]}); resume it "
                             f"with the same --epochs/--full/--data-path. Received: {settings.as_dict()}")
