"""Reading logged predictions back as columns, joined to their feedback.

With pyarrow installed (``modelops[parquet]``), all parts of a read are parsed in one pass
(on Arrow's thread pool when they are large), filtered and joined with Arrow's compute
kernels, and converted to numpy once: a day of a million predictions reads in a few seconds.
Without it, parts are parsed line by line with the standard library (fine for thousands of
records, slow for millions).

A line that does not parse — a torn last line left by a crash outside modelops, or a file
edited by hand — is skipped, counted and reported with a warning; it never breaks a read.
"""

from __future__ import annotations

import io
import json
import warnings
from typing import Any

import numpy as np

from modelops._time import utc_day
from modelops.entities.predictions import PredictionTable
from modelops.errors import NotFound
from modelops.stores import PredictionStore
from modelops.stores.predictions import Part

PREDICTION_FIELDS = ("id", "ts", "version", "prediction", "probability", "latency_ms",
                     "metadata", "features")
FEEDBACK_FIELDS = ("id", "ts", "actual")


def parse_lines(data: bytes, where: str) -> list[dict[str, Any]]:
    """JSON lines, skipping (and reporting) lines that do not parse."""
    records, bad = [], 0
    for line in data.splitlines():
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except ValueError:
            bad += 1
    if bad:
        warnings.warn(f"modelops: skipped {bad} unreadable line(s) in {where} (a torn write?)",
                      RuntimeWarning, stacklevel=3)
    return records


def _parts(store: PredictionStore, model: str, kind: str, first_day: str | None,
           last_day: str | None) -> list[tuple[Part, bytes]]:
    while True:
        out = []
        try:
            for part in store.list_parts(model, kind, first_day, last_day):
                out.append((part, store.read_part(model, part)))
            return out
        except NotFound:
            continue  # compacted meanwhile: list again, the compacted part replaces it


# -- with pyarrow ----------------------------------------------------------------------------

#: Arrow parses JSON in blocks of this size, one block a thread.
_BLOCK = 8 << 20


def use_threads(size: int) -> bool:
    """Whether Arrow should parse ``size`` bytes with its thread pool: only when there is more
    than one block. A smaller input gains nothing from the pool, and a process that starts the pool
    and exits moments later can abort in Arrow's teardown (``terminate called without an
    active exception``, apache/arrow#34314), which a short script or CLI call would do."""
    return size > _BLOCK


def arrow_json(pa: Any, data: bytes) -> Any:
    """JSON lines as an Arrow table, in blocks of ``_BLOCK`` bytes."""
    options = pa.json.ReadOptions(block_size=_BLOCK, use_threads=use_threads(len(data)))
    return pa.json.read_json(io.BytesIO(data), read_options=options)


def arrow_parquet(data: bytes) -> Any:
    """A Parquet file's bytes as an Arrow table."""
    import pyarrow.parquet as pq

    return pq.read_table(io.BytesIO(data), use_threads=use_threads(len(data)))


def _arrow() -> Any:
    try:
        import pyarrow
        import pyarrow.compute
        import pyarrow.json
        import pyarrow.parquet
    except ImportError:
        return None
    return pyarrow


def _arrow_table(pa: Any, model: str, parts: list[tuple[Part, bytes]]) -> Any:
    """One table of the parts, in their order: runs of JSON-lines parts are parsed in one
    multi-threaded pass, Parquet parts read as they are."""
    tables: list[Any] = []
    run: list[tuple[Part, bytes]] = []
    for part, data in [*parts, (None, b"")]:
        if part is not None and part.fmt == "jsonl":
            if data.strip():
                run.append((part, data))
            continue
        if run:
            tables += _jsonl_tables(pa, model, run)
            run = []
        if part is not None:
            tables.append(arrow_parquet(data))
    if not tables:
        return None
    return pa.concat_tables(tables, promote_options="permissive")


