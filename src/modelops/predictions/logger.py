"""PredictionLogger: logging predictions from a serving path at almost no cost.

``log()`` turns the record into one JSON line on the calling thread (a few microseconds) and
appends it to an in-memory buffer; a background thread writes the buffer as parts of the
store. Serialising on the caller keeps the writer's hold on the GIL to a few joins per batch,
so callers are not stalled behind it. The buffer is written when it holds ``batch_size``
records, every ``flush_every`` seconds, on ``flush()``, on ``close()`` and at interpreter
exit. ``log_columns()`` buffers a batch as it came, as columns (``Rows``), and the writer
stores the rows of many calls as one Parquet part (``modelops.predictions.columns``).

A busy caller never keeps the writer from its turn: a logging call that finds the writer
late hands it the GIL (a sleep of 0.1 ms, at most once per 10 ms), so the buffer is written on
schedule even beside a loop that only lets go of the GIL for moments.

When storage fails, the records stay buffered and the write is retried with exponential
backoff (0.1 s doubling up to ``max_retry_delay``); a caller waiting in ``flush()`` waits for
the next try, it never hurries it. The buffer is bounded by ``max_buffer`` records and
``max_buffer_bytes`` bytes: past either, ``drop_policy`` decides — ``"oldest"`` (default)
drops the oldest records, ``"newest"`` refuses the new one, ``"block"`` makes ``log()`` wait
for room. Every drop is counted in ``stats`` and reported with a warning; nothing is lost
silently.

``close()`` waits at most ``close_timeout`` seconds (10 by default) for the buffer to be
written, so a shutting-down server never hangs on a store that is down. What it could not
write is reported with a warning and, by the ``unwritten`` policy, spilled (the default) to a
local file that the next logger of the model on the same store writes first — exactly once
(``modelops.predictions.spill``) — or dropped and counted. After ``fork`` the child starts
with an empty buffer (the parent writes what it had buffered) and a writer of its own.
"""

from __future__ import annotations

import atexit
import collections
import datetime as dt
import itertools
import json
import math
import os
import threading
import time
import warnings
import weakref
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from modelops._ids import new_id, new_ids, now_ms
from modelops._pacing import Pace
from modelops._time import utc_day
from modelops.entities.plain import finite_or_none
from modelops.entities.predictions import LoggerStats
from modelops.entities.validators import (
    check_name,
    check_sequence,
    check_text,
    check_timestamp,
)
from modelops.errors import InvalidInput
from modelops.predictions import columns as _columns
from modelops.predictions import spill as _spill
from modelops.predictions.columns import Rows
from modelops.stores import PredictionStore

DROP_POLICIES = ("oldest", "newest", "block")
UNWRITTEN_POLICIES = ("spill", "drop")
#: The first retry comes this long after a failed write; each next one twice as long.
_FIRST_RETRY = 0.1
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
        try:
            return _ENCODER.encode(record)
        except ValueError:
            return _SAFE_ENCODER.encode(finite_or_none(record))
    except TypeError as exc:
        raise InvalidInput(f"cannot be stored as JSON: {exc}", field=field) from None
    except RecursionError:
        raise InvalidInput("is nested too deeply to be stored as JSON", field=field) from None


try:   # an optional extra (modelops[orjson]): a whole line in one call of C
    from orjson import dumps as _orjson_dumps
except ImportError:   # pragma: no cover - exercised where orjson is not installed
    _orjson_dumps = None


def _numeric(values: Any, kinds: str) -> bool:
    """Whether ``values`` is a 1-D numpy array of one of the dtype ``kinds``."""
    return values.__class__ is np.ndarray and values.ndim == 1 and values.dtype.kind in kinds


def _latency(value: Any) -> float | None:
    """A call's latency as a float; None for none, and for NaN and ±inf (stored as null)."""
    if value is None:
        return None
    text = _number(value, "latency_ms")
    return None if text == "null" else float(text)


