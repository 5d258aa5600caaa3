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
    return new_ids(1)[0]


def new_ids(n: int) -> list[str]:
    """``n`` new time-ordered ids, in the order they were made (one hold of the lock)."""
    global _last_ms, _counter
    stamps = []
    with _lock:
        now = time.time_ns() // 1_000_000
        for _ in range(n):
            if now <= _last_ms:
                # Same (or a backwards-stepping) clock tick: keep order with a counter.
                _counter += 1
                if _counter > 0xFFF:
                    _last_ms += 1
                    _counter = 0
            else:
                _last_ms, _counter = now, 0
            stamps.append((_last_ms & 0xFFFFFFFFFFFF) << 80 | _counter << 64)
    # One draw for the lot: ids made together already differ by their time and counter; the
    # random bits tell them from other processes' ids of the same millisecond and counter.
    tail = 0x7 << 76 | 0b10 << 62 | _random.getrandbits(62)
    return [f"{stamp | tail:032x}" for stamp in stamps]


def now_ms() -> int:
    """The current time in Unix milliseconds."""
    return time.time_ns() // 1_000_000


def _reset_after_fork() -> None:
    global _lock
    _lock = threading.Lock()
    _random.seed(os.urandom(16))


os.register_at_fork(after_in_child=_reset_after_fork)
