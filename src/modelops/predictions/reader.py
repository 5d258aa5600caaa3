"""Reading logged predictions back as columns, joined to their feedback.

A read streams: the parts of the days asked for are read and parsed a batch at a time — at
most ``batch_bytes`` of parts at once (``READ_BATCH_BYTES``, 32 MB unless the environment
variable ``MODELOPS_READ_BATCH_BYTES`` says otherwise) — and each batch is cut down to the
rows asked for before the next is read. What is kept between batches is those rows in
Arrow's compact columns; they become numpy arrays one column at a time at the end. So the
memory a read needs is its result plus about a batch, whatever the size of the day: a day of
a million predictions reads in under 512 MB. A part bigger than a batch (a compacted day) is
read whole — or, of a Parquet part, the row groups whose ``ts`` statistics meet the window.

Only the parts that may hold rows of the window are read: those of its days whose time
range (``Part.first_ts``, ``Part.last_ts``, when the part carries one) meets it.

``iter_prediction_batches`` is the stream itself: the filtered rows of each batch as an
Arrow table, for computations that aggregate as they go and never hold a whole window.

With pyarrow installed (``modelops[parquet]``) batches are parsed with Arrow (on its thread
pool when large), filtered and joined with Arrow's compute kernels. Without it, parts are
parsed line by line with the standard library (fine for thousands of records, slow for
millions), one part at a time.

Stored parts are data like any other: a line that does not parse, or parses to something
that is not a prediction (``[]``, ``null``, a record without an id or with a time that is not
a number) — a torn last line left by a crash outside modelops, a file edited by hand — is
skipped, counted and reported with a ``StoreWarning`` naming the part; it never breaks a
read. Arrow is only ever handed parts whose every line is a JSON object and none nested
deeper than ``ARROW_MAX_NESTING`` (its JSON reader crashes the process on a part starting
with ``null``, and on a line nested some ten thousand deep); others are read line by line.
A Parquet part that does not read as one — cut short, overwritten, a page whose checksum
does not match — is skipped whole with a ``StoreWarning`` naming it; an error of the store
itself while reading it is a ``StoreError`` naming it.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from modelops._json import loads
from modelops._time import utc_day
from modelops.entities.predictions import PredictionTable
from modelops.errors import (
    Conflict,
    InvalidInput,
    ModelOpsError,
    NotFound,
    StoreError,
    StoreWarning,
)
from modelops.stores import PredictionStore
from modelops.stores.predictions import Part

PREDICTION_FIELDS = ("id", "ts", "version", "prediction", "probability", "latency_ms",
                     "metadata", "features")
FEEDBACK_FIELDS = ("id", "ts", "actual")

#: Bytes of parts a read parses at once, unless told otherwise (see the module docstring).
READ_BATCH_BYTES = 32 << 20
#: Lines with this many ``[`` and ``{`` (so possibly nested this deep) are parsed line by
#: line: Arrow's JSON reader overflows its stack, and crashes the process, on lines nested
#: ten to thirty thousand deep; Python's parser refuses those beyond a thousand.
ARROW_MAX_NESTING = 1_000
_INT64 = (-(1 << 63), (1 << 63) - 1)


def batch_bytes_setting(value: int | None = None) -> int:
    """The batch size a read uses: ``value`` if given, else ``MODELOPS_READ_BATCH_BYTES``,
    else ``READ_BATCH_BYTES``."""
    if value is None:
        text = os.environ.get("MODELOPS_READ_BATCH_BYTES")
        if not text:
            return READ_BATCH_BYTES
        try:
            value = int(text)
        except ValueError:
            raise InvalidInput(f"expected a number of bytes, got {text!r}",
                               field="MODELOPS_READ_BATCH_BYTES") from None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(f"expected a positive number of bytes, got {value!r}",
                           field="batch_bytes")
    return value


def _where(model: str, part: Part) -> str:
    return f"{model}/{part.kind}/{part.day}/{part.name}"


def _report(bad: int, where: str) -> None:
    if bad:
        warnings.warn(f"modelops: skipped {bad} unreadable line(s) in {where} (a torn write, "
                      "or not a record)", StoreWarning, stacklevel=4)


def parquet_part(model: str, part: Part, data: Any, since: int | None = None,
                 until: int | None = None) -> Any | None:
    """A Parquet part — its bytes, or its file opened from the store — as an Arrow table
    (of the row groups that may hold times in ``[since, until)``; see ``arrow_parquet``);
    None, reported with a ``StoreWarning`` naming it, when it does not read as Parquet. An
    error of the store's file itself is a ``StoreError``: that part is not known damaged."""
    import pyarrow as pa

    source = data if isinstance(data, bytes) else _Watched(data)
    try:
        return arrow_parquet(source, since, until)
    except Exception as exc:
        if isinstance(source, _Watched) and source.error is exc:
            if isinstance(exc, ModelOpsError):
                raise
            raise StoreError(f"reading {_where(model, part)} failed: {type(exc).__name__}: "
                             f"{exc}") from exc
        if not isinstance(exc, (pa.ArrowException, OSError, ValueError)):
            raise
        warnings.warn(f"modelops: skipped {_where(model, part)}: it does not read as Parquet "
                      f"({type(exc).__name__}: {exc})", StoreWarning, stacklevel=2)
        return None


