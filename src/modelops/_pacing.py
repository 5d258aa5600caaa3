"""Keeping a background thread on its schedule beside a busy caller.

CPython hands the GIL to a waiting thread when the holder lets go of it, or asks the holder
to let go after 5 ms in which no switch at all happened. A caller that lets go of the GIL for
moments, many times a millisecond — a scikit-learn model called with a DataFrame, a saturated
event loop — takes it back first every time and resets those 5 ms, so a background thread
due to run (the prediction logger's writer, the tracking flusher, the system metrics'
sampler, the serving deployment's registry poller) could wait for as long as the caller
stayed busy. The thread says when it will be back (``Pace.expect``); a caller that
finds it late hands it the GIL with a short sleep (``Pace.nudge``).
"""

from __future__ import annotations

import math
import threading
import time

#: How late a thread may be before callers nudge it, in seconds.
LATE = 0.05
#: A caller nudges at most once per EVERY seconds, sleeping SLEEP seconds.
EVERY = 0.01
SLEEP = 0.0001


class Pace:
    """When a background thread is due back, and the nudge a caller gives it when it is
    late. Reads and writes are single attribute stores: no lock needed."""

    __slots__ = ("due", "nudged")

    def __init__(self) -> None:
        self.due = math.inf
        self.nudged = 0.0

    def expect(self, seconds: float) -> None:
        """Called by the thread before it waits at most ``seconds``."""
        self.due = time.monotonic() + seconds + LATE

    def stop(self) -> None:
        """Called by the thread when it ends: nothing is due any more."""
        self.due = math.inf

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        """The thread's wait for its next turn: ``stop.wait(seconds)``, due back after it.
        True when ``stop`` is set, and then nothing is due any more."""
        self.expect(seconds)
        stopped = stop.wait(seconds)
        if stopped:
            self.stop()
        return stopped

    def nudge(self, now: bool = False) -> None:
        """Called by a caller after buffering work for the thread: when the thread is late,
        or ``now`` (it was woken to run at once), hand it the GIL — at most once per
        ``EVERY``."""
        at = time.monotonic()
        if (now or at > self.due) and at - self.nudged > EVERY:
            self.nudged = at
            time.sleep(SLEEP)
