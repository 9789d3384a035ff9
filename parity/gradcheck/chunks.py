"""A stack's suffix evaluated in chunks of samples: a probe evaluates only the chunks it can change.

When each sample's output depends on its own input alone (no BatchNormalization
statistics in training mode, no dropout mask drawn for the whole batch), f is a
sum over samples, so chunks of samples can be evaluated apart:
``f = f0 + sum over evaluated chunks of (f_c - f_c0)``, bit for bit f0 when
nothing moved. An input probe (dx) moves one sample: only its chunk is evaluated.
A weight probe moves every chunk, but a probe that only asks whether a branch
switched (a step a smaller one follows, ``finite_differences.UNTIL_KINK``) stops
at the first chunk whose signature differs from its unperturbed one: the chunks
that stopped one before are asked first, and +h and -h are asked chunk by chunk in
turn (``until_kink_each``), so a kink at -h is seen before +h is finished; values
are still summed in chunk order. An evaluation that moves every chunk and cannot
stop early runs in blocks of chunks (larger GEMMs, fewer calls) against each
block's unperturbed value and signature; a block whose signature moved is evaluated
again chunk by chunk. The signature is the chunks' signatures in order, so kink
decisions are those of the whole batch.

Used only where a runtime check on the unperturbed input passes (a heuristic, not
a proof: coupling it does not exercise goes unseen): replacing the last sample by
one that copies no other (1.37 times the first plus a small deterministic ripple)
leaves every other output row bit for bit, and gives the row its chunk gives
evaluated alone; and every chunk (and block) alone gives its rows of the whole
batch's output (tolerance table: float64 sub_batch). A batch statistic that the
first sample's copy would leave unchanged (the mean row norm of unit-norm rows)
moves with a scaled one. Values differ from whole-batch evaluations by round-off only.
"""
import numpy as np

from parity.gradcheck import subject as subj
from parity.gradcheck.finite_differences import KINKED, SignedObjective
from parity.tolerances import tolerance

MIN_ELEMENTS = 1024  # activations per sample (input and outputs) below which chunks cost more Python than they
# save: LeNet's dense suffixes (330 and 138) ran ~3x slower in chunks; its conv2 alone (1632) 2.5x faster
CHUNK = 8  # samples per chunk: whole-LeNet check CPU s at 2/4/8/16/32/64/128: 6.3/4.1/3.1-3.8/3.3-4.9/4.0/4.3-5.0/5.7 (loaded)
BLOCK = 32  # samples per block, for evaluations that move every chunk and cannot stop early: LeNet's forward
# with signatures, float64, ms per 128 samples in slices of 8/16/32/64/128: from conv1 7.4/6.4/6.3/6.8/8.0,
# from conv2 3.5/2.6/2.4/2.6/2.9 (minimum of 15, one BLAS thread)