class _Watched:
    """A file that remembers the error it raised: pyarrow passes a Python file's own
    exception on as it is, so it can be told from one of Arrow's about the bytes."""

    def __init__(self, file: Any) -> None:
        self._file = file
        self.error: BaseException | None = None

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._file, name)
        if not callable(found):
            return found

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return found(*args, **kwargs)
            except BaseException as exc:
                self.error = exc
                raise
        return call


def _is_record(record: Any, kind: str) -> bool:
    """Whether a parsed line has what every reader relies on: an object with a string id
    and a whole-number time (of 64 bits)."""
    return (isinstance(record, dict) and isinstance(record.get("id"), str)
            and type(record.get("ts")) is int and _INT64[0] <= record["ts"] <= _INT64[1])


def parse_lines(data: bytes, where: str, kind: str = "predictions") -> list[dict[str, Any]]:
    """The records of a part of JSON lines, skipping (and reporting) lines that do not
    parse or are not records."""
    records, bad = [], 0
    for line in data.splitlines():
        if not line.strip():
            continue
        try:
            record = loads(line)
        except ValueError:  # UnicodeDecodeError included
            bad += 1
            continue
        if _is_record(record, kind):
            records.append(record)
        else:
            bad += 1
    _report(bad, where)
    return records


class PartsChanged(Conflict):
    """A part listed for a read was removed meanwhile (a compaction replaced it): the read
    starts again, so no record is missed or read twice."""


def window_parts(store: PredictionStore, model: str, kind: str, since: int | None,
                 until: int | None, to_end: bool = False) -> list[Part]:
    """The parts of ``kind`` that may hold records of ``[since, until)``: those of its days
    (of the days from ``since`` on, with ``to_end``) whose time range, when they carry one,
    meets the window. A part without a range is always read."""
    first = utc_day(since) if since is not None else None
    if to_end:
        return store.list_parts(model, kind, first, None)
    last = utc_day(until - 1) if until is not None else None
    return [p for p in store.list_parts(model, kind, first, last) if p.overlaps(since, until)]


def read_part(store: PredictionStore, model: str, part: Part) -> bytes:
    """A part's bytes; ``PartsChanged`` if it is gone by the time it is read."""
    try:
        return store.read_part(model, part)
    except NotFound:
        raise PartsChanged(part.name) from None


# -- with pyarrow ----------------------------------------------------------------------------

#: Arrow parses JSON in blocks of this size, one block a thread.
_BLOCK = 8 << 20


def use_threads(size: int) -> bool:
    """Whether Arrow should parse ``size`` bytes with its thread pool: only when there is more
    than one block. A smaller input gains nothing from the pool, and a process that starts the pool
    and exits moments later can abort in Arrow's teardown (``terminate called without an
    active exception``, apache/arrow#34314), which a short script or CLI call would do."""
    return size > _BLOCK


