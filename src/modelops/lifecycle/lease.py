"""The cycle lease: one retraining cycle per model at a time, across processes and machines.

A lease is an event in the model's registry history, claimed with the registry store's
exclusive append (``RegistryStore.append_event`` refuses a second event with the same
sequence number, on every backend: a hard link on local disk, a conditional PUT on S3, a
unique key in a database). So the lock needs nothing the store does not already promise, and
every cycle is in the audit trail next to the promotions it caused::

    #7  cycle_started   payload: cycle, holder, expires_at, triggers
    #8  refused         (the promotion rule said no)
    #9  cycle_finished  payload: cycle, outcome, version, reason

Taking the lease is a compare-and-swap on the history: the ``cycle_started`` event is
appended at exactly one past the last event read, and only if what was read shows no live
lease and no cycle started since the caller decided to retrain. If anything was appended in
between, the append fails and the check is made again on the fresh history. A lease expires
at ``expires_at`` (the holder's clock), so a holder that crashed blocks no one for longer
than its lease.
"""

from __future__ import annotations

import os
import socket
import threading
import weakref
from collections.abc import Callable
from typing import Any

import attrs

from modelops.entities.registry import RegistryEvent, check_payload
from modelops.errors import Conflict

STARTED = "cycle_started"
FINISHED = "cycle_finished"
_MAX_ATTEMPTS = 1000


def holder_name() -> str:
    """Who holds a lease: ``host:pid``, plus the thread when it is not the main one."""
    name = f"{socket.gethostname()}:{os.getpid()}"
    thread = threading.current_thread()
    if thread is not threading.main_thread():
        name += f":{thread.name}"
    return name


@attrs.frozen(kw_only=True)
class CycleRecord:
    """One cycle as the history tells it."""

    cycle: str
    seq: int                      # the seq of its cycle_started event
    holder: str
    started_at: int               # Unix ms
    expires_at: int
    triggers: tuple[str, ...] = ()
    finished_at: int | None = None
    outcome: str | None = None    # promoted | registered | refused | failed
    version: str | None = None
    reason: str | None = None

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    def live(self, now: int) -> bool:
        """Still holding the lease: not finished and not expired."""
        return not self.finished and now < self.expires_at


@attrs.define
class CycleLog:
    """The cycles of one model, folded from its history up to event ``seq``."""

    seq: int = 0
    cycles: dict[str, CycleRecord] = attrs.field(factory=dict)
    latest: str | None = None     # the cycle of the newest cycle_started event

    def apply(self, event: RegistryEvent) -> None:
        payload = event.payload
        try:
            check_payload(event)
        except ValueError:
            self.seq = event.seq  # the registry's fold reports it
            return
        if event.action == STARTED:
            record = CycleRecord(cycle=payload["cycle"], seq=event.seq,
                                 holder=payload.get("holder", event.actor),
                                 started_at=event.timestamp,
                                 expires_at=int(payload["expires_at"]),
                                 triggers=tuple(payload.get("triggers", ())))
            self.cycles[record.cycle] = record
            self.latest = record.cycle
        elif event.action == FINISHED:
            record = self.cycles.get(payload.get("cycle"))
            if record is not None:
                self.cycles[record.cycle] = attrs.evolve(
                    record, finished_at=event.timestamp, outcome=payload.get("outcome"),
                    version=payload.get("version"), reason=event.reason)
        self.seq = event.seq

    @property
    def current(self) -> CycleRecord | None:
        """The newest cycle started, finished or not."""
        return None if self.latest is None else self.cycles[self.latest]

    def live(self, now: int) -> CycleRecord | None:
        """The cycle holding the lease at ``now``, if any."""
        current = self.current
        return current if current is not None and current.live(now) else None

    def last_trained(self) -> CycleRecord | None:
        """The newest cycle that finished having registered a version (the cooldown counts
        from it; failed and crashed cycles do not count)."""
        done = [c for c in self.cycles.values() if c.finished and c.version is not None]
        return max(done, key=lambda c: c.seq, default=None)


