"""Compare two arrays and say exactly where and by how much they differ."""
from dataclasses import asdict, dataclass, field

import numpy as np

from parity.tolerances import Tolerance


class ParityError(AssertionError):
    """Raised by ``assert_all_passed``; the message is the full report."""


@dataclass
class Comparison:
    """The outcome of comparing tensor ``name`` between two implementations.

    ``max_rel`` is ``max_abs`` divided by the larger of the two tensors' largest
    magnitudes; ``frac_failed`` is the share of elements beyond tolerance;
    ``worst`` lists the largest differences with their multi-indices.

    Reports and tests read the structured fields, never the display ``name``:
    ``tensor`` ("dense/kernel", "dense" for a layer output), ``kind`` (output,
    input_grad, param, loss, state, slot, iterations, finite_difference,
    direction, weight), ``step`` and ``slot`` (optimizer checks), and the
    context the check runner fills in: ``spec``, ``check`` and ``dtype``.
    ``backend`` is the implementation under test (``labels[0]``).
    """

    name: str
    passed: bool
    max_abs: float
    max_rel: float
    rtol: float
    scale: float
    shape: tuple
    frac_failed: float
    labels: tuple = ("numpy", "keras")
    worst: list = field(default_factory=list)
    note: str = ""
    tensor: str = ""
    kind: str = ""
    step: int = None
    slot: str = None
    spec: str = None
    check: str = None
    dtype: str = None

    @property
    def backend(self):
        return self.labels[0]

    def message(self):
        a, b = self.labels
        status = "ok" if self.passed else "FAILED"
        head = (f"{self.name}: {status} ({a} vs {b}) max_abs={self.max_abs:.3e} "
                f"max_rel={self.max_rel:.3e} rtol={self.rtol:.1e} shape={self.shape} "
                f"failing={100 * self.frac_failed:.2f}%")
        lines = [head] + ([f"  note: {self.note}"] if self.note else [])
        if not self.passed:
            lines += [f"  at {w['index']}: {a}={w['a']:.17g} {b}={w['b']:.17g} |diff|={w['abs']:.3e}"
                      for w in self.worst]
        return "\n".join(lines)

    def to_dict(self):
        d = asdict(self)
        d["shape"] = list(self.shape)
        return d


def compare(a, b, name, tolerance, labels=("numpy", "keras"), k=5, scale=None, floor=0.0, **fields):
    """Compare ``a`` with reference ``b``; shapes must match exactly (no broadcasting).

    Args:
        a, b: arrays of the same shape.
        name: the tensor's name, e.g. "dense_1/kernel".
        tolerance: a ``Tolerance`` or a float rtol (relative to the largest magnitude).
        k: how many worst elements to keep.
        scale: the magnitude errors are relative to; default the larger of
            the two arrays' largest magnitudes.
        floor: a lower bound for that default scale: the magnitude of the terms
            a reduction summed (see ``parity.tolerances.CONDITION_SCALE``).
        fields: structured fields of the ``Comparison`` (tensor, kind, step,
            slot, ...); ``tensor`` defaults to ``name``.
    """
    rtol = tolerance.rtol if isinstance(tolerance, Tolerance) else float(tolerance)
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"compare('{name}'): shapes differ, refusing to broadcast. "
                         f"Received: {labels[0]}.shape={a.shape}, {labels[1]}.shape={b.shape}")
    a64, b64 = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)  # only read: no copy needed
    diff = np.abs(a64 - b64)
    if np.isfinite(diff).all():  # both sides finite everywhere (the usual case): no NaN/inf bookkeeping
        magnitudes = (np.abs(a64).max(initial=0.0), np.abs(b64).max(initial=0.0))
    else:
        diff = np.where(np.isnan(diff), np.inf, diff)  # NaN on either side (both too) fails: it is not a number
        finite = np.isfinite(a64) & np.isfinite(b64)
        magnitudes = (np.abs(a64[finite]).max(initial=0.0), np.abs(b64[finite]).max(initial=0.0))
    if scale is None:
        scale = max(*magnitudes, float(floor))
    max_abs = float(diff.max(initial=0.0))
    max_rel = max_abs / scale if scale > 0 else (0.0 if max_abs == 0 else np.inf)
    n_failing = int(np.count_nonzero(diff > rtol * scale))
    worst = _worst(a64, b64, diff, _largest(diff, k))
    return Comparison(name=name, passed=n_failing == 0, max_abs=max_abs, max_rel=float(max_rel),
                      rtol=rtol, scale=float(scale), shape=tuple(a.shape),
                      frac_failed=n_failing / diff.size if diff.size else 0.0,
                      labels=tuple(labels), worst=worst, **{"tensor": name, **fields})


def _worst(a64, b64, diff, flat):
    """[{"index": multi-index, "a", "b", "abs"}] at the flat indices ``flat`` (one vectorised lookup each)."""
    if not len(flat):
        return []
    index = np.stack(np.unravel_index(flat, diff.shape), axis=-1).tolist() if diff.ndim else [[]] * len(flat)
    values = zip(a64.reshape(-1)[flat].tolist(), b64.reshape(-1)[flat].tolist(), diff.reshape(-1)[flat].tolist())
    return [{"index": tuple(i), "a": a, "b": b, "abs": d} for i, (a, b, d) in zip(index, values, strict=True)]


def _largest(diff, k):
    """Flat indices of the ``k`` largest entries, largest first: ``np.argsort(diff, axis=None)[::-1][:k]``.

    That full sort dominated ``compare`` for large tensors. When the ``k`` largest
    values are distinct and larger than every other one, the answer does not depend
    on how a sort orders ties, so a partition finds it; otherwise (ties, e.g. an exact
    match's zeros) the sort itself decides, as it always did.
    """
    flat = diff.reshape(-1)
    if flat.size <= 4 * (k + 1):
        return np.argsort(flat)[::-1][:k]
    top = np.argpartition(flat, flat.size - k - 1)[flat.size - k - 1:]  # the k+1 largest, the (k+1)-th first
    top = top[np.argsort(flat[top])[::-1]]
    values = flat[top]
    if np.all(values[:-1] > values[1:]):  # strictly decreasing: no tie among them nor with the rest
        return top[:k]
    return np.argsort(flat)[::-1][:k]


def relative_difference(a, b):
    """(max |a - b|, that divided by the largest |b|) over an array or a list of arrays; ``b`` is the reference.

    ``compare`` divides by the larger magnitude of both sides (and a floor);
    this is the summary the variant and study tables report. 0 / 0 is 0.
    """
    a, b = (a, b) if isinstance(a, (list, tuple)) else ([a], [b])
    diff = max(float(np.abs(np.asarray(x) - np.asarray(y)).max()) for x, y in zip(a, b, strict=True))
    scale = max(float(np.abs(y).max()) for y in b)
    return diff, (diff / scale if scale > 0 else (0.0 if diff == 0 else np.inf))


def assert_all_passed(comparisons, context=""):
    """Raise ``ParityError`` naming the first failing tensor, with the full report."""
    failed = [c for c in comparisons if not c.passed]
    if failed:
        header = f"{context}: " if context else ""
        header += f"{len(failed)} of {len(comparisons)} comparisons failed; first: {failed[0].name}"
        raise ParityError("\n".join([header] + [c.message() for c in failed]))