def arrow_json(pa: Any, data: bytes | bytearray) -> Any:
    """JSON lines as an Arrow table, in blocks of ``_BLOCK`` bytes. The lines must be what
    Arrow's reader survives (``arrow_parsable``)."""
    options = pa.json.ReadOptions(block_size=_BLOCK, use_threads=use_threads(len(data)))
    return pa.json.read_json(pa.BufferReader(data), read_options=options,
                             memory_pool=_pool(pa))


def arrow_parsable(data: bytes | bytearray) -> bool:
    """Whether ``data`` (lines, each ending with a newline) may be handed to Arrow's JSON
    reader: every line starts a JSON object (no blank line, no ``null``, no ``[]``), and
    none has ``ARROW_MAX_NESTING`` brackets and braces. A vectorized look at the byte after
    each newline, and a count of brackets in only the lines long enough to hold that many;
    no parsing."""
    if data[:1] != b"{":
        return False
    raw = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(raw == 10)
    if not len(ends) or ends[-1] != len(raw) - 1:
        ends = np.append(ends, len(raw))   # the last line, without its newline
    starts = np.concatenate(([0], ends[:-1] + 1))
    if not bool((raw[starts[1:]] == 123).all()):
        return False
    for line in np.flatnonzero(ends - starts >= ARROW_MAX_NESTING):
        text = data[starts[line]:ends[line]]
        opened = text.count(b"[") + text.count(b"{")
        if opened >= ARROW_MAX_NESTING:
            return False
    return True


def arrow_parquet(data: Any, since: int | None = None, until: int | None = None) -> Any:
    """A Parquet file (its bytes, or a seekable binary file) as an Arrow table: with
    ``since`` or ``until``, only the row groups whose ``ts`` statistics meet ``[since,
    until)`` (a row group without statistics is read), so from a file only their bytes and
    the footer are read. The pages' checksums, where the file has them (``parquet_bytes``
    writes them), are checked, and the columns' contents validated (UTF-8 strings, offsets):
    Arrow's errors (``OSError`` and ``pa.ArrowInvalid``) for a damaged file."""
    import pyarrow.parquet as pq

    source = io.BytesIO(data) if isinstance(data, bytes) else data
    file = pq.ParquetFile(source, memory_map=False, page_checksum_verification=True)
    meta = file.metadata
    threads = use_threads(meta.serialized_size + sum(
        meta.row_group(i).total_byte_size for i in range(meta.num_row_groups)))
    groups = _row_groups(meta, since, until)
    table = file.read(use_threads=threads) if groups is None else \
        file.read_row_groups(groups, use_threads=threads)
    table.validate(full=True)
    return table


def _row_groups(meta: Any, since: int | None, until: int | None) -> list[int] | None:
    """The row groups of a Parquet file that may hold times in ``[since, until)``; None for
    all of them (no window, or no ``ts`` column)."""
    if since is None and until is None:
        return None
    names = [meta.schema.column(i).path for i in range(meta.num_columns)]
    if "ts" not in names:
        return None
    at = names.index("ts")
    keep = []
    for i in range(meta.num_row_groups):
        stats = meta.row_group(i).column(at).statistics
        if stats is not None and stats.has_min_max and isinstance(stats.min, int) and \
                ((since is not None and stats.max < since)
                 or (until is not None and stats.min >= until)):
            continue
        keep.append(i)
    return keep


def _arrow() -> Any:
    try:
        import pyarrow
        import pyarrow.compute
        import pyarrow.json
        import pyarrow.parquet
    except ImportError:
        return None
    return pyarrow


class _Unreadable(StoreError):
    """Records whose types Arrow cannot hold in one column: the line-by-line reader takes
    over (it keeps such values as Python objects)."""


def _part_tables(pa: Any, model: str, kind: str, part: Part, data: bytes) -> list[Any]:
    """A part as Arrow tables: JSON lines parsed by Arrow, a part with lines that are not
    records (or that Arrow refuses) line by line."""
    if not data.strip():
        return []
    data = _ended(data)
    if arrow_parsable(data):
        try:
            return [arrow_json(pa, data)]
        except pa.ArrowInvalid:
            pass  # a torn line, or types that change within the part
    return _line_by_line(pa, model, kind, part, data)


def _ended(data: bytes) -> bytes:
    return data if data.endswith(b"\n") else data + b"\n"


