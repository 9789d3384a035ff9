"""NumPy's and Python's global RNG states, put back before every evaluation of the gradient checker.

``np.random.set_state`` costs ~35 us (the Mersenne Twister's 624 words go through a Python-level loop): on
small nets, with several evaluations per probe, it was a quarter of the checker's CPU. Where NumPy's global
generator is the legacy MT19937 and the snapshot holds no cached Gaussian (the usual case), its state is put
back instead by dropping a cached Gaussian and copying the 2,500 bytes of the generator's C state
(``MT19937.ctypes.state_address``: ``uint32 key[624]; int pos``, a layout checked against ``get_state`` when
the snapshot is taken), ~3 us. Either way the state afterwards is the snapshot's: the same key and position,
no cached Gaussian; anything else (a Gaussian cached in the snapshot, another bit generator, another layout)
takes ``set_state``.
"""
import ctypes
import random

import numpy as np

MT_BYTES = 625 * 4  # mt19937_state: uint32_t key[624]; int pos
_gaussian = np.random.standard_normal  # the global RandomState's own (a user's monkeypatch of np.random is not called)


class RngSnapshot:
    """The global RNGs' states now; ``restore()`` puts both back (see the module docstring)."""

    def __init__(self):
        self.numpy, self.python = np.random.get_state(), random.getstate()
        self.bit_generator = np.random.get_bit_generator()
        self.address = _copyable_address(self.bit_generator, self.numpy)
        self.mt = ctypes.string_at(self.address, MT_BYTES) if self.address is not None else None

    def restore(self):
        if self.address is not None and np.random.get_bit_generator() is self.bit_generator:
            _drop_cached_gaussian(self.address)
            ctypes.memmove(self.address, self.mt, MT_BYTES)
        else:
            np.random.set_state(self.numpy)
        random.setstate(self.python)

    def unchanged(self):
        """Both RNGs are still in this state (nothing drew from them since it was restored)."""
        now = np.random.get_state()
        return (now[0] == self.numpy[0] and now[2:] == self.numpy[2:] and np.array_equal(now[1], self.numpy[1])
                and random.getstate() == self.python)


def _copyable_address(bit_generator, state):
    """The address of the MT19937 C state that a byte copy restores to ``state``, or None where one would not:
    a Gaussian cached (kept outside the bit generator), another bit generator, or a layout other than expected."""
    _, key, pos, has_gauss, gauss = state
    if type(bit_generator) is not np.random.MT19937 or has_gauss or gauss != 0.0:
        return None
    address = bit_generator.ctypes.state_address
    raw = np.frombuffer(ctypes.string_at(address, MT_BYTES), dtype=np.uint32)
    return address if np.array_equal(raw[:624], key) and int(raw[624]) == pos else None


def _drop_cached_gaussian(address):
    """Leave NumPy's legacy generator without a cached Gaussian: a draw consumes a cached one without moving
    the Mersenne Twister, or else moves it and caches one, which a second draw consumes (the key and position
    are overwritten next)."""
    before = ctypes.string_at(address, MT_BYTES)
    _gaussian()
    if ctypes.string_at(address, MT_BYTES) != before:
        _gaussian()