def _jsonl_tables(pa: Any, model: str, parts: list[tuple[Part, bytes]]) -> list[Any]:
    data = b"".join(d if d.endswith(b"\n") else d + b"\n" for _, d in parts)
    try:
        return [arrow_json(pa, data)]
    except pa.ArrowInvalid:
        pass
    # A torn line, or types that differ between parts: part by part, then line by line.
    tables = []
    for part, d in parts:
        try:
            tables.append(arrow_json(pa, d))
        except pa.ArrowInvalid:
            records = parse_lines(d, f"{model}/{part.kind}/{part.day}/{part.name}")
            if records:
                tables.append(pa.Table.from_pylist(records))
    return tables


def _numpy(column: Any, dtype: Any = None) -> np.ndarray:
    """An Arrow column as numpy: numbers as float (nulls NaN) or int, booleans as bool (with
    nulls: objects), others as objects (nulls None)."""
    import pyarrow as pa

    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    kind = column.type
    if dtype is not None:
        return column.cast(pa.float64()).fill_null(np.nan).to_numpy(zero_copy_only=False) \
            .astype(dtype) if dtype == np.float64 else column.to_numpy(zero_copy_only=False) \
            .astype(dtype)
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        if column.null_count:
            return column.cast(pa.float64()).fill_null(np.nan).to_numpy(zero_copy_only=False)
        return column.to_numpy(zero_copy_only=False)
    if pa.types.is_boolean(kind) and not column.null_count:
        return column.to_numpy(zero_copy_only=False)
    if pa.types.is_null(kind):
        out = np.empty(len(column), dtype=object)
        out[:] = None
        return out
    values = column.to_numpy(zero_copy_only=False)
    return values if values.dtype == object else values.astype(object)


def _read_arrow(pa: Any, store: PredictionStore, model: str, version: str | None,
                since: int | None, until: int | None, with_feedback: bool) -> PredictionTable:
    first = utc_day(since) if since is not None else None
    last = utc_day(until - 1) if until is not None else None
    table = _arrow_table(pa, model, _parts(store, model, "predictions", first, last))
    if table is None:
        return _empty()
    pc = pa.compute
    mask = None
    for cond in ((pc.greater_equal(table["ts"], since) if since is not None else None),
                 (pc.less(table["ts"], until) if until is not None else None),
                 (pc.equal(table["version"], version) if version is not None
                  and "version" in table.column_names else None)):
        if cond is not None:
            mask = cond if mask is None else pc.and_(mask, cond)
    if mask is not None:
        table = table.filter(mask)
    n = table.num_rows
    actuals = np.empty(n, dtype=object)
    actuals[:] = None
    fb_ts = np.full(n, np.nan)
    if with_feedback and n:
        fb = _arrow_table(pa, model, _parts(store, model, "feedback", first, None))
        if fb is not None and fb.num_rows and "actual" in fb.column_names:
            latest = fb.sort_by("ts").group_by("id", use_threads=False).aggregate(
                [("ts", "last"), ("actual", "last")])
            rows = pa.table({"id": table["id"], "__row": pa.array(np.arange(n))})
            joined = rows.join(latest, "id", join_type="left outer").sort_by("__row")
            found = joined["ts_last"].is_valid().to_numpy(zero_copy_only=False)
            values = _numpy(joined["actual_last"])
            actuals[found] = values[found]
            fb_ts = _numpy(joined["ts_last"], np.float64)
    names = table.column_names
    features: dict[str, np.ndarray] = {}
    if "features" in names and pa.types.is_struct(table["features"].type):
        struct = table["features"].combine_chunks()
        for i in range(struct.type.num_fields):
            features[struct.type.field(i).name] = _numpy(struct.field(i))
    metadata = np.empty(n, dtype=object)
    if "metadata" in names and table["metadata"].null_count < n:
        metadata[:] = table["metadata"].to_pylist()

    def column(name: str, dtype: Any = None) -> np.ndarray:
        if name in names:
            return _numpy(table[name], dtype)
        return np.full(n, np.nan) if dtype == np.float64 else np.full(n, None, dtype=object)

    return PredictionTable(
        ids=column("id"), timestamps=column("ts", np.int64), versions=column("version"),
        predictions=column("prediction"), probabilities=column("probability", np.float64),
        latency_ms=column("latency_ms", np.float64), features=features, metadata=metadata,
        actuals=actuals, feedback_timestamps=fb_ts)