class _Pending:
    """Parts of JSON lines read but not parsed yet, one after another in one buffer: parsed
    together, as one input of several blocks, Arrow's threads share them (a part alone is
    mostly smaller than a block, and would be parsed on one thread)."""

    def __init__(self, pa: Any, model: str, kind: str) -> None:
        self.pa, self.model, self.kind = pa, model, kind
        self.buffer = bytearray()
        self.parts: list[tuple[Part, int, int]] = []

    def add(self, part: Part, data: bytes) -> list[Any]:
        """Keep a part to parse with the next ones; the tables of those parsed now."""
        if not data.strip():
            return []
        data = _ended(data)
        if not arrow_parsable(data):  # after the parts before it: rows keep their order
            return self.parse() + _line_by_line(self.pa, self.model, self.kind, part, data)
        start = len(self.buffer)
        self.buffer += data
        self.parts.append((part, start, len(self.buffer)))
        return self.parse() if len(self.buffer) >= 2 * _BLOCK else []

    def parse(self) -> list[Any]:
        """The kept parts as tables: together when Arrow reads them so, else one by one
        (one part's torn line or changed types fall back on its own)."""
        buffer, parts = self.buffer, self.parts
        self.buffer, self.parts = bytearray(), []
        if len(parts) > 1:
            try:
                return [arrow_json(self.pa, buffer)]
            except self.pa.ArrowInvalid:
                pass
        return [t for part, start, end in parts
                for t in _part_tables(self.pa, self.model, self.kind, part,
                                      bytes(buffer[start:end]))]


def _batches(pa: Any, store: PredictionStore, model: str, kind: str, parts: list[Part],
             batch_bytes: int, since: int | None = None,
             until: int | None = None) -> Iterator[Any]:
    """The records of the parts, one table per ``batch_bytes`` of parts read. Parts of JSON
    lines are parsed a few blocks at a time (``_Pending``), so their bytes are held only
    until then; of a Parquet part, only the row groups that may hold times in ``[since,
    until)`` are read."""
    tables: list[Any] = []
    pending = _Pending(pa, model, kind)
    size = 0
    for part in parts:
        if part.fmt == "parquet":
            tables += pending.parse()
            try:
                with store.open_part(model, part) as file:
                    table = parquet_part(model, part, file, since, until)
            except NotFound:
                raise PartsChanged(part.name) from None
            if table is not None:
                size += table.nbytes
                tables.append(table)
        else:
            data = read_part(store, model, part)
            size += len(data)
            tables += pending.add(part, data)
            del data
        if size >= batch_bytes:
            tables += pending.parse()
            if tables:
                yield _checked(pa, _concat(pa, tables))
            tables, size = [], 0
    tables += pending.parse()
    if tables:
        yield _checked(pa, _concat(pa, tables))


def _line_by_line(pa: Any, model: str, kind: str, part: Part, data: bytes) -> list[Any]:
    records = parse_lines(data, _where(model, part), kind)
    return [_from_records(pa, records)] if records else []


def _from_records(pa: Any, records: list[dict[str, Any]]) -> Any:
    try:
        return pa.Table.from_pylist(records)
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeError, OverflowError) as exc:
        raise _Unreadable(str(exc)) from None   # an integer beyond 64 bits, say


def _concat(pa: Any, tables: list[Any]) -> Any:
    try:
        return pa.concat_tables(tables, promote_options="permissive", memory_pool=_pool(pa))
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        raise _Unreadable(str(exc)) from None


def _checked(pa: Any, table: Any) -> Any:
    """The table if its id and ts columns are what a record has (strings, whole numbers of
    64 bits or fewer, signed); else the line-by-line reader, which skips the records that are
    not, takes over."""
    names = table.column_names
    if "id" not in names or "ts" not in names or table["id"].null_count \
            or table["ts"].null_count or not pa.types.is_string(table["id"].type) \
            or not pa.types.is_signed_integer(table["ts"].type):
        raise _Unreadable("a record without a string id or a whole-number time")
    return table