class ChunkedSuffix(SignedObjective):
    """A ``SuffixObjective`` that passed the checks of the module docstring, evaluated chunk by chunk (see the module docstring)."""

    def __init__(self, suffix, f0, size, base, blocks=None):
        n = len(suffix.source)
        self.suffix, self.f0, self.size, self.base, self.blocks = suffix, f0, size, base, blocks
        self.bounds = [(a, min(a + size, n)) for a in range(0, n, size)]
        self._restore_each = False
        self.reference = suffix.source.copy()  # which chunks' inputs a probe moved
        self.signature0 = _flat(sig for _, sig in base)
        self._kinked_first = list(range(len(self.bounds)))  # chunks that stopped a probe, the latest first

    def _moved(self):
        """Chunks whose input differs from the unperturbed one; all of them when none does (a weight moved)."""
        src, ref = self.suffix.source, self.reference
        if np.array_equal(src, ref):
            return range(len(self.bounds))
        rows = np.flatnonzero((src != ref).reshape(len(src), -1).any(axis=1))
        return sorted({int(r) // self.size for r in rows})

    def _run(self, signature, until_kink=False):
        """The chunks' RNG state is restored once: a suffix that draws from it is re-run restoring before each."""
        subj.restore_rng(self.suffix.rng_state)
        result = self._chunks(signature, until_kink, self._restore_each)
        if not self._restore_each and not subj.rng_unchanged(self.suffix.rng_state):
            self._restore_each = True
            result = self._chunks(signature, until_kink, True)
        return result

    def _chunks(self, signature, until_kink, restore):
        moved = self._moved()
        if self.blocks and not until_kink and len(moved) == len(self.bounds):
            return self._in_blocks(signature, restore)
        changes, sigs = {}, [sig for _, sig in self.base]
        for c in self._order(moved, until_kink):
            f = self._evaluate(*self.bounds[c], restore)
            changes[c] = f - self.base[c][0]
            if until_kink and self.suffix.signatures_differ_from(self.base[c][1]):
                self._to_front(c)
                return float("nan"), KINKED
            if signature and not until_kink:  # (until_kink: equal to the base, which is kept)
                sigs[c] = self.suffix.signatures()
        return self.f0 + _in_order(changes), _flat(sigs) if signature else None

    def _evaluate(self, a, b, restore):
        return self.suffix.evaluate(self.suffix.source[a:b].copy(), self.suffix.dout[a:b], False, restore)[1]

    def _in_blocks(self, signature, restore):
        """Every chunk moved and none may stop early: blocks of chunks evaluated whole (larger GEMMs, fewer
        calls), against each block's unperturbed value; a block whose signature differs from its unperturbed
        one is evaluated again chunk by chunk for the chunks' signatures (the signature stays per chunk)."""
        size, base = self.blocks
        total, sigs, n = 0.0, [sig for _, sig in self.base], len(self.suffix.source)
        for k, (f_block, sig_block) in enumerate(base):
            a, b = k * size, min(k * size + size, n)
            total += self._evaluate(a, b, restore) - f_block
            if signature and self.suffix.signatures_differ_from(sig_block):
                for c in range(a // self.size, -(-b // self.size)):
                    self._evaluate(*self.bounds[c], restore)
                    sigs[c] = self.suffix.signatures()
        return self.f0 + total, _flat(sigs) if signature else None

    def _order(self, moved, until_kink):
        """``moved`` in chunk order; for a probe that stops at a kink, the chunks that stopped one before first:
        a branch that switches within +-h often switches within the next, smaller step too (same decision,
        fewer chunks evaluated before it is seen)."""
        if not until_kink or len(moved) < 2:
            return moved
        wanted = set(moved)
        return [c for c in self._kinked_first if c in wanted]

    def until_kink(self):
        return self._run(True, until_kink=True)

    def until_kink_each(self, places):
        """``finite_differences.until_kink_each``: chunk by chunk, each placement in turn, so a kink at any of
        them stops all; each unstopped value is summed in chunk order (the same f as ``until_kink``, bit for bit)."""
        subj.restore_rng(self.suffix.rng_state)
        result = self._interleaved(places, self._restore_each)
        if not self._restore_each and not subj.rng_unchanged(self.suffix.rng_state):
            self._restore_each = True
            result = self._interleaved(places, True)
        return result

    def _interleaved(self, places, restore):
        moved = [set(self._placed(place, self._moved)) for place in places]
        changes = [{} for _ in places]
        for c in self._order(sorted(set().union(*moved)), True):
            for place, moves, change in zip(places, moved, changes, strict=True):
                if c not in moves:
                    continue
                f, differs = self._placed(place, lambda: (self._evaluate(*self.bounds[c], restore),
                                                          self.suffix.signatures_differ_from(self.base[c][1])))
                if differs:
                    self._to_front(c)
                    return [(float("nan"), KINKED)] * len(places)
                change[c] = f - self.base[c][0]
        return [(self.f0 + _in_order(change), self.signature0) for change in changes]

    @staticmethod
    def _placed(place, fn):
        place(True)
        try:
            return fn()
        finally:
            place(False)

    def _to_front(self, c):
        self._kinked_first.remove(c)
        self._kinked_first.insert(0, c)


def _close(a, b):
    scale = max(float(np.abs(a).max(initial=0.0)), float(np.abs(b).max(initial=0.0)))
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= tolerance("float64", "sub_batch").rtol * scale))


def _independent(suffix, y, size):
    """Replacing the last sample by one that copies no other changes no other row (bit for bit), and its row
    is the one its chunk gives evaluated alone (a runtime check, see the module docstring)."""
    source, n = suffix.source.copy(), len(suffix.source)
    ripple = np.cos(np.arange(source[0].size)).reshape(source[0].shape)  # deterministic, no two entries equal
    source[-1] = 1.37 * source[0] + 1e-3 * max(1.0, float(np.abs(source[0]).max(initial=0.0))) * ripple
    if (source[:-1] == source[-1]).reshape(n - 1, -1).all(axis=1).any():
        return False
    start = (n - 1) // size * size
    whole = _evaluate(suffix, source, suffix.dout)
    alone = _evaluate(suffix, source[start:].copy(), suffix.dout[start:])
    if whole is None or alone is None or np.shape(whole[0]) != y.shape:
        return False
    return np.array_equal(whole[0][:-1], y[:-1]) and _close(whole[0][-1], alone[0][-1])


def _evaluate(suffix, h, dout):
    """(output, f) of the suffix on ``h`` (RNGs restored), or None if it refuses it (a smaller batch, say)."""
    try:
        return suffix.evaluate(h, dout, False)[:2]
    except Exception:  # the suffix's own layers: any error means "not this way", the whole batch is evaluated
        return None


def _in_order(changes):
    """The sum of {chunk: f_c - f_c0} in chunk order, whatever order the chunks were evaluated in (f bit for bit)."""
    total = 0.0
    for c in sorted(changes):
        total += changes[c]
    return total


def _flat(chunk_signatures):
    """One signature from per-chunk, per-layer lists (the chunks in order)."""
    return [a for chunk in chunk_signatures for layer in chunk for a in layer]


def chunked(suffix, f0, y, size=None):
    """``suffix`` in chunks of ``size`` (default CHUNK) samples where they check out the same function, else ``suffix``.

    ``y``: the suffix's output on its whole unperturbed input (whose value was ``f0``).
    """
    size, n = size or CHUNK, len(suffix.source)
    if n < 2 * size or suffix.elements < MIN_ELEMENTS or np.shape(y)[:1] != (n,) or not _independent(suffix, y, size):
        return suffix
    base = _bases(suffix, y, size)
    if base is None:
        return suffix
    block = BLOCK // size * size
    blocks = _bases(suffix, y, block) if block > size else None
    return ChunkedSuffix(suffix, f0, size, base, None if blocks is None else (block, blocks))


def _bases(suffix, y, size):
    """[(f, signatures)] of each slice of ``size`` samples of the unperturbed input, or None unless every
    slice evaluated alone gives its rows of ``y``."""
    base = []
    for a in range(0, len(suffix.source), size):
        piece = _evaluate(suffix, suffix.source[a:a + size].copy(), suffix.dout[a:a + size])
        if piece is None or not _close(piece[0], y[a:a + size]):
            return None
        base.append((piece[1], suffix.signatures()))
    return base