# One folded log per (registry store, model), brought up to date on each read.
_logs: weakref.WeakKeyDictionary[Any, dict[str, CycleLog]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def read_cycles(store: Any, model: str) -> CycleLog:
    """The model's cycle log, up to the newest event in ``store`` (a ``RegistryStore``)."""
    with _lock:
        try:
            per_model = _logs.setdefault(store, {})
        except TypeError:                      # a store that cannot be weakly referenced
            per_model = {}
        log = per_model.setdefault(model, CycleLog())
        for event in store.list_events(model, after_seq=log.seq):
            log.apply(event)
        return attrs.evolve(log, cycles=dict(log.cycles))


@attrs.frozen(kw_only=True)
class Lease:
    """A held cycle lease (``cycle_started`` event number ``seq``)."""

    model: str
    cycle: str
    seq: int
    holder: str
    expires_at: int


def acquire(store: Any, model: str, *, cycle: str, ttl_ms: int, observed_seq: int,
            now: Callable[[], int], actor: str, reason: str,
            triggers: tuple[str, ...]) -> Lease | CycleRecord:
    """Take the model's cycle lease, or return the cycle that stands in the way.

    Refused (the blocking ``CycleRecord`` is returned) when a cycle holds a live lease, or
    when a cycle started after event ``observed_seq`` — the history the caller's decision
    was made on — even if it has finished since: that cycle already acted on the same
    signal.
    """
    holder = holder_name()
    for _ in range(_MAX_ATTEMPTS):
        log = read_cycles(store, model)
        at = now()
        live = log.live(at)
        if live is not None:
            return live
        current = log.current
        if current is not None and current.seq > observed_seq:
            return current
        expires = at + ttl_ms
        payload: dict[str, Any] = {"cycle": cycle, "holder": holder, "expires_at": expires,
                                   "triggers": list(triggers)}
        if current is not None and not current.finished:
            payload["took_over"] = current.cycle   # its lease expired: a crashed holder
        event = RegistryEvent(model=model, seq=log.seq + 1, action=STARTED, actor=actor,
                              timestamp=at, reason=reason, payload=payload)
        try:
            store.append_event(event)
        except Conflict:
            continue                               # someone appended first: look again
        return Lease(model=model, cycle=cycle, seq=event.seq, holder=holder,
                     expires_at=expires)
    raise Conflict(f"could not take the cycle lease of {model!r}: too much contention")


def still_held(store: Any, lease: Lease, now: int) -> None:
    """``Conflict`` unless ``lease`` is still the model's live lease (checked before each
    write a cycle makes, so a holder whose lease ran out and was taken over stops)."""
    log = read_cycles(store, lease.model)
    current = log.current
    if current is None or current.cycle != lease.cycle or not current.live(now):
        raise Conflict(f"the cycle lease of {lease.model!r} ({lease.cycle}) expired and "
                       "was taken over; nothing more is written by this cycle (pass a longer "
                       "lease= to run_cycle)")


def is_current(store: Any, lease: Lease) -> bool:
    """True while ``lease``'s cycle is the model's newest and unfinished (expired or not)."""
    current = read_cycles(store, lease.model).current
    return current is not None and current.cycle == lease.cycle and not current.finished


def release(store: Any, lease: Lease, *, outcome: str, version: str | None, reason: str,
            now: Callable[[], int], actor: str) -> None:
    """Record the end of a cycle (``cycle_finished``), which frees the lease."""
    for _ in range(_MAX_ATTEMPTS):
        log = read_cycles(store, lease.model)
        event = RegistryEvent(model=lease.model, seq=log.seq + 1, action=FINISHED, actor=actor,
                              timestamp=now(), reason=reason,
                              payload={"cycle": lease.cycle, "outcome": outcome,
                                       "version": version})
        try:
            store.append_event(event)
            return
        except Conflict:
            continue
    raise Conflict(f"could not record the end of cycle {lease.cycle} of {lease.model!r}: "
                   "too much contention")