def iter_prediction_batches(store: PredictionStore, model: str, *, version: str | None = None,
                            since: int | None = None, until: int | None = None,
                            batch_bytes: int | None = None) -> Iterator[Any]:
    """The predictions of ``model`` logged in ``[since, until)`` (of ``version``), as one
    Arrow table per batch of parts read (see the module docstring): the stream a
    computation over a window aggregates without holding it. Needs pyarrow.

    ``PartsChanged`` if a compaction removed a part meanwhile (start again); tables of
    batches whose types Arrow cannot unify are not mixed here — concatenate them with
    ``promote_options="permissive"``.
    """
    pa = _arrow()
    if pa is None:
        from modelops.errors import MissingDependency

        raise MissingDependency("streaming prediction reads", "pyarrow")
    parts = window_parts(store, model, "predictions", since, until)
    yield from _window_batches(pa, store, model, parts, version, since, until,
                               batch_bytes_setting(batch_bytes))


def _window_batches(pa: Any, store: PredictionStore, model: str, parts: list[Part],
                    version: str | None, since: int | None, until: int | None,
                    batch_bytes: int) -> Iterator[Any]:
    """The rows of ``parts`` of the window (and version), a table per batch."""
    for table in _batches(pa, store, model, "predictions", parts, batch_bytes, since, until):
        mask = _mask(pa, table, version, since, until)
        if mask is not None and not pa.compute.all(mask).as_py():
            table = pa.compute.filter(table, mask, memory_pool=_pool(pa))
        _release(pa)
        yield table


def _pool(pa: Any) -> Any:
    """The allocator of what a read keeps: the system's, which hands freed memory back
    (the default, mimalloc, keeps it for reuse; over a day's batches that adds a third to
    the peak)."""
    return pa.system_memory_pool()


def _release(pa: Any) -> None:
    """Give freed memory back to the system: what Arrow's default allocator keeps for reuse
    (joins, sorts), and the free pages glibc's allocator keeps between live blocks. Between
    batches it is what would otherwise add up to the peak."""
    pa.default_memory_pool().release_unused()
    if _trim is not None:
        _trim(0)


def _malloc_trim() -> Any:
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6").malloc_trim  # glibc only
    except (OSError, AttributeError):
        return None


_trim = _malloc_trim() if os.name == "posix" else None


def _mask(pa: Any, table: Any, version: str | None, since: int | None,
          until: int | None) -> Any:
    pc = pa.compute
    mask = None
    has_version = "version" in table.column_names
    if version is not None and has_version and not pa.types.is_string(table["version"].type) \
            and not pa.types.is_null(table["version"].type):
        raise _Unreadable("a version that is not a string")
    for cond in ((pc.greater_equal(table["ts"], since) if since is not None else None),
                 (pc.less(table["ts"], until) if until is not None else None),
                 ((pc.equal(table["version"], version) if has_version
                   else pa.array(np.zeros(table.num_rows, dtype=bool)))
                  if version is not None else None)):
        if cond is not None:
            mask = cond if mask is None else pc.and_(mask, cond)
    return None if mask is None else pc.fill_null(mask, False)


def _latest_feedback(pa: Any, store: PredictionStore, model: str, since: int | None,
                     batch_bytes: int) -> Any:
    """The newest feedback of each id logged on the day of ``since`` or later: a table of
    id, ts_last, actual_last (None if there is none)."""
    kept = []
    parts = window_parts(store, model, "feedback", since, None, to_end=True)
    for table in _batches(pa, store, model, "feedback", parts, batch_bytes):
        if "actual" in table.column_names:
            kept.append(table.select(["id", "ts", "actual"]))
    if not kept:
        return None
    feedback = _concat(pa, kept)
    latest = ["id", "ts_last", "actual_last"]
    ids = feedback.group_by("id", use_threads=False).aggregate([])
    if ids.num_rows == feedback.num_rows:
        # One feedback per id, the usual case: each is its id's latest. Counting the ids
        # is a quarter of the time of the sort and "last" per id below.
        return feedback.rename_columns(latest)
    return feedback.sort_by("ts").group_by("id", use_threads=False).aggregate(
        [("ts", "last"), ("actual", "last")]).select(latest)


