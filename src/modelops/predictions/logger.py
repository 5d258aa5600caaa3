"""PredictionLogger: logging predictions from a serving path at almost no cost.

``log()`` turns the record into one JSON line on the calling thread (a few microseconds) and
appends it to an in-memory buffer; a background thread writes the buffer as parts of the
store. Serialising on the caller keeps the writer's hold on the GIL to a few joins per batch,
so callers are not stalled behind it. The buffer is written when it holds ``batch_size``
records, every ``flush_every`` seconds, on ``flush()``, on ``close()`` and at interpreter
exit.

When storage fails, the records stay buffered and the write is retried with backoff. The
buffer is bounded by ``max_buffer``: past it, ``drop_policy`` decides — ``"oldest"``
(default) drops the oldest record, ``"newest"`` refuses the new one, ``"block"`` makes
``log()`` wait for room. Every drop is counted in ``stats`` and reported with a warning;
nothing is lost silently. After ``fork`` the child starts with an empty buffer (the parent
writes what it had buffered) and a writer of its own.
"""

from __future__ import annotations

import atexit
import collections
import datetime as dt
import json
import math
import os
import threading
import time
import warnings
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from modelops._ids import new_id, now_ms
from modelops._time import utc_day
from modelops.entities.plain import finite_or_none
from modelops.entities.predictions import LoggerStats
from modelops.entities.validators import check_int, check_name
from modelops.errors import InvalidInput
from modelops.stores import PredictionStore

DROP_POLICIES = ("oldest", "newest", "block")
_DAY_MS = 86_400_000


def _default(value: Any) -> Any:
    # numpy scalars and arrays, dates: the values models and frames hand us.
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


# One C encoder for every record: json.dumps with options builds a new one per call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False, default=_default)
_SAFE_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False,
                                 default=lambda v: finite_or_none(_default(v)))


def encode(record: Any, field: str = "record") -> str:
    """A value as strict JSON (NaN and ±inf as null)."""
    try:
        return _ENCODER.encode(record)
    except ValueError:
        return _SAFE_ENCODER.encode(finite_or_none(record))
    except TypeError as exc:
        raise InvalidInput(f"cannot be stored as JSON: {exc}", field=field) from None


def _number(value: Any, field: str) -> str:
    if value is None:
        return "null"
    if value.__class__ is float:
        return repr(value) if value == value and value not in (math.inf, -math.inf) else "null"
    if isinstance(value, bool) or (not isinstance(value, (int, float)) and \
            not hasattr(value, "__float__")):
        raise InvalidInput(f"expected a number, got {value!r}", field=field)
    return _number(float(value), field)


class _Day:
    """UTC day strings for millisecond timestamps, cached for the current day."""

    __slots__ = ("end", "name", "start")

    def __init__(self) -> None:
        self.start = self.end = 0
        self.name = ""

    def of(self, ms: int) -> str:
        if self.start <= ms < self.end:
            return self.name
        start = ms - ms % _DAY_MS
        name = utc_day(start)
        if ms >= self.start:  # keep caching the newest day
            self.start, self.end, self.name = start, start + _DAY_MS, name
        return name