def _number(value: Any, field: str) -> str:
    if value is None:
        return "null"
    if value.__class__ is float:
        return repr(value) if value == value and value not in (math.inf, -math.inf) else "null"
    if isinstance(value, bool) or (not isinstance(value, (int, float)) and \
            not hasattr(value, "__float__")):
        raise InvalidInput(f"expected a number, got {value!r}", field=field)
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidInput(f"expected a number that fits a 64-bit float, got {value!r} ({exc})",
                           field=field) from None
    return _number(number, field)


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
                 max_buffer_bytes: int = 64 << 20, batch_size: int = 20_000,
                 drop_policy: str = "oldest", max_retry_delay: float = 5.0,
                 close_timeout: float = 10.0, unwritten: str = "spill",
                 spill_dir: str | os.PathLike[str] | None = None) -> None:
        check_name(model, "model")
        if version is not None:
            check_text(version, "version")
        for field, value, choices in (("drop_policy", drop_policy, DROP_POLICIES),
                                      ("unwritten", unwritten, UNWRITTEN_POLICIES)):
            if not isinstance(value, str) or value not in choices:
                raise InvalidInput(f"expected one of {', '.join(choices)}, got {value!r}",
                                   field=field)
        for field, value in (("flush_every", flush_every), ("max_retry_delay", max_retry_delay),
                             ("close_timeout", close_timeout)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not 0 < value < 1e9:
                raise InvalidInput(f"expected a positive number of seconds, got {value!r}",
                                   field=field)
        for field, value in (("max_buffer", max_buffer), ("batch_size", batch_size),
                             ("max_buffer_bytes", max_buffer_bytes)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidInput(f"expected a positive integer, got {value!r}", field=field)
        if spill_dir is not None and not isinstance(spill_dir, (str, os.PathLike)):
            raise InvalidInput(f"expected a local directory, got {spill_dir!r}",
                               field="spill_dir")
        self.store = store
        self.model = model
        self.version = version
        self.flush_every = float(flush_every)
        self.max_buffer = max_buffer
        self.max_buffer_bytes = max_buffer_bytes
        self.batch_size = min(batch_size, max_buffer)
        self.drop_policy = drop_policy
        self.max_retry_delay = float(max_retry_delay)
        self.close_timeout = float(close_timeout)
        self.unwritten = unwritten
        self.spill_dir = _spill.spill_dir(spill_dir)
        self._version_json = encode(version)
        self._init_state()
        _live.add(self)

    def _init_state(self) -> None:
        # (kind, day, payload): a payload is a JSON line (one record) or Rows (many).
        self._buffer: collections.deque[tuple[str, str, str | Rows]] = collections.deque()
        self._records = 0  # in the buffer (those in flight are counted by _in_flight)
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)      # a blocked log() waits here
        self._idle = threading.Condition(self._lock)      # flush() waits here
        self._wake = threading.Event()
        self._stop = threading.Event()                    # close(): no more waiting
        self._thread: threading.Thread | None = None
        self._in_flight = 0
        self._flushing = 0  # callers waiting in flush(): the writer writes on till it is done
        self._bytes = 0  # of the records buffered and in flight
        self._closed = False
        self._days = _Day()
        self._logged = self._written = self._dropped = self._retries = self._spilled = 0
        self._last_error: str | None = None
        self._counts = {"predictions": 0, "feedback": 0}
        self._names: set[str] = set()   # feature names log_columns has checked
        self._warned_drop = False
        self._pace = Pace()   # when the writer is due back (a late one is handed the GIL)
        self._spills = _spill.pending(self.spill_dir, getattr(self.store, "uri", ""),
                                      self.model)
        if self._spills:
            with self._lock:
                self._start()  # written first, by the writer

    # -- logging --------------------------------------------------------------------------

    def log(self, features: Mapping[str, Any], prediction: Any,
            probability: float | None = None, latency_ms: float | None = None,
            id: str | None = None, timestamp: int | None = None,
            metadata: Mapping[str, Any] | None = None) -> str:
        """Log one prediction; returns its id (generated, time-ordered, unless given)."""
        rid, day, line = self._prediction(features, prediction, probability, latency_ms, id,
                                          timestamp, metadata)
        self._push("predictions", day, line)
        return rid

    def _prediction(self, features: Any, prediction: Any, probability: Any, latency_ms: Any,
                    id: Any, timestamp: Any, metadata: Any) -> tuple[str, str, str]:
        """A prediction's id, day and JSON line, every field checked."""
        if not isinstance(features, Mapping):
            raise InvalidInput(f"expected a mapping of feature to value, got "
                               f"{type(features).__name__}", field="features")
        rid = new_id() if id is None else check_id(id)
        ts = now_ms() if timestamp is None else check_timestamp(timestamp, "timestamp")
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
        return rid, self._days.of(ts), line

    @staticmethod
    def _quote(rid: str) -> str:
        # Generated ids are hex digits: nothing to escape.
        return f'"{rid}"' if rid.isalnum() else encode(rid)

    def log_batch(self, features: Any, predictions: Sequence[Any],
                  probabilities: Sequence[float] | None = None,
                  latency_ms: Sequence[float] | None = None, ids: Sequence[str] | None = None,
                  timestamps: Sequence[int] | None = None,
                  metadata: Sequence[Mapping[str, Any] | None] | None = None) -> list[str]:
        """Log many predictions: a frame of features and one value per row elsewhere. All
        rows are checked before any is logged. Without ids, timestamps, latencies or
        metadata of their own, the rows are logged as ``log_columns`` logs them."""
        from modelops.frames import to_columns

        columns = to_columns(features)
        if ids is None and timestamps is None and latency_ms is None and metadata is None:
            return self.log_columns(columns, predictions, probabilities)
        preds = check_sequence(predictions, "predictions")
        n = len(preds)
        for name, values in columns.items():
            if len(values) != n:
                raise InvalidInput(f"has {len(values)} rows for {n} predictions",
                                   field=f"features[{name!r}]")
        given = {}
        for field, values in (("probabilities", probabilities), ("latency_ms", latency_ms),
                              ("ids", ids), ("timestamps", timestamps), ("metadata", metadata)):
            if values is not None:
                given[field] = check_sequence(values, field)
                if len(given[field]) != n:
                    raise InvalidInput(f"has {len(given[field])} values for {n} predictions",
                                       field=field)
        names = list(columns)
        rows = zip(*(columns[k].tolist() for k in names)) if names else ([()] * n)
        lines = []
        for i, row in enumerate(rows):
            lines.append(self._prediction(
                dict(zip(names, row)), preds[i],
                *(given[f][i] if f in given else None
                  for f in ("probabilities", "latency_ms", "ids", "timestamps", "metadata"))))
        for _, day, line in lines:
            self._push("predictions", day, line)
        return [rid for rid, _, _ in lines]

    def log_records(self, features: Sequence[Mapping[str, Any]], predictions: Sequence[Any],
                    probabilities: Sequence[float | None] | None = None,
                    latency_ms: float | None = None,
                    metadata: Mapping[str, Any] | None = None) -> list[str]:
        """Log predictions made together — a served request's records: one feature mapping
        and one prediction (and probability) each, one latency and metadata for all, one
        timestamp. Returns their ids, in order. Every record is checked before any is
        logged. What ``log()`` would write for each, at about a third of the cost per record
        (ids made together, each line one call of orjson when it is installed, the lines
        buffered in one go)."""
        preds = check_sequence(predictions, "predictions")
        n = len(preds)
        if len(features) != n:
            raise InvalidInput(f"has {len(features)} records for {n} predictions",
                               field="features")
        probs = [None] * n if probabilities is None else \
            check_sequence(probabilities, "probabilities")
        if len(probs) != n:
            raise InvalidInput(f"has {len(probs)} values for {n} predictions",
                               field="probabilities")
        if metadata is not None and not isinstance(metadata, Mapping):
            raise InvalidInput(f"expected a mapping, got {type(metadata).__name__}",
                               field="metadata")
        latency = _latency(latency_ms)
        if metadata is not None:
            encode(metadata, "metadata")    # what cannot be stored is refused before any line
        ts = now_ms()
        ids = new_ids(n)
        lines = []
        for rid, record, prediction, probability in zip(ids, features, preds, probs):
            line = None
            if _orjson_dumps is not None and record.__class__ is dict \
                    and (probability is None or probability.__class__ is float):
                # The fields in log()'s order: readers of the lines (the exporter) rely on it.
                try:
                    out = _orjson_dumps({"id": rid, "ts": ts, "version": self.version,
                                         "prediction": prediction, "probability": probability,
                                         "latency_ms": latency, "features": record,
                                         "metadata": metadata})
                except TypeError:   # what orjson writes otherwise than encode(): numpy, ...
                    pass
                else:
                    line = out.decode() if out.isascii() else None
            if line is None:    # log()'s own encoding, every field checked
                _, _, line = self._prediction(record, prediction, probability, latency, rid,
                                              ts, metadata)
            lines.append(line)
        self._push_all("predictions", self._days.of(ts), lines)
        return ids

    def log_columns(self, features: Mapping[str, Any], predictions: Sequence[Any],
                    probabilities: Sequence[float | None] | None = None,
                    latency_ms: float | None = None,
                    metadata: Mapping[str, Any] | None = None) -> list[str]:
        """Log predictions made together, given as columns: ``features`` maps each column
        name to one value per row (the frame the model was given), with one prediction (and
        probability) per row, one latency and metadata for all, one timestamp. Returns their
        ids, in order. Every value is checked before any is logged. Predictions and
        probabilities given as numpy arrays of numbers are kept as arrays (a copy).

        The cheapest way to log a batch (about a tenth of ``log_records``' cost per record):
        the rows stay columns until the writer stores them, with those of other calls, as one
        Parquet part when pyarrow is installed and it has at least ``PARQUET_MIN_ROWS`` of
        them (``modelops.predictions.columns``), else as the JSON lines ``log()`` writes.
        Readers see the same records either way."""
        if not isinstance(features, Mapping):
            raise InvalidInput(f"expected a mapping of column to values, got "
                               f"{type(features).__name__}", field="features")
        # A numpy column of numbers is taken as it is (a copy): it reaches the Parquet part
        # without ever being Python objects.
        preds = predictions.copy() if _numeric(predictions, "biuf") else \
            check_sequence(predictions, "predictions")
        n = len(preds)
        if preds.__class__ is list and not _PLAIN.issuperset(map(type, preds)):
            # What cannot be stored is refused here, not by the writer; the rest is kept as
            # the JSON it will be, safe from a caller that changes its objects later.
            preds = json.loads(encode(preds, "predictions"))
        columns = {}
        column_bytes, as_columns = 0, bool(features)
        for name, values in features.items():
            if name not in self._names:
                self._names.add(check_text(name, "features"))
            try:
                column = np.array(values)     # a copy: the caller may reuse its arrays
            except ValueError as exc:         # ragged, or nested beyond numpy's dimensions
                raise InvalidInput(f"is not a column of values: {exc}",
                                   field=f"features[{name!r}]") from None
            if column.ndim != 1:
                raise InvalidInput(f"expected one value per row (one dimension), got shape "
                                   f"{column.shape}", field=f"features[{name!r}]")
            if len(column) != n:
                raise InvalidInput(f"has {len(column)} rows for {n} predictions",
                                   field=f"features[{name!r}]")
            kind = column.dtype.kind
            if kind in "OU":
                encode(column.tolist(), f"features[{name!r}]")
            as_columns = as_columns and kind in _columns.COLUMN_KINDS
            column_bytes += column.nbytes
            columns[name] = column
        probs = None
        if probabilities is not None:
            probs = probabilities.astype(np.float64) if _numeric(probabilities, "iuf") else \
                check_sequence(probabilities, "probabilities")
            if len(probs) != n:
                raise InvalidInput(f"has {len(probs)} values for {n} predictions",
                                   field="probabilities")
            if probs.__class__ is list and not _NUMBER.issuperset(map(type, probs)):
                for p in probs:
                    _number(p, "probabilities")
        latency = _latency(latency_ms)
        per_row = 0
        if metadata is not None:
            if not isinstance(metadata, Mapping):
                raise InvalidInput(f"expected a mapping, got {type(metadata).__name__}",
                                   field="metadata")
            stored = encode(metadata, "metadata")
            per_row, metadata = len(stored), json.loads(stored)
        if n < _columns.COLUMNS_MIN_ROWS:   # a handful of rows: cheaper as JSON lines
            return self.log_records(_columns.feature_records(columns, n), preds, probs,
                                    latency, metadata)
        ts = now_ms()
        ids = new_ids(n)
        rows = Rows(ids, ts, columns, preds, probs, latency, metadata,
                    _columns.size_of(column_bytes, n) + per_row * n)
        chunks: list[Any] = rows.split(self.batch_size)  # a part never takes more than a batch
        if not as_columns:         # no features, or dates: JSON lines encode them
            chunks = [line for rows in chunks for line in self._lines(rows)]
        self._push_all("predictions", self._days.of(ts), chunks)
        return list(ids)           # the caller's own: the buffered rows keep theirs

    def _lines(self, rows: Rows) -> list[str]:
        """The JSON lines ``log()`` writes for ``rows``."""
        return [self._prediction(record, prediction, probability, rows.latency_ms, rid,
                                 rows.ts, rows.metadata)[2]
                for rid, record, prediction, probability in rows.records()]

    def feedback(self, id: str, actual: Any, timestamp: int | None = None) -> None:
        """Record the ground truth for a logged prediction (the latest feedback wins)."""
        day, line = self._feedback(id, actual, timestamp)
        self._push("feedback", day, line)

    def _feedback(self, id: Any, actual: Any, timestamp: Any) -> tuple[str, str]:
        rid = check_id(id)
        ts = now_ms() if timestamp is None else check_timestamp(timestamp, "timestamp")
        return self._days.of(ts), encode({"id": rid, "ts": ts, "actual": actual}, "actual")

    def feedback_batch(self, ids: Sequence[str], actuals: Sequence[Any],
                       timestamps: Sequence[int] | None = None) -> None:
        """Record many ground truths; all are checked before any is recorded."""
        ids, actuals = check_sequence(ids, "ids"), check_sequence(actuals, "actuals")
        stamps = None if timestamps is None else check_sequence(timestamps, "timestamps")
        if len(ids) != len(actuals) or (stamps is not None and len(stamps) != len(ids)):
            raise InvalidInput("ids, actuals and timestamps differ in length", field="actuals")
        lines = [self._feedback(rid, actual, None if stamps is None else stamps[i])
                 for i, (rid, actual) in enumerate(zip(ids, actuals))]
        for day, line in lines:
            self._push("feedback", day, line)

    def _push(self, kind: str, day: str, line: str) -> None:
        self._push_all(kind, day, (line,))

    def _push_all(self, kind: str, day: str, payloads: Sequence[str | Rows]) -> None:
        """Buffer ``payloads`` (JSON lines, or ``Rows``) in order, under one hold of the lock
        (each by the drop policy)."""
        for payload in payloads:
            if _size(payload) > self.max_buffer_bytes:  # JSON lines are ASCII: chars are bytes
                raise InvalidInput(f"is a record of {_size(payload)} bytes, more than "
                                   f"max_buffer_bytes ({self.max_buffer_bytes})",
                                   field="features")
        with self._lock:
            if self._closed:
                from modelops.errors import Conflict

                raise Conflict(f"the prediction logger of {self.model!r} is closed")
            count, size = sum(map(_count, payloads)), sum(map(_size, payloads))
            if self._has_room(count, size):
                # Room for all of them (the usual case): buffered in one go.
                self._buffer.extend(zip(itertools.repeat(kind), itertools.repeat(day),
                                        payloads))
                self._took(kind, count, size)
                payloads = ()
            for payload in payloads:
                count, size = _count(payload), _size(payload)
                if not self._has_room(count, size):
                    if self.drop_policy == "block":
                        self._start()
                        self._wake.set()
                        while not self._has_room(count, size) and not self._closed:
                            self._room.wait(0.1)
                    elif self.drop_policy == "newest":
                        self._drop(count, line=True)
                        continue
                    else:
                        dropped = 0
                        while self._buffer and not self._has_room(count, size):
                            dropped += self._forget(self._buffer.popleft()[2])
                        if not self._has_room(count, size):  # the rest is being written now
                            self._drop(dropped + count, line=True)
                            continue
                        self._drop(dropped)
                self._buffer.append((kind, day, payload))
                self._took(kind, count, size)
            full = self._records >= self.batch_size
            if self._thread is None:
                self._start()
        if full and not self._wake.is_set():
            self._wake.set()
        self._pace.nudge(full)

    def _took(self, kind: str, count: int, size: int) -> None:
        """Count ``count`` records of ``size`` bytes just buffered (with the lock held)."""
        self._bytes += size
        self._records += count
        self._logged += count
        self._counts[kind] += count

    def _forget(self, payload: str | Rows) -> int:
        """Uncount a payload taken out of the buffer unwritten (lock held); its records."""
        count = _count(payload)
        self._bytes -= _size(payload)
        self._records -= count
        return count

    def _has_room(self, count: int, size: int) -> bool:
        return self._records + count <= self.max_buffer and \
            self._bytes + size <= self.max_buffer_bytes

    def _drop(self, n: int, line: bool = False) -> None:
        if not n:
            return
        self._dropped += n
        if not self._warned_drop:
            self._warned_drop = True
            what = "new records" if line else "the oldest records"
            warnings.warn(f"modelops: the prediction buffer of {self.model!r} is full "
                          f"({self.max_buffer} records or {self.max_buffer_bytes} bytes; last "
                          f"store error: {self._last_error}); dropping {what} "
                          f"(drop_policy={self.drop_policy!r}); see logger.stats.dropped",
                          RuntimeWarning, stacklevel=4)

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
            self._pace.expect(delay or self.flush_every)
            if delay:
                # Backoff: neither flush() nor a full buffer hurries the next try; close()
                # ends the wait, and the writer with it.
                self._stop.wait(delay)
            else:
                self._wake.wait(timeout=self.flush_every)
            self._wake.clear()
            stopping = self._stop.is_set() and delay > 0
            ok = not stopping and self._replay_spills() and self._write_some()
            delay = 0.0 if ok else min(self.max_retry_delay, max(_FIRST_RETRY, delay * 2))
            with self._lock:
                if not (self._closed and (not self._buffer or not ok or self._stop.is_set())):
                    continue
                self._thread = None
                self._pace.stop()
                # A write that was under way when close() gave up and failed after it:
                # its records are set aside like the rest.
                left = list(self._buffer) if self._stop.is_set() else []
                self._buffer.clear()
                self._bytes = self._records = 0
                self._idle.notify_all()
            if left:
                self._set_aside(left)
            return

    def _replay_spills(self) -> bool:
        """Write the spill files a closing logger left, before anything newer; False when
        the store failed (they are tried again with the buffer)."""
        while self._spills:
            path = self._spills[0]
            try:
                counts = _spill.replay(self.store, self.model, path, self.batch_size,
                                       lambda kind, lines: _announce(self, kind, lines))
            except FileNotFoundError:
                counts = {}  # replayed by another logger meanwhile
            except Exception as exc:
                with self._lock:
                    self._retries += 1
                    self._last_error = f"{type(exc).__name__}: {exc}"
                return False
            with self._lock:
                self._written += sum(counts.values())
                self._spills.pop(0)
        return True

    def _write_some(self) -> bool:
        """Write what is buffered, batch by batch, on while a full batch or a flush() waits;
        False when the store failed. What is logged meanwhile otherwise waits for the next
        turn, so a busy logger writes a few big parts rather than many small ones."""
        first = True
        while True:
            with self._lock:
                if not self._buffer:
                    self._idle.notify_all()
                    return True
                if not first and self._records < self.batch_size and not self._flushing:
                    return True
                first = False
                if self._records <= self.batch_size:
                    batch, n = list(self._buffer), self._records
                    self._buffer.clear()
                else:
                    batch, n = [], 0
                    while self._buffer and n < self.batch_size:
                        batch.append(self._buffer.popleft())
                        n += _count(batch[-1][2])
                self._in_flight = n
                self._records -= n
            groups: dict[tuple[str, str], list[int]] = {}
            for i, entry in enumerate(batch):
                groups.setdefault(entry[:2], []).append(i)
            done: set[int] = set()
            try:
                for (kind, day), at in groups.items():
                    for fmt, data, span, stored, lines, table in self._parts(batch, at):
                        self.store.write_part(self.model, kind, day, data, span=span, fmt=fmt)
                        done.update(stored)
                        with self._lock:
                            self._written += sum(_count(batch[i][2]) for i in stored)
                            self._bytes -= sum(_size(batch[i][2]) for i in stored)
                            self._room.notify_all()
                        _announce(self, kind, lines, table)
            except Exception as exc:
                with self._lock:
                    self._retries += 1
                    self._last_error = f"{type(exc).__name__}: {exc}"
                    # Put back what was not written, in order, ahead of newer records.
                    rest = [e for i, e in enumerate(batch) if i not in done]
                    self._buffer.extendleft(reversed(rest))
                    self._records += sum(_count(e[2]) for e in rest)
                    if self.drop_policy != "block":
                        dropped = 0
                        while self._buffer and (self._records > self.max_buffer
                                                or self._bytes > self.max_buffer_bytes):
                            dropped += self._forget(self._buffer.popleft()[2])
                        self._drop(dropped)
                    self._in_flight = 0
                    self._idle.notify_all()
                return False
            finally:
                with self._lock:
                    self._in_flight = 0

    def _parts(self, batch: list[tuple[str, str, str | Rows]], at: list[int]
               ) -> Iterator[tuple[str, bytes, tuple[int, int] | None, list[int],
                                   Sequence[str], Any]]:
        """The parts that store the entries ``at`` of ``batch`` (one kind and day): (format,
        bytes, time range, the entries stored, their records as JSON lines, their Arrow table
        or None). Rows enough for a Parquet part are one, if Arrow takes them; everything
        else is one part of JSON lines."""
        rows_at = [i for i in at if batch[i][2].__class__ is Rows]
        table = self._table([batch[i][2] for i in rows_at])
        if table is not None:
            stamps = [batch[i][2].ts for i in rows_at]
            yield ("parquet", _columns.parquet_bytes(table), (min(stamps), max(stamps)),
                   rows_at, _columns.Lines(table, encode), table)
        lines: list[str] = []
        as_lines: list[int] = []
        for i in at:
            payload = batch[i][2]
            if payload.__class__ is str:
                lines.append(payload)
            elif table is None:
                lines.extend(self._lines(payload))
            else:
                continue
            as_lines.append(i)
        if lines:
            yield ("jsonl", ("\n".join(lines) + "\n").encode(), _span_of(lines), as_lines,
                   lines, None)

    def _table(self, rows: list[Rows]) -> Any:
        """``rows`` as one Arrow table for a Parquet part; None when they are too few for
        one, pyarrow is not installed, or Arrow cannot hold their values in one column
        (predictions of mixed types, say): they are then written as JSON lines."""
        pa = _columns.arrow() if sum(map(len, rows)) >= _columns.PARQUET_MIN_ROWS else None
        if pa is None:
            return None
        try:
            return _columns.table(pa, rows, self.version)
        except _columns.ARROW_ERRORS:
            return None

    def flush(self, timeout: float | None = None) -> bool:
        """Write everything logged so far; True once it is stored. False if ``timeout``
        (seconds) passed first, e.g. while the store is failing (the records stay
        buffered and are retried on the writer's own schedule)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            if self._thread is None and (self._buffer or self._spills):
                self._start()
            self._flushing += 1
            try:
                while self._buffer or self._in_flight or self._spills:
                    self._wake.set()
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        return False
                    self._idle.wait(0.05 if left is None else min(0.05, left))
                return True
            finally:
                self._flushing -= 1

    def close(self, timeout: float | None = None) -> bool:
        """Flush and stop the writer; later log() calls raise ``Conflict``. Waits at most
        ``timeout`` seconds (default: ``close_timeout``; ``math.inf`` to wait for good).
        True if everything was stored; else what was not is reported with a warning and,
        by the ``unwritten`` policy, spilled to a local file the next logger of the model
        writes (``stats.spilled``) or dropped (``stats.dropped``)."""
        wait = self.close_timeout if timeout is None else timeout
        if isinstance(wait, bool) or not isinstance(wait, (int, float)) or not wait >= 0:
            raise InvalidInput(f"expected a number of seconds, got {timeout!r}",
                               field="timeout")
        flushed = self.flush(None if wait == math.inf else wait)
        with self._lock:
            self._closed = True
            self._room.notify_all()
            left: list[tuple[str, str, str | Rows]] = []
            if not flushed:
                left = list(self._buffer)
                self._buffer.clear()
                self._bytes = self._records = 0
        self._stop.set()
        self._wake.set()
        _live.discard(self)
        if left:
            self._set_aside(left)
        return flushed

    def _set_aside(self, entries: list[tuple[str, str, str | Rows]]) -> None:
        """Spill (or drop) what a closing logger could not write, and say so."""
        records = [(kind, day, line) for kind, day, payload in entries
                   for line in ((payload,) if payload.__class__ is str
                                else self._lines(payload))]
        where = None
        if self.unwritten == "spill":
            try:
                where = _spill.write(self.spill_dir, getattr(self.store, "uri", ""), self.model,
                                     records)
            except OSError as exc:
                self._last_error = f"spilling failed: {exc}"
        with self._lock:
            if where is None:
                self._dropped += len(records)
            else:
                self._spilled += len(records)
        fate = f"spilled to {where}; the next logger of {self.model!r} writes them" \
            if where is not None else "dropped (see logger.stats.dropped)"
        warnings.warn(f"modelops: {len(records)} records of {self.model!r} could not be "
                      f"written to {getattr(self.store, 'uri', 'the store')} before close "
                      f"(last error: {self._last_error}); {fate}", RuntimeWarning,
                      stacklevel=3)

    @property
    def stats(self) -> LoggerStats:
        """Counts of what this logger accepted, wrote, dropped and spilled."""
        with self._lock:
            return LoggerStats(logged=self._logged, written=self._written,
                               dropped=self._dropped, pending=self._records + self._in_flight,
                               retries=self._retries, last_error=self._last_error,
                               counts=dict(self._counts), spilled=self._spilled)

    def __enter__(self) -> PredictionLogger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<PredictionLogger {self.model!r} version={self.version!r}>"

    def _after_fork_in_child(self) -> None:
        # The buffered records belong to the parent, which writes them.
        self._init_state()


#: Types of values that JSON, and Arrow, store as they are (NaN and ±inf as null).
_PLAIN = frozenset((int, float, str, bool, type(None)))
_NUMBER = frozenset((float, type(None)))


def _count(payload: str | Rows) -> int:
    """The records of a buffered payload: a JSON line is one."""
    return 1 if payload.__class__ is str else len(payload)


def _size(payload: str | Rows) -> int:
    return len(payload) if payload.__class__ is str else payload.nbytes


def _announce(logger: PredictionLogger, kind: str, lines: Sequence[str],
              table: Any = None) -> None:
    """Fire ``modelops_predictions_written`` for a stored part (a no-op without listeners;
    a failing listener is reported by ``emit``, never retried as a failed write)."""
    from modelops import plugins

    if plugins.hook("modelops_predictions_written").get_hookimpls():
        plugins.emit("modelops_predictions_written", model=logger.model,
                     version=logger.version, kind=kind, records=lines, table=table,
                     store_uri=getattr(logger.store, "uri", ""))


def _span_of(lines: Sequence[str]) -> tuple[int, int] | None:
    """The earliest and latest ``ts`` of records this module encoded: each line is
    ``{"id":<a JSON string>,"ts":<integer>,...``, and the first ``,"ts":`` is the field (a
    quote inside the id's JSON string is escaped). None when a time is negative (no range is
    kept for those)."""
    stamps = []
    for line in lines:
        at = line.find(',"ts":') + 6
        stamps.append(int(line[at:line.find(",", at)]))
    first, last = min(stamps), max(stamps)
    return (first, last) if first >= 0 else None


def check_id(value: Any) -> str:
    """``value`` if it may be a prediction's id (a non-empty line of text of at most 200
    characters); else ``InvalidInput`` naming ``id``."""
    if not isinstance(value, str) or not value or len(value) > 200 or "\n" in value:
        raise InvalidInput(f"expected a non-empty string of at most 200 characters, got "
                           f"{value!r}", field="id")
    return check_text(value, "id")


_live: weakref.WeakSet[PredictionLogger] = weakref.WeakSet()


@atexit.register
def _flush_at_exit() -> None:
    # Closed as close() does: what cannot be written in time is spilled (or dropped) and
    # reported, by each logger's policy.
    timeout = float(os.environ.get("MODELOPS_EXIT_FLUSH_TIMEOUT", "10"))
    for logger in list(_live):
        logger.close(timeout)


def _after_fork() -> None:
    for logger in list(_live):
        logger._after_fork_in_child()


os.register_at_fork(after_in_child=_after_fork)