def _numpy(pa: Any, column: Any, dtype: Any = None, shared: bool = True) -> np.ndarray:
    """An Arrow column as numpy: numbers as float (nulls NaN) or int, booleans as bool (with
    nulls: objects), others as objects (nulls None; with ``shared``, equal strings one
    shared object), made a chunk at a time."""
    if not isinstance(column, pa.ChunkedArray):
        column = pa.chunked_array([column])
    kind = column.type
    numeric = pa.types.is_integer(kind) or pa.types.is_floating(kind)
    if dtype is not None or numeric or (pa.types.is_boolean(kind) and not column.null_count):
        whole = column.combine_chunks(memory_pool=_pool(pa)) if column.num_chunks != 1 \
            else column.chunk(0)
        if dtype == np.float64 or (dtype is None and numeric and whole.null_count):
            return whole.cast(pa.float64()).fill_null(np.nan).to_numpy(zero_copy_only=False)
        values = whole.to_numpy(zero_copy_only=False)
        return values if dtype is None else values.astype(dtype)
    out = np.empty(len(column), dtype=object)
    if pa.types.is_null(kind):
        return out  # None throughout
    if shared and (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        # Each distinct string becomes one Python object shared by its rows: a column of a
        # few values (versions, labels, countries) costs a pointer a row, not a string.
        values = pa.compute.unique(column)
        if len(values) * 2 < len(column):
            objects = values.to_numpy(zero_copy_only=False).astype(object)
            at = 0
            for index in pa.compute.index_in(column, value_set=values).chunks:
                found = index.is_valid().to_numpy(zero_copy_only=False)
                piece = out[at:at + len(index)]
                piece[found] = objects[index.drop_null().to_numpy()]
                at += len(index)
            return out
    at = 0
    for chunk in column.chunks:  # no combined copy of the whole column first
        out[at:at + len(chunk)] = chunk.to_numpy(zero_copy_only=False)
        at += len(chunk)
    return out


def _take(pa: Any, table: Any, name: str, dtype: Any = None) -> tuple[Any, np.ndarray]:
    """The column ``name`` as numpy, and the table without it (its Arrow memory freed as
    soon as nothing else holds it). Ids are unique: no point looking for shared ones."""
    values = _numpy(pa, table[name], dtype, shared=name != "id")
    table = table.drop_columns([name])
    _release(pa)
    return table, values


def _with_feedback(pa: Any, table: Any, latest: Any) -> Any:
    """A batch of predictions with the latest feedback of each row's id in ``__actual`` and
    ``__feedback_ts`` (null where there is none), rows in their order."""
    n = table.num_rows
    if latest is None or not n:
        return table.append_column("__actual", pa.nulls(n)).append_column(
            "__feedback_ts", pa.nulls(n, pa.int64()))
    rows = pa.table({"id": table["id"], "__row": pa.array(np.arange(n))})
    # The batch is the join's build side (the right one): a small hash table per batch,
    # probed by the feedback, instead of hashing all the feedback again for every batch.
    joined = latest.join(rows, "id", join_type="right outer",
                         use_threads=False).sort_by("__row")
    return table.append_column("__actual", joined["actual_last"]).append_column(
        "__feedback_ts", joined["ts_last"])


def _read_arrow(pa: Any, store: PredictionStore, model: str, version: str | None,
                since: int | None, until: int | None, with_feedback: bool,
                batch_bytes: int) -> PredictionTable:
    latest = None
    if with_feedback:  # read first, so each batch of predictions is joined as it comes
        latest = _latest_feedback(pa, store, model, since, batch_bytes)
    parts = window_parts(store, model, "predictions", since, until)
    tables = [_with_feedback(pa, t, latest) for t in _window_batches(
        pa, store, model, parts, version, since, until, batch_bytes) if t.num_rows]
    del latest
    return _as_prediction_table(pa, tables)


def _as_prediction_table(pa: Any, tables: list[Any]) -> PredictionTable:
    """Batches joined to their feedback (``_with_feedback``) as one PredictionTable. The
    list is emptied: the concatenated table shares the batches' memory, and only it may hold
    it while its columns are converted and released one by one (the caller's reference to
    the list would otherwise keep every batch alive to the end)."""
    if not tables:
        return _empty()
    table = _concat(pa, tables)
    tables.clear()
    n = table.num_rows
    # Column by column, each column's Arrow memory released as soon as it is converted: the
    # peak is the result plus one column, never the result plus the whole table.
    found = table["__actual"].is_valid().to_numpy(zero_copy_only=False)
    table, values = _take(pa, table, "__actual")
    actuals = np.empty(n, dtype=object)
    actuals[found] = values[found]
    del values
    table, fb_ts = _take(pa, table, "__feedback_ts", np.float64)
    features: dict[str, np.ndarray] = {}
    if "features" in table.column_names and pa.types.is_struct(table["features"].type):
        struct = table["features"]
        table = table.drop_columns(["features"])
        kind = struct.type
        fields = [pa.chunked_array([chunk.field(i) for chunk in struct.chunks],
                                   type=kind.field(i).type) for i in range(kind.num_fields)]
        del struct
        for i, field in enumerate(fields):
            features[kind.field(i).name] = _numpy(pa, field)
            fields[i] = None
            _release(pa)
    metadata = np.empty(n, dtype=object)
    if "metadata" in table.column_names:
        if table["metadata"].null_count < n:
            metadata[:] = table["metadata"].to_pylist()
        table = table.drop_columns(["metadata"])
    columns: dict[str, np.ndarray] = {}
    for name, dtype in (("id", None), ("ts", np.int64), ("version", None),
                        ("prediction", None), ("probability", np.float64),
                        ("latency_ms", np.float64)):
        if name in table.column_names:
            table, columns[name] = _take(pa, table, name, dtype)
        else:
            columns[name] = np.full(n, np.nan) if dtype == np.float64 \
                else np.full(n, None, dtype=object)
    del table
    _release(pa)
    return PredictionTable(
        ids=columns["id"], timestamps=columns["ts"], versions=columns["version"],
        predictions=columns["prediction"], probabilities=columns["probability"],
        latency_ms=columns["latency_ms"], features=features, metadata=metadata,
        actuals=actuals, feedback_timestamps=fb_ts)


# -- without pyarrow -------------------------------------------------------------------------

def _best_array(values: list[Any]) -> np.ndarray:
    """A float array for numbers (None as NaN), a bool array for booleans, else an object
    array — the arrays the Arrow path gives."""
    if values and all(isinstance(v, bool) for v in values):
        return np.array(values, dtype=bool)
    if all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))
           for v in values):
        try:
            return np.array([np.nan if v is None else v for v in values], dtype=np.float64)
        except OverflowError:
            pass    # an integer beyond a float's range: kept as it is
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _records(store: PredictionStore, model: str, kind: str,
             parts: list[Part]) -> Iterator[dict[str, Any]]:
    """Every record of the parts, one part parsed at a time."""
    for part in parts:
        data = read_part(store, model, part)
        if part.fmt == "parquet":
            # Parquet parts exist only where pyarrow did.
            table = parquet_part(model, part, data)
            if table is not None:
                yield from (r for r in table.to_pylist() if _is_record(r, kind))
        else:
            yield from parse_lines(data, _where(model, part), kind)


