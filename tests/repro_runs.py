"""Running a written ``repro.py`` (``parity.verify.repro``) as its user would, with its layer's config edited."""
import json
import subprocess
import sys

import numpy as np


def repro_with(directory, **config):
    """The finished ``python repro.py`` in ``directory``, its layer rebuilt with ``config`` changed (the fix)."""
    data = dict(np.load(directory / "repro.npz"))
    meta = json.loads(str(data["meta"]))
    meta["config"].update(config)
    data["meta"] = np.array(json.dumps(meta))
    np.savez(directory / "repro.npz", **data)
    return subprocess.run([sys.executable, str(directory / "repro.py")], capture_output=True, text=True, timeout=120)
