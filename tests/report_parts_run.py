"""One ``parity report`` run whose computed parts the tests about writing a run share (conftest's ``report_parts``).

Those tests (staging, a full disk, SIGINT and SIGKILL mid-write, a rerun, a failure while writing) are about how a
run is written: they write the parts of this one run, computed once, instead of each computing them again (a child
process doing it imports TensorFlow: 5 s of CPU). They share one xdist group, so that one worker computes it.
"""
import pickle

import pytest

from parity import cli

OPTIMIZER_PATHS_RUN = ["report", "--experiment", "optimizer_paths", "--dtype", "float64"]
OPTIMIZER_PATHS_GROUP = pytest.mark.xdist_group("optimizer_paths_run")


def _planned(parts):
    """What ``parts`` compute (section, function, arguments): only the same run may take this run's parts."""
    return repr([(section, fn.__name__, args) for section, _, fn, args in parts])


def computed(folder):
    """Run ``OPTIMIZER_PATHS_RUN`` into ``folder``; returns a file holding its plan and parts (payloads and where
    they ran), pickled as ``parity.cli._compute`` returned them."""
    real, kept = cli._compute, []

    def keep(args, parts):
        outputs = real(args, parts)
        kept.append(pickle.dumps((_planned(parts), outputs)))  # before writing: it pops each part's "environment"
        return outputs

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cli, "_compute", keep)
        assert cli.main(OPTIMIZER_PATHS_RUN + ["--out", str(folder / "out")]) == 0
    (folder / "parts.pkl").write_bytes(kept[0])
    return folder / "parts.pkl"


def precomputed(path):
    """A stand-in for ``parity.cli._compute`` returning the parts pickled in ``path`` (a fresh copy per call)."""
    def compute(args, parts):
        planned, outputs = pickle.loads(path.read_bytes())
        assert _planned(parts) == planned, "not the run whose parts were computed"
        return outputs

    return compute