def _number(value: Any) -> float:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else np.nan


def _read_python(store: PredictionStore, model: str, version: str | None,
                 since: int | None, until: int | None, with_feedback: bool,
                 parts: list[Part] | None = None) -> PredictionTable:
    fields: dict[str, list[Any]] = {name: [] for name in PREDICTION_FIELDS}
    feature_rows: list[dict[str, Any]] = []
    if parts is None:
        parts = window_parts(store, model, "predictions", since, until)
    for r in _records(store, model, "predictions", parts):
        ts = r["ts"]
        if (since is not None and ts < since) or (until is not None and ts >= until) or \
                (version is not None and r.get("version") != version):
            continue
        for name in PREDICTION_FIELDS[:-1]:
            fields[name].append(r.get(name))
        features = r.get("features")
        feature_rows.append(features if isinstance(features, dict) else {})
    if not fields["id"]:
        return _empty()
    latest: dict[Any, tuple[int, Any]] = {}
    if with_feedback:
        parts = window_parts(store, model, "feedback", since, None, to_end=True)
        for f in sorted(_records(store, model, "feedback", parts),
                        key=lambda f: f["ts"]):
            latest[f["id"]] = (f["ts"], f.get("actual"))
    names = sorted({k for row in feature_rows for k in row})
    feedback = [latest.get(i) for i in fields["id"]]

    def objects(values: list[Any]) -> np.ndarray:
        out = np.empty(len(values), dtype=object)
        out[:] = values
        return out

    return PredictionTable(
        ids=objects(fields["id"]), timestamps=fields["ts"],
        versions=objects(fields["version"]), predictions=_best_array(fields["prediction"]),
        probabilities=[_number(v) for v in fields["probability"]],
        latency_ms=[_number(v) for v in fields["latency_ms"]],
        features={k: _best_array([row.get(k) for row in feature_rows]) for k in names},
        metadata=objects(fields["metadata"]),
        actuals=objects([None if f is None else f[1] for f in feedback]),
        feedback_timestamps=[np.nan if f is None else f[0] for f in feedback])


