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
_COUNTER_DIGITS = [f"{c:03x}" for c in range(0x1000)]
_last_ms = 0
_counter = 0
# Seeded from the OS once per process (and again after fork, so parent and child differ):
# ids need uniqueness, not secrecy, and urandom per id costs a system call.
_random = random.Random(os.urandom(16))


def new_id() -> str:
    """A new time-ordered id (32 hex digits, UUIDv7 layout)."""
    return new_ids(1)[0]


def new_ids(n: int) -> list[str]:
    """``n`` new time-ordered ids, in the order they were made (one hold of the lock)."""
    global _last_ms, _counter
    runs = []   # (millisecond, first counter, count): ids that differ only by their counter
    with _lock:
        now = time.time_ns() // 1_000_000
        if now > _last_ms:
            _last_ms, _counter = now, -1
        # Same (or a backwards-stepping) clock tick: keep order with the 12-bit counter,
        # stepping to the next millisecond when it runs out.
        while n:
            if _counter >= 0xFFF:
                _last_ms, _counter = _last_ms + 1, -1
            count = min(n, 0xFFF - _counter)
            runs.append((_last_ms, _counter + 1, count))
            _counter += count
            n -= count
    # One draw for the lot: ids made together already differ by their time and counter; the
    # random bits tell them from other processes' ids of the same millisecond and counter.
    # Digits: 12 of milliseconds, the version (7), 3 of counter, 16 of variant and randomness.
    tail = f"{0b10 << 62 | _random.getrandbits(62):016x}"
    ids = []
    for ms, first, count in runs:
        head = f"{ms & 0xFFFFFFFFFFFF:012x}7"
        ids.extend([head + digits + tail for digits in _COUNTER_DIGITS[first:first + count]])
    return ids


def now_ms() -> int:
    """The current time in Unix milliseconds."""
    return time.time_ns() // 1_000_000


def _reset_after_fork() -> None:
    global _lock
    _lock = threading.Lock()
    _random.seed(os.urandom(16))


os.register_at_fork(after_in_child=_reset_after_fork)
