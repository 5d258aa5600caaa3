"""Prediction logging and reading (``ops.predictions``)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from modelops._time import to_ms as _ms
from modelops._time import utc_day
from modelops.entities.predictions import PredictionTable
from modelops.entities.validators import check_name, check_text, check_timestamp
from modelops.errors import InvalidInput
from modelops.predictions.columns import parquet_bytes
from modelops.predictions.logger import PredictionLogger, encode
from modelops.predictions.reader import (
    arrow_json,
    arrow_parsable,
    batch_bytes_setting,
    parquet_part,
    read_predictions,
)
from modelops.stores import PredictionStore

#: The engines ``Predictions.read`` reads with.
ENGINES = ("auto", "arrow", "python", "dask")



class Predictions:
    """Logged predictions of every model on one PredictionStore: ``ops.predictions``."""

    def __init__(self, store: PredictionStore, client: Any = None) -> None:
        self.store = store
        self._client = client

    def logger(self, model: str, version: str | None = None, **options: Any) -> PredictionLogger:
        """A logger for ``model`` (see ``PredictionLogger`` for ``flush_every``,
        ``max_buffer``, ``batch_size``, ``drop_policy``). Use it as a context manager, or call
        ``close()``; it also flushes at interpreter exit."""
        return PredictionLogger(self.store, model, version, **options)

    def read(self, model: str, version: str | None = None, since: Any = None,
             until: Any = None, with_feedback: bool = True,
             batch_bytes: int | None = None, engine: str = "auto") -> Any:
        """Predictions logged in ``[since, until)`` (Unix ms, datetimes — naive means UTC —
        or ISO strings), joined to their latest feedback: a ``PredictionTable``.

        The read streams part by part: at most ``batch_bytes`` of parts are parsed at once
        (default ``MODELOPS_READ_BATCH_BYTES``, else 32 MB), so it needs its result's memory
        plus about a batch (see ``modelops.predictions.reader``); parts and row groups
        outside the window are not read.

        ``engine``: ``"auto"`` (pyarrow when installed, else the standard library),
        ``"arrow"``, ``"python"``, or ``"dask"``: a Dask DataFrame over the same parts, one
        partition a part, with the columns of ``PredictionTable.to_pandas()``, computed
        where Dask runs it (``modelops[dask]``; see ``modelops.predictions.dask_reader``)."""
        check_name(model, "model")
        _check_version(version)
        if not isinstance(with_feedback, bool):
            raise InvalidInput(f"expected True or False, got {with_feedback!r}",
                               field="with_feedback")
        if engine not in ENGINES:
            raise InvalidInput(f"expected one of {', '.join(ENGINES)}, got {engine!r}",
                               field="engine")
        since, until = _ms(since, "since"), _ms(until, "until")
        if engine == "dask":
            from modelops.predictions.dask_reader import read_dask

            batch_bytes_setting(batch_bytes)  # checked here, not first on a worker
            return read_dask(self.store, model, version=version, since=since, until=until,
                             with_feedback=with_feedback, batch_bytes=batch_bytes)
        return read_predictions(self.store, model, version=version, since=since,
                                until=until, with_feedback=with_feedback,
                                batch_bytes=batch_bytes, engine=engine)

    def recent(self, model: str, limit: int = 100, version: str | None = None,
               days: int = 2) -> PredictionTable:
        """The ``limit`` newest predictions of the last ``days`` days, newest first."""
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidInput(f"expected a positive integer, got {limit!r}", field="limit")
        if isinstance(days, bool) or not isinstance(days, (int, float)) or not 0 < days < 10**6:
            raise InvalidInput(f"expected a positive number of days, got {days!r}",
                               field="days")
        since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days)
        table = self.read(model, version=version, since=since)
        import numpy as np

        order = np.argsort(-table.timestamps, kind="stable")[:limit]
        return table.select(order)

    def feedback(self, model: str, id: str, actual: Any, timestamp: int | None = None) -> None:
        """Record one ground truth directly (a logger batches many)."""
        from modelops._ids import now_ms
        from modelops.predictions.logger import check_id

        check_name(model, "model")
        ts = now_ms() if timestamp is None else check_timestamp(timestamp, "timestamp")
        line = encode({"id": check_id(id), "ts": ts, "actual": actual})
        self.store.write_part(model, "feedback", utc_day(ts), (line + "\n").encode())
        from modelops.plugins import emit

        emit("modelops_predictions_written", model=model, version=None, kind="feedback",
             records=[line], table=None, store_uri=self.store.uri)

    def models(self) -> list[str]:
        """The models that have logged predictions."""
        return self.store.list_models()

    def delete_before(self, model: str, day: Any) -> list[str]:
        """Retention: remove predictions and feedback of days before ``day`` (a date, a
        datetime, an ISO string, or Unix ms). Returns the days removed."""
        check_name(model, "model")
        cut = utc_day(_day_ms(day))
        removed = self.store.delete_before(model, "predictions", cut)
        self.store.delete_before(model, "feedback", cut)
        return removed

    def compact(self, model: str, day: Any, fmt: str | None = None) -> list[str]:
        """Merge a closed day's parts into one file per kind: Parquet when pyarrow is
        installed (``fmt="parquet"``), else JSON lines. Readers never see a record twice,
        even if compaction is interrupted. A day with a Parquet part that does not read as
        one (reported with a ``StoreWarning``) is left as it is. Returns the new parts'
        names."""
        check_name(model, "model")
        name = utc_day(_day_ms(day))
        if name >= utc_day(_ms(dt.datetime.now(dt.timezone.utc), "now")):
            raise InvalidInput(f"{name} is not closed yet (compact days before today)",
                               field="day")
        if fmt is None:
            try:
                import pyarrow  # noqa: F401

                fmt = "parquet"
            except ImportError:
                fmt = "jsonl"
        out = []
        for kind in ("predictions", "feedback"):
            parts = self.store.list_parts(model, kind, name, name)
            if len(parts) <= 1 and all(p.fmt == fmt for p in parts):
                continue
            pieces = [_as_jsonl(model, p, self.store.read_part(model, p)) for p in parts]
            if None in pieces:
                continue  # a damaged part (reported): the day stays as it is, every file kept
            lines = b"".join(pieces)
            data, kept = lines, "jsonl"
            if fmt == "parquet" and (parquet := _to_parquet(lines)) is not None:
                data, kept = parquet, "parquet"
            if len(parts) == 1 and parts[0].fmt == kept:
                continue  # a day with unreadable lines stays JSON lines, as it is
            out.append(self.store.replace_parts(model, kind, name, data, kept, parts,
                                                _joint_span(parts)).name)
        return out


def _joint_span(parts: list[Any]) -> tuple[int, int] | None:
    """The time range of the parts together, when each carries one."""
    if not parts or any(p.first_ts is None or p.last_ts is None for p in parts):
        return None
    return min(p.first_ts for p in parts), max(p.last_ts for p in parts)


def _day_ms(day: Any) -> int:
    ms = _ms(day, "day")
    if ms is None:
        raise InvalidInput("expected a day (a date, a datetime, an ISO string or Unix ms), "
                           "got None", field="day")
    return ms


def _check_version(version: Any) -> None:
    if version is not None:
        check_text(version, "version")


def _as_jsonl(model: str, part: Any, data: bytes) -> bytes | None:
    """A part's records as JSON lines; None for a Parquet part that does not read as one."""
    if part.fmt == "jsonl":
        return data if data.endswith(b"\n") or not data else data + b"\n"
    table = parquet_part(model, part, data)
    if table is None:
        return None
    return "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in table.to_pylist()).encode()


def _to_parquet(lines: bytes) -> bytes | None:
    """The lines as Parquet; None when some line is not a record Arrow reads (a torn line,
    types that change): the day is then kept as JSON lines, byte for byte, so compaction
    never drops a line."""
    import pyarrow as pa
    import pyarrow.json  # makes pa.json

    if not arrow_parsable(lines):
        return None
    try:
        table = arrow_json(pa, lines)
    except pa.ArrowInvalid:
        return None
    if "ts" in table.column_names and pa.types.is_integer(table["ts"].type):
        # In time order, in row groups of PARQUET_ROW_GROUP rows: a read of part of the day
        # reads only the row groups whose ts statistics meet its window.
        table = table.sort_by("ts")
    return parquet_bytes(table)