def _empty() -> PredictionTable:
    return PredictionTable(ids=[], timestamps=[], versions=[], predictions=[],
                           probabilities=[], latency_ms=[], metadata=[], actuals=[],
                           feedback_timestamps=[])


def read_part_window(store: PredictionStore, model: str, part: Part, *,
                     version: str | None = None, since: int | None = None,
                     until: int | None = None,
                     batch_bytes: int | None = None) -> PredictionTable:
    """The rows of one prediction part in ``[since, until)`` (of ``version``), without
    feedback, as ``read_predictions`` gives them (a partition of a Dask read).
    ``PartsChanged`` if the part was compacted meanwhile."""
    pa = _arrow()
    if pa is not None:
        try:
            tables = [_with_feedback(pa, t, None) for t in _window_batches(
                pa, store, model, [part], version, since, until,
                batch_bytes_setting(batch_bytes)) if t.num_rows]
            return _as_prediction_table(pa, tables)
        except (_Unreadable, pa.ArrowException, UnicodeError):
            pass  # values Arrow cannot hold in a column: line by line, as a read does
    return _read_python(store, model, version, since, until, False, parts=[part])


def read_feedback_part(store: PredictionStore, model: str,
                       part: Part) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One feedback part's ids (objects), times (float ms) and actuals (objects)."""
    records = list(_records(store, model, "feedback", [part]))
    ids = np.empty(len(records), dtype=object)
    ids[:] = [r["id"] for r in records]
    actuals = np.empty(len(records), dtype=object)
    actuals[:] = [r.get("actual") for r in records]
    return ids, np.array([r["ts"] for r in records], dtype=np.float64), actuals


def read_predictions(store: PredictionStore, model: str, *, version: str | None = None,
                     since: int | None = None, until: int | None = None,
                     with_feedback: bool = True, engine: str = "auto",
                     batch_bytes: int | None = None) -> PredictionTable:
    """Predictions of ``model`` logged in ``[since, until)`` (Unix ms), joined to the latest
    feedback of each id. ``engine`` is ``"auto"`` (pyarrow when installed), ``"arrow"`` or
    ``"python"``; ``batch_bytes`` bounds the bytes of parts parsed at once (see the module
    docstring)."""
    batch = batch_bytes_setting(batch_bytes)
    pa = _arrow() if engine in ("auto", "arrow") else None
    if pa is None and engine == "arrow":
        from modelops.errors import MissingDependency

        raise MissingDependency("fast prediction reads", "pyarrow")
    while True:
        try:
            if pa is not None:
                try:
                    return _read_arrow(pa, store, model, version, since, until, with_feedback,
                                       batch)
                except (_Unreadable, pa.ArrowException, UnicodeError) as exc:
                    if engine == "arrow":
                        raise StoreError(f"the predictions of {model!r} in {store.uri} do not "
                                         f"read as Arrow columns ({exc}); read them with "
                                         "engine='python'") from exc
                    # Values of one field that change type (1 here, "s" there) have no Arrow
                    # column type; the line-by-line reader keeps them as Python objects.
            return _read_python(store, model, version, since, until, with_feedback)
        except PartsChanged:
            continue  # compacted meanwhile: read again, the compacted part replaces them