class PredictionLogger:
    """Logs predictions and feedback of one model to a PredictionStore. Thread-safe."""

    def __init__(self, store: PredictionStore, model: str, version: str | None = None, *,
                 flush_every: float = 1.0, max_buffer: int = 200_000,
                 batch_size: int = 20_000, drop_policy: str = "oldest",
                 max_retry_delay: float = 5.0) -> None:
        check_name(model, "model")
        if version is not None and not isinstance(version, str):
            raise InvalidInput(f"expected a string, got {version!r}", field="version")
        if drop_policy not in DROP_POLICIES:
            raise InvalidInput(f"expected one of {', '.join(DROP_POLICIES)}, got "
                               f"{drop_policy!r}", field="drop_policy")
        for field, value in (("flush_every", flush_every), ("max_retry_delay", max_retry_delay)):
            if not isinstance(value, (int, float)) or not value > 0:
                raise InvalidInput(f"expected a positive number of seconds, got {value!r}",
                                   field=field)
        for field, value in (("max_buffer", max_buffer), ("batch_size", batch_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidInput(f"expected a positive integer, got {value!r}", field=field)
        self.store = store
        self.model = model
        self.version = version
        self.flush_every = float(flush_every)
        self.max_buffer = max_buffer
        self.batch_size = min(batch_size, max_buffer)
        self.drop_policy = drop_policy
        self.max_retry_delay = float(max_retry_delay)
        self._version_json = encode(version)
        self._init_state()
        _live.add(self)

    def _init_state(self) -> None:
        self._buffer: collections.deque[tuple[str, str, str]] = collections.deque()
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)      # a blocked log() waits here
        self._idle = threading.Condition(self._lock)      # flush() waits here
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._in_flight = 0
        self._closed = False
        self._days = _Day()
        self._logged = self._written = self._dropped = self._retries = 0
        self._last_error: str | None = None
        self._counts = {"predictions": 0, "feedback": 0}
        self._warned_drop = False

    # -- logging --------------------------------------------------------------------------

    def log(self, features: Mapping[str, Any], prediction: Any,
            probability: float | None = None, latency_ms: float | None = None,
            id: str | None = None, timestamp: int | None = None,
            metadata: Mapping[str, Any] | None = None) -> str:
        """Log one prediction; returns its id (generated, time-ordered, unless given)."""
        if not isinstance(features, Mapping):
            raise InvalidInput(f"expected a mapping of feature to value, got "
                               f"{type(features).__name__}", field="features")
        rid = new_id() if id is None else _check_id(id)
        ts = now_ms() if timestamp is None else check_int(timestamp, "timestamp")
        if metadata is not None and not isinstance(metadata, Mapping):
            raise InvalidInput(f"expected a mapping, got {type(metadata).__name__}",
                               field="metadata")
        # The fixed fields are formatted directly; only values of any type go through JSON.
        line = (f'{{"id":{self._quote(rid)},"ts":{ts},"version":{self._version_json},'
                f'"prediction":{encode(prediction, "prediction")},'
                f'"probability":{_number(probability, "probability")},'
                f'"latency_ms":{_number(latency_ms, "latency_ms")},'
                f'"features":{encode(features, "features")},'
                f'"metadata":{"null" if metadata is None else encode(metadata, "metadata")}}}')
        self._push("predictions", self._days.of(ts), line)
        return rid

    @staticmethod
    def _quote(rid: str) -> str:
        # Generated ids are hex digits: nothing to escape.
        return f'"{rid}"' if rid.isalnum() else encode(rid)

    def log_batch(self, features: Any, predictions: Sequence[Any],
                  probabilities: Sequence[float] | None = None,
                  latency_ms: Sequence[float] | None = None, ids: Sequence[str] | None = None,
                  timestamps: Sequence[int] | None = None,
                  metadata: Sequence[Mapping[str, Any] | None] | None = None) -> list[str]:
        """Log many predictions: a frame of features and one value per row elsewhere."""
        from modelops.frames import to_columns

        columns = to_columns(features)
        n = len(predictions)
        for name, values in columns.items():
            if len(values) != n:
                raise InvalidInput(f"has {len(values)} rows for {n} predictions",
                                   field=f"features[{name!r}]")
        for field, values in (("probabilities", probabilities), ("latency_ms", latency_ms),
                              ("ids", ids), ("timestamps", timestamps), ("metadata", metadata)):
            if values is not None and len(values) != n:
                raise InvalidInput(f"has {len(values)} values for {n} predictions", field=field)
        names = list(columns)
        rows = zip(*(columns[k].tolist() for k in names)) if names else ([()] * n)
        out = []
        preds = _tolist(predictions)
        probs, lats = _tolist(probabilities), _tolist(latency_ms)
        stamps = _tolist(timestamps)
        for i, row in enumerate(rows):
            out.append(self.log(
                dict(zip(names, row)), preds[i],
                probability=None if probs is None else probs[i],
                latency_ms=None if lats is None else lats[i],
                id=None if ids is None else ids[i],
                timestamp=None if stamps is None else stamps[i],
                metadata=None if metadata is None else metadata[i]))
        return out

    def feedback(self, id: str, actual: Any, timestamp: int | None = None) -> None:
        """Record the ground truth for a logged prediction (the latest feedback wins)."""
        rid = _check_id(id)
        ts = now_ms() if timestamp is None else check_int(timestamp, "timestamp")
        self._push("feedback", self._days.of(ts),
                   encode({"id": rid, "ts": ts, "actual": actual}))

    def feedback_batch(self, ids: Sequence[str], actuals: Sequence[Any],
                       timestamps: Sequence[int] | None = None) -> None:
        if len(ids) != len(actuals) or (timestamps is not None and len(timestamps) != len(ids)):
            raise InvalidInput("ids, actuals and timestamps differ in length", field="actuals")
        stamps = _tolist(timestamps)
        for i, (rid, actual) in enumerate(zip(_tolist(ids), _tolist(actuals))):
            self.feedback(rid, actual, None if stamps is None else stamps[i])

    def _push(self, kind: str, day: str, line: str) -> None:
        with self._lock:
            if self._closed:
                from modelops.errors import Conflict

                raise Conflict(f"the prediction logger of {self.model!r} is closed")
            if len(self._buffer) >= self.max_buffer:
                if self.drop_policy == "block":
                    self._start()
                    self._wake.set()
                    while len(self._buffer) >= self.max_buffer and not self._closed:
                        self._room.wait(0.1)
                elif self.drop_policy == "newest":
                    self._drop(1, line=True)
                    return
                else:
                    self._buffer.popleft()
                    self._drop(1)
            self._buffer.append((kind, day, line))
            self._logged += 1
            self._counts[kind] += 1
            full = len(self._buffer) >= self.batch_size
            if self._thread is None:
                self._start()
        if full:
            self._wake.set()

    def _drop(self, n: int, line: bool = False) -> None:
        self._dropped += n
        if not self._warned_drop:
            self._warned_drop = True
            what = "new records" if line else "the oldest records"
            warnings.warn(f"modelops: the prediction buffer of {self.model!r} is full "
                          f"({self.max_buffer} records; last store error: {self._last_error}); "
                          f"dropping {what} (drop_policy={self.drop_policy!r}); see "
                          "logger.stats.dropped", RuntimeWarning, stacklevel=4)

    # -- writing --------------------------------------------------------------------------

    def _start(self) -> None:
        # Called with the lock held.
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, daemon=True,
                                            name=f"modelops-predictions-{self.model}")
            self._thread.start()

    def _run(self) -> None:
        delay = 0.0
        while True:
            self._wake.wait(timeout=delay or self.flush_every)
            self._wake.clear()
            ok = self._write_some()
            delay = 0.0 if ok else min(self.max_retry_delay, max(0.05, delay * 2 or 0.1))
            with self._lock:
                if self._closed and (not self._buffer or not ok):
                    self._thread = None
                    self._idle.notify_all()
                    return

    def _write_some(self) -> bool:
        """Write everything buffered, batch by batch; False when the store failed."""
        while True:
            with self._lock:
                n = min(len(self._buffer), self.batch_size)
                if n == 0:
                    self._idle.notify_all()
                    return True
                batch = [self._buffer.popleft() for _ in range(n)]
                self._in_flight = n
                self._room.notify_all()
            groups: dict[tuple[str, str], list[str]] = {}
            for kind, day, line in batch:
                groups.setdefault((kind, day), []).append(line)
            done: set[tuple[str, str]] = set()
            try:
                for (kind, day), lines in groups.items():
                    self.store.write_part(self.model, kind, day,
                                          ("\n".join(lines) + "\n").encode())
                    done.add((kind, day))
                    with self._lock:
                        self._written += len(lines)
                    _announce(self, kind, lines)
            except Exception as exc:
                with self._lock:
                    self._retries += 1
                    self._last_error = f"{type(exc).__name__}: {exc}"
                    # Put back what was not written, in order, ahead of newer records.
                    rest = [e for e in batch if (e[0], e[1]) not in done]
                    self._buffer.extendleft(reversed(rest))
                    overflow = len(self._buffer) - self.max_buffer
                    if overflow > 0 and self.drop_policy != "block":
                        for _ in range(overflow):
                            self._buffer.popleft()
                        self._drop(overflow)
                    self._in_flight = 0
                    self._idle.notify_all()
                return False
            finally:
                with self._lock:
                    self._in_flight = 0

    def flush(self, timeout: float | None = None) -> bool:
        """Write everything logged so far; True once it is stored. False if ``timeout``
        (seconds) passed first, e.g. while the store is failing (the records stay
        buffered and are retried)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            if self._thread is None and self._buffer:
                self._start()
            while self._buffer or self._in_flight:
                self._wake.set()
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._idle.wait(0.05 if left is None else min(0.05, left))
            return True

    def close(self, timeout: float | None = None) -> bool:
        """Flush and stop the writer; later log() calls raise ``Conflict``."""
        flushed = self.flush(timeout)
        with self._lock:
            self._closed = True
            self._room.notify_all()
        self._wake.set()
        _live.discard(self)
        return flushed

    @property
    def stats(self) -> LoggerStats:
        """Counts of what this logger accepted, wrote and dropped."""
        with self._lock:
            return LoggerStats(logged=self._logged, written=self._written,
                               dropped=self._dropped, pending=len(self._buffer) + self._in_flight,
                               retries=self._retries, last_error=self._last_error,
                               counts=dict(self._counts))

    def __enter__(self) -> PredictionLogger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<PredictionLogger {self.model!r} version={self.version!r}>"

    def _after_fork_in_child(self) -> None:
        # The buffered records belong to the parent, which writes them.
        self._init_state()


def _announce(logger: PredictionLogger, kind: str, lines: list[str]) -> None:
    """Fire ``modelops_predictions_written`` for a stored part (a no-op without listeners;
    a failing listener is reported by ``emit``, never retried as a failed write)."""
    from modelops import plugins

    if plugins.plugin_manager().hook.modelops_predictions_written.get_hookimpls():
        plugins.emit("modelops_predictions_written", model=logger.model,
                     version=logger.version, kind=kind, records=lines,
                     store_uri=getattr(logger.store, "uri", ""))


def _check_id(value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > 200 or "\n" in value:
        raise InvalidInput(f"expected a non-empty string of at most 200 characters, got "
                           f"{value!r}", field="id")
    return value


def _tolist(values: Any) -> Any:
    if values is None:
        return None
    return values.tolist() if hasattr(values, "tolist") else list(values)


_live: weakref.WeakSet[PredictionLogger] = weakref.WeakSet()


@atexit.register
def _flush_at_exit() -> None:
    timeout = float(os.environ.get("MODELOPS_EXIT_FLUSH_TIMEOUT", "10"))
    for logger in list(_live):
        if not logger.flush(timeout):
            stats = logger.stats
            warnings.warn(f"modelops: {stats.pending} predictions of {logger.model!r} could "
                          f"not be written at exit ({stats.last_error})", RuntimeWarning,
                          stacklevel=1)


def _after_fork() -> None:
    for logger in list(_live):
        logger._after_fork_in_child()


os.register_at_fork(after_in_child=_after_fork)
