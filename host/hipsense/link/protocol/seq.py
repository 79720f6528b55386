"""Sequence numbers modulo 2**30 and their unwrapping (serial-number arithmetic)."""

from __future__ import annotations

SEQ_MODULUS = 1 << 30
SEQ_MASK = SEQ_MODULUS - 1
_HALF = SEQ_MODULUS // 2


def seq_delta(new: int, last: int) -> int:
    """Signed distance from ``last`` to ``new`` (both mod 2**30), in ``[-2**29, 2**29)``."""
    d = (new - last) & SEQ_MASK
    return d if d < _HALF else d - SEQ_MODULUS


class SeqUnwrapper:
    """Turns wrapped sequence numbers into a monotonic absolute count.

    ``unwrap`` returns the absolute sequence number. A step forward (less than 2**29 ahead of
    the newest seen) advances the newest; an older value (a duplicate or a resent sample)
    returns its absolute value below the newest without moving it (it can be negative when
    it is older than the first value seen).
    """

    def __init__(self) -> None:
        self._newest: int | None = None

    @property
    def newest(self) -> int | None:
        """The largest absolute sequence number returned so far (None before the first)."""
        return self._newest

    def unwrap(self, seq_mod: int) -> int:
        if not 0 <= seq_mod < SEQ_MODULUS:
            raise ValueError(f"sequence number {seq_mod} outside 0 .. 2**30 - 1")
        if self._newest is None:
            self._newest = seq_mod
            return seq_mod
        absolute = self._newest + seq_delta(seq_mod, self._newest & SEQ_MASK)
        self._newest = max(absolute, self._newest)
        return absolute

    def reset(self) -> None:
        """Forget the history (the board rebooted: a new ``boot_id``)."""
        self._newest = None
