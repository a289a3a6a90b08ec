"""A time-ordered UUID version 7 (RFC 9562, section 5.7): Python 3.9-3.13 have none.

48 bits of Unix time in milliseconds, the version (7), 12 bits that count up within one
millisecond (so that ids made by this process sort in the order they were made, RFC 9562
section 6.2 method 1), the variant (0b10) and 62 random bits.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def uuid7(unix_ms: int | None = None) -> uuid.UUID:
    """Return a new UUIDv7. ``unix_ms`` fixes the timestamp (then the counter is random and the
    process's ordering is not kept)."""
    global _last_ms, _counter
    rand = int.from_bytes(os.urandom(10), "big")
    if unix_ms is not None:
        return _build(unix_ms, (rand >> 64) & 0xFFF, rand)
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            # Same (or an earlier, clock stepped back) millisecond: count up from the last id.
            ms = _last_ms
            _counter += 1
            if _counter > 0xFFF:
                ms += 1
                _counter = (rand >> 64) & 0x3FF
        else:
            # A fresh millisecond starts the counter at a random point in its lower half.
            _counter = (rand >> 64) & 0x7FF
        _last_ms = ms
        counter = _counter
    return _build(ms, counter, rand)


def _build(ms: int, counter: int, rand: int) -> uuid.UUID:
    value = (ms & 0xFFFF_FFFF_FFFF) << 80
    value |= 0x7 << 76
    value |= counter << 64
    value |= 0b10 << 62
    value |= rand & 0x3FFF_FFFF_FFFF_FFFF
    return uuid.UUID(int=value)


def uuid7_str() -> str:
    return str(uuid7())