# -- without pyarrow -------------------------------------------------------------------------

def _best_array(values: list[Any]) -> np.ndarray:
    """A float array for numbers (None as NaN), a bool array for booleans, else an object
    array — the arrays the Arrow path gives."""
    if values and all(isinstance(v, bool) for v in values):
        return np.array(values, dtype=bool)
    if all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))
           for v in values):
        return np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _records(store: PredictionStore, model: str, kind: str, first: str | None,
             last: str | None) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for part, data in _parts(store, model, kind, first, last):
        where = f"{model}/{part.kind}/{part.day}/{part.name}"
        if part.fmt == "parquet":
            # Parquet parts exist only where pyarrow did.
            records += arrow_parquet(data).to_pylist()
        else:
            records += parse_lines(data, where)
    return records


def _read_python(store: PredictionStore, model: str, version: str | None,
                 since: int | None, until: int | None, with_feedback: bool) -> PredictionTable:
    first = utc_day(since) if since is not None else None
    last = utc_day(until - 1) if until is not None else None
    rows = [r for r in _records(store, model, "predictions", first, last)
            if (since is None or r.get("ts", 0) >= since)
            and (until is None or r.get("ts", 0) < until)
            and (version is None or r.get("version") == version)]
    if not rows:
        return _empty()
    latest: dict[Any, tuple[int, Any]] = {}
    if with_feedback:
        for f in sorted(_records(store, model, "feedback", first, None),
                        key=lambda f: f.get("ts", 0)):
            latest[f.get("id")] = (f.get("ts", 0), f.get("actual"))
    names = sorted({k for r in rows for k in (r.get("features") or {})})
    feedback = [latest.get(r.get("id")) for r in rows]

    def objects(values: list[Any]) -> np.ndarray:
        out = np.empty(len(values), dtype=object)
        out[:] = values
        return out

    return PredictionTable(
        ids=objects([r.get("id") for r in rows]), timestamps=[r.get("ts", 0) for r in rows],
        versions=objects([r.get("version") for r in rows]),
        predictions=_best_array([r.get("prediction") for r in rows]),
        probabilities=[np.nan if r.get("probability") is None else r["probability"]
                       for r in rows],
        latency_ms=[np.nan if r.get("latency_ms") is None else r["latency_ms"] for r in rows],
        features={k: _best_array([(r.get("features") or {}).get(k) for r in rows])
                  for k in names},
        metadata=objects([r.get("metadata") for r in rows]),
        actuals=objects([None if f is None else f[1] for f in feedback]),
        feedback_timestamps=[np.nan if f is None else f[0] for f in feedback])


def _empty() -> PredictionTable:
    return PredictionTable(ids=[], timestamps=[], versions=[], predictions=[],
                           probabilities=[], latency_ms=[], metadata=[], actuals=[],
                           feedback_timestamps=[])


def read_predictions(store: PredictionStore, model: str, *, version: str | None = None,
                     since: int | None = None, until: int | None = None,
                     with_feedback: bool = True, engine: str = "auto") -> PredictionTable:
    """Predictions of ``model`` logged in ``[since, until)`` (Unix ms), joined to the latest
    feedback of each id. ``engine`` is ``"auto"`` (pyarrow when installed), ``"arrow"`` or
    ``"python"``."""
    pa = _arrow() if engine in ("auto", "arrow") else None
    if pa is None and engine == "arrow":
        from modelops.errors import MissingDependency

        raise MissingDependency("fast prediction reads", "pyarrow")
    if pa is not None:
        try:
            return _read_arrow(pa, store, model, version, since, until, with_feedback)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            if engine == "arrow":
                raise
            # Values of one field that change type (1 here, "s" there) have no Arrow column
            # type; the line-by-line reader keeps them as Python objects.
    return _read_python(store, model, version, since, until, with_feedback)
