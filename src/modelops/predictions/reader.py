"""Reading logged predictions back as columns, joined to their feedback.

Parts are parsed with pyarrow's multi-threaded JSON reader when pyarrow is installed (a day
of a million predictions in about a second), else line by line with the standard library. A
line that does not parse — a torn last line left by a crash outside modelops, or a file
edited by hand — is skipped, counted and reported with a warning; it never breaks a read.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import warnings
from typing import Any

import numpy as np

from modelops.entities.predictions import PredictionTable
from modelops.errors import NotFound
from modelops.stores import PredictionStore
from modelops.stores.predictions import Part

PREDICTION_FIELDS = ("id", "ts", "version", "prediction", "probability", "latency_ms",
                     "metadata")
FEEDBACK_FIELDS = ("id", "ts", "actual")
_AS_PYTHON = ("metadata", "actual")  # values of any JSON type: keep them as Python objects


def day_of(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).strftime("%Y-%m-%d")


class _Columns:
    """Accumulates parsed parts as lists of columns."""

    def __init__(self, fields: tuple[str, ...]) -> None:
        self.fields: dict[str, list[Any]] = {f: [] for f in fields}
        self.features: dict[str, list[Any]] = {}
        self.rows = 0
        self.skipped = 0

    def add_records(self, records: list[dict[str, Any]]) -> None:
        n = len(records)
        for f, values in self.fields.items():
            values.extend(r.get(f) for r in records)
        names: set[str] = set()
        for r in records:
            names.update(r.get("features") or ())
        for name in names:
            column = self.features.setdefault(name, [None] * self.rows)
            column.extend((r.get("features") or {}).get(name) for r in records)
        for name, column in self.features.items():
            if name not in names:
                column.extend([None] * n)
        self.rows += n

    def add_arrow(self, table: Any) -> None:
        n = table.num_rows
        columns = set(table.column_names)
        for f, values in self.fields.items():
            if f not in columns:
                values.extend([None] * n)
            elif f in _AS_PYTHON:
                values.extend(table.column(f).to_pylist())
            else:
                values.append(_arrow_values(table.column(f)))
        names: list[str] = []
        if "features" in columns:
            struct = table.column("features").combine_chunks()
            names = [struct.type.field(i).name for i in range(struct.type.num_fields)]
            for i, name in enumerate(names):
                column = self.features.setdefault(name, [None] * self.rows)
                column.append(_arrow_values(struct.field(i)))
        for name, column in self.features.items():
            if name not in names:
                column.extend([None] * n)
        self.rows += n


def _arrow_values(column: Any) -> np.ndarray:
    array = column.to_numpy(zero_copy_only=False)
    if array.dtype.kind in "iu" and column.null_count:
        array = array.astype(np.float64)
    return array


def _flatten(values: list[Any], dtype: Any = None) -> np.ndarray:
    """One array from a mix of Python values and arrays (parts parsed either way)."""
    pieces = [v if isinstance(v, np.ndarray) else None for v in values]
    if all(p is not None for p in pieces) and pieces:
        try:
            return np.concatenate(pieces).astype(dtype) if dtype else np.concatenate(pieces)
        except (TypeError, ValueError):
            pass
    flat: list[Any] = []
    for v in values:
        if isinstance(v, np.ndarray):
            flat.extend(v.tolist())
        else:
            flat.append(v)
    if dtype is not None:
        return np.array([np.nan if x is None else x for x in flat], dtype=dtype)
    return _best_array(flat)


def _best_array(values: list[Any]) -> np.ndarray:
    """Float array for numbers (None as NaN), else an object array."""
    if all((isinstance(v, (int, float)) and not isinstance(v, bool)) or v is None for v in values):
        return np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def parse_part(data: bytes, fmt: str, where: str, into: _Columns) -> None:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        into.add_arrow(pq.read_table(io.BytesIO(data)))
        return
    try:
        import pyarrow.json as pj

        into.add_arrow(pj.read_json(io.BytesIO(data)))
        return
    except ImportError:
        pass
    except Exception:
        pass
    records = []
    bad = 0
    for line in data.splitlines():
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except ValueError:
            bad += 1
    if bad:
        into.skipped += bad
        warnings.warn(f"modelops: skipped {bad} unreadable line(s) in {where} (a torn write?)",
                      RuntimeWarning, stacklevel=3)
    into.add_records(records)


def _read_kind(store: PredictionStore, model: str, kind: str, first_day: str | None,
               last_day: str | None) -> _Columns:
    columns = _Columns(PREDICTION_FIELDS if kind == "predictions" else FEEDBACK_FIELDS)
    for part in store.list_parts(model, kind, first_day, last_day):
        try:
            data = store.read_part(model, part)
        except NotFound:
            # Compacted meanwhile: the compacted part replaces it in a fresh listing.
            return _read_kind(store, model, kind, first_day, last_day)
        parse_part(data, part.fmt, f"{model}/{part.kind}/{part.day}/{part.name}", columns)
    return columns


def read_predictions(store: PredictionStore, model: str, *, version: str | None = None,
                     since: int | None = None, until: int | None = None,
                     with_feedback: bool = True) -> PredictionTable:
    """Predictions of ``model`` logged in ``[since, until)`` (Unix ms), joined to the latest
    feedback of each id."""
    first = day_of(since) if since is not None else None
    last = day_of(until - 1) if until is not None else None
    cols = _read_kind(store, model, "predictions", first, last)
    ts = _flatten(cols.fields["ts"], np.int64) if cols.rows else np.zeros(0, np.int64)
    keep = np.ones(len(ts), dtype=bool)
    if since is not None:
        keep &= ts >= since
    if until is not None:
        keep &= ts < until
    versions = _flatten(cols.fields["version"]) if cols.rows else np.zeros(0, object)
    versions = versions.astype(object)
    if version is not None:
        keep &= versions == version
    ids = _flatten(cols.fields["id"]).astype(object) if cols.rows else np.zeros(0, object)
    table = PredictionTable(
        ids=ids, timestamps=ts, versions=versions,
        predictions=_flatten(cols.fields["prediction"]) if cols.rows else [],
        probabilities=_flatten(cols.fields["probability"], np.float64) if cols.rows else [],
        latency_ms=_flatten(cols.fields["latency_ms"], np.float64) if cols.rows else [],
        features={k: _flatten(v) for k, v in cols.features.items()},
        metadata=_flatten(cols.fields["metadata"]).astype(object) if cols.rows else [],
        actuals=[None] * cols.rows, feedback_timestamps=np.full(cols.rows, np.nan),
    )
    if not keep.all():
        table = table.select(keep)
    if with_feedback and len(table):
        table = _join_feedback(store, model, table, first)
    return table


def _join_feedback(store: PredictionStore, model: str, table: PredictionTable,
                   first_day: str | None) -> PredictionTable:
    fb = _read_kind(store, model, "feedback", first_day, None)
    if not fb.rows:
        return table
    ids = _flatten(fb.fields["id"]).astype(object)
    ts = _flatten(fb.fields["ts"], np.float64)
    actuals = _flatten(fb.fields["actual"])
    # The latest feedback per id wins: order by time, and let later entries overwrite.
    order = np.argsort(ts, kind="stable")
    latest: dict[Any, int] = {}
    for i in order.tolist():
        latest[ids[i]] = i
    idx = np.array([latest.get(k, -1) for k in table.ids.tolist()], dtype=np.int64)
    found = idx >= 0
    out_actuals = np.empty(len(table), dtype=object)
    out_actuals[:] = None
    picked = actuals[idx[found]]
    out_actuals[found] = picked.tolist() if hasattr(picked, "tolist") else picked
    out_ts = np.full(len(table), np.nan)
    out_ts[found] = ts[idx[found]]
    import attrs

    return attrs.evolve(table, actuals=out_actuals, feedback_timestamps=out_ts)


__all__ = ["Part", "day_of", "parse_part", "read_predictions"]
