"""Flushing live runs in the background and at interpreter exit.

One daemon thread per process wakes every ``MODELOPS_FLUSH_INTERVAL`` seconds (default 2) and
flushes every live run, so a crash loses at most that much. A run's logging calls hand it the
GIL when it is late (``modelops._pacing``): beside a training loop that lets go of the GIL
only for moments, it could otherwise wait for as long as the loop ran. At exit, live runs are
flushed and ended: FAILED if the interpreter is exiting on an uncaught exception, else
FINISHED.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import warnings
import weakref
from typing import Any, Protocol

from modelops._pacing import Pace


class ActiveRun(Protocol):
    """What the flusher needs of a live run (``modelops.tracking.ActiveRun`` is one)."""

    depth: int

    @property
    def run_id(self) -> str: ...

    def flush(self) -> None: ...

    def end(self, status: Any) -> None: ...

    def _forget_after_fork(self) -> None: ...

ENV_INTERVAL = "MODELOPS_FLUSH_INTERVAL"
DEFAULT_INTERVAL = 2.0


def flush_interval() -> float:
    try:
        return max(0.05, float(os.environ.get(ENV_INTERVAL, DEFAULT_INTERVAL)))
    except ValueError:
        return DEFAULT_INTERVAL


class _Flusher:
    def __init__(self) -> None:
        self.runs: weakref.WeakSet[ActiveRun] = weakref.WeakSet()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.stop = threading.Event()
        self.pace = Pace()

    def add(self, run: ActiveRun) -> None:
        with self.lock:
            self.runs.add(run)
            if self.thread is None or not self.thread.is_alive():
                self.stop.clear()
                self.thread = threading.Thread(target=self._loop, name="modelops-flusher",
                                               daemon=True)
                self.thread.start()

    def discard(self, run: ActiveRun) -> None:
        with self.lock:
            self.runs.discard(run)

    def live(self) -> list[ActiveRun]:
        with self.lock:
            return list(self.runs)

    def _loop(self) -> None:
        interval = flush_interval()
        while not self.pace.wait(self.stop, interval):
            for run in self.live():
                try:
                    run.flush()
                except Exception as exc:  # kept in the buffer; retried next tick
                    warnings.warn(f"modelops could not flush run {run.run_id}: {exc!r}",
                                  stacklevel=1)


_flusher = _Flusher()


def register(run: ActiveRun) -> None:
    _flusher.add(run)


def unregister(run: ActiveRun) -> None:
    _flusher.discard(run)


def live_runs() -> list[ActiveRun]:
    return _flusher.live()


def nudge() -> None:
    """Called after buffering: hand the flusher the GIL if it is late."""
    _flusher.pace.nudge()


@atexit.register
def _at_exit() -> None:
    _flusher.stop.set()
    from modelops.entities import RunStatus

    failed = getattr(sys, "last_value", None) is not None
    # Children first, so a parent ends after its nested runs.
    for run in sorted(_flusher.live(), key=lambda r: r.depth, reverse=True):
        try:
            run.end(RunStatus.FAILED if failed else RunStatus.FINISHED)
        except Exception as exc:
            warnings.warn(f"modelops could not end run {run.run_id} at exit: {exc!r}",
                          stacklevel=1)


def _after_fork_in_child() -> None:
    # The thread did not survive the fork, and the buffered data belongs to the parent,
    # which will flush it; the child must not write it a second time.
    global _flusher
    old = _flusher
    _flusher = _Flusher()
    for run in list(old.runs):
        run._forget_after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)
