"""Time-ordered identifiers.

Ids are UUIDv7-shaped: 48 bits of Unix milliseconds, then randomness, written as 32 lowercase
hex digits. Sorting ids sorts them by creation time, so a store's listing order is time order.
Within one process, ids made in the same millisecond still sort in the order they were made.
"""

from __future__ import annotations

import os
import random
import threading
import time

_lock = threading.Lock()
_last_ms = 0
_counter = 0
# Seeded from the OS once per process (and again after fork, so parent and child differ):
# ids need uniqueness, not secrecy, and urandom per id costs a system call.
_random = random.Random(os.urandom(16))


def new_id() -> str:
    """A new time-ordered id (32 hex digits, UUIDv7 layout)."""
    global _last_ms, _counter
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            # Same (or a backwards-stepping) clock tick: keep order with a counter.
            ms = _last_ms
            _counter += 1
            if _counter > 0xFFF:
                ms += 1
                _counter = 0
        else:
            _counter = 0
        _last_ms = ms
        counter = _counter
    rand = _random.getrandbits(64)
    value = (ms & 0xFFFFFFFFFFFF) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | rand >> 2
    return f"{value:032x}"


def now_ms() -> int:
    """The current time in Unix milliseconds."""
    return time.time_ns() // 1_000_000


def _reset_after_fork() -> None:
    global _lock
    _lock = threading.Lock()
    _random.seed(os.urandom(16))


os.register_at_fork(after_in_child=_reset_after_fork)
