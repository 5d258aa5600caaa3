"""A columnar search index of run summaries: what a cold search reads instead of every run.

One file per experiment holds a header and one blob per column. A reader reads the header,
then only the columns its filter and order name (``read_range``: a ``pread`` on local disk, a
ranged GET on S3), evaluates the filter on whole arrays, sorts the matches by their keys and
decodes the summaries of the returned page alone. The cost of a search is a few array passes
over the runs, not a decoded record per run.

Layout of the file::

    MOSI1\\n                  magic
    <8 bytes, little-endian>  length of the header
    <header>                  JSON: run count, the change token and the offset of the
                              summary log it reflects, statuses, and for every column where
                              its blob lies: [offset, length, crc32]
    <blobs>                   numpy arrays (little-endian) and JSON lists of strings

Columns: ``run_id`` (strings), ``start_time``, ``end_time`` and its presence, ``status``
(codes into the header's list), ``run_name``, ``user``, ``parent_run_id``; for every metric
key the rows that have it and its latest value; for every param and tag key the rows that
have it and a code into its distinct values; the summaries themselves (JSON, one after the
other, with their offsets and checksums) and the summary files' signatures.

Metrics, params and tags are sparse (a run without a key costs nothing for it), strings are
stored once per distinct value. Everything read back is checked — the crc32 of each blob, its
length, the codes and rows it holds — before it is used; a table that does not check out
raises ``DamagedIndex`` and the caller rebuilds it from the summaries.
"""

from __future__ import annotations

import bisect
import json
import math
import struct
import zlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from modelops import query
from modelops._json import loads
from modelops.backends.layout.summary_log import INT64_MAX, INT64_MIN
from modelops.entities import RunStatus

MAGIC = b"MOSI1\n"
_HEAD = len(MAGIC) + 8
#: How much of the file the first read takes: the header of most indexes fits.
_FIRST_READ = 1 << 16
#: Summaries of a page closer than this are read as one range (a page of the disk).
_GAP = 4096
_STATUSES = tuple(s.value for s in RunStatus)
_STATUS_CODE = {s: i for i, s in enumerate(_STATUSES)}
#: Summary fields the table leaves out of its stored summaries because they are rebuilt.
DERIVED = ("run_id", "experiment_id", "artifact_uri", "last_segment")


class DamagedIndex(Exception):
    """A stored index that does not check out (the message says what)."""


# -- building -------------------------------------------------------------------------------


class _Strings:
    """A string column under construction: rows holding a value, and codes into distinct
    values."""

    __slots__ = ("codes", "rows", "values")

    def __init__(self) -> None:
        self.rows: list[int] = []
        self.codes: list[int] = []
        self.values: dict[str, int] = {}

    def add(self, row: int, value: str) -> None:
        self.rows.append(row)
        self.codes.append(self.values.setdefault(value, len(self.values)))


def build(entries: Sequence[tuple[str, dict[str, Any], Any, bytes | None]],
          token: str | None, log: int | None = None) -> bytes:
    """The bytes of a table of ``(run_id, summary, signature, its JSON or None)`` entries
    (summaries already
    checked for their shape and by ``indexable``), valid at change ``token`` and at the
    offset ``log`` of the experiment's summary log."""
    n = len(entries)
    start = np.empty(n, dtype="<i8")
    end = np.zeros(n, dtype="<i8")
    has_end = np.zeros(n, dtype="u1")
    status = np.empty(n, dtype="u1")
    names, users, parents = _Strings(), _Strings(), _Strings()
    metrics: dict[str, tuple[list[int], list[float]]] = {}
    params: dict[str, _Strings] = {}
    tags: dict[str, _Strings] = {}
    rows: list[bytes] = []
    for i, (_, s, _, raw) in enumerate(entries):
        start[i] = s["start_time"]
        if s["end_time"] is not None:
            end[i] = s["end_time"]
            has_end[i] = 1
        status[i] = _STATUS_CODE[s["status"]]
        names.add(i, s["run_name"])
        users.add(i, s["user"])
        if s["parent_run_id"] is not None:
            parents.add(i, s["parent_run_id"])
        for key, point in s["metrics"].items():
            value = float(point[0])
            found = metrics.get(key)
            if found is None:
                found = metrics[key] = ([], [])
            found[0].append(i)
            found[1].append(value)
        for store, mapping in ((params, s["params"]), (tags, s["tags"])):
            for key, value in mapping.items():
                column = store.get(key)
                if column is None:
                    column = store[key] = _Strings()
                column.add(i, value)
        rows.append(raw if raw is not None else json.dumps(
            {k: v for k, v in s.items() if k not in DERIVED}, separators=(",", ":"),
            allow_nan=True).encode())
    offsets = np.zeros(n + 1, dtype="<i8")
    np.cumsum([len(r) for r in rows], out=offsets[1:])
    crcs = np.fromiter(map(zlib.crc32, rows), dtype="<u4", count=n)
    writer = _Writer()
    header: dict[str, Any] = {
        "n": n, "token": token, "log": log, "statuses": list(_STATUSES),
        "run_id": writer.strings([entry[0] for entry in entries]),
        "start_time": writer.array(start), "end_time": writer.array(end),
        "has_end": writer.array(has_end), "status": writer.array(status),
        "run_name": writer.column(names), "user": writer.column(users),
        "parent_run_id": writer.column(parents),
        "metrics": {key: {"rows": writer.array(np.asarray(r, dtype="<i4")),
                          "values": writer.array(np.asarray(v, dtype="<f8"))}
                    for key, (r, v) in metrics.items()},
        "params": {key: writer.column(c) for key, c in params.items()},
        "tags": {key: writer.column(c) for key, c in tags.items()},
        "summaries": writer.blob(b"".join(rows)), "offsets": writer.array(offsets),
        "summary_crcs": writer.array(crcs),
        "signatures": writer.blob(json.dumps([list(entry[2]) if entry[2] else None
                                              for entry in entries]).encode()),
    }
    head = json.dumps(header, separators=(",", ":")).encode()
    return MAGIC + struct.pack("<Q", len(head)) + head + b"".join(writer.parts)


class _Writer:
    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.offset = 0

    def blob(self, data: bytes) -> list[int]:
        where = [self.offset, len(data), zlib.crc32(data)]
        self.parts.append(data)
        self.offset += len(data)
        return where

    def array(self, array: np.ndarray) -> list[int]:
        return self.blob(array.tobytes())

    def strings(self, values: list[str]) -> list[int]:
        return self.blob(json.dumps(values, separators=(",", ":")).encode())

    def column(self, column: _Strings) -> dict[str, list[int]]:
        return {"rows": self.array(np.asarray(column.rows, dtype="<i4")),
                "codes": self.array(np.asarray(column.codes, dtype="<i4")),
                "values": self.strings(list(column.values))}


# -- reading --------------------------------------------------------------------------------


class StringColumn:
    """A sparse string column: ``rows`` that hold a value, each value's ``codes`` into the
    distinct ``values``."""

    __slots__ = ("codes", "rows", "values")

    def __init__(self, rows: np.ndarray, codes: np.ndarray, values: list[str]) -> None:
        self.rows, self.codes, self.values = rows, codes, values


class Table:
    """A stored table, read column by column as a search asks for them.

    ``read(start, end)`` returns bytes of the file (``end`` None: to its end), and
    ``read_many(ranges)`` the bytes of several ``(start, end)`` ranges. Columns are decoded
    once and kept.
    """

    def __init__(self, read: Callable[[int, int | None], bytes],
                 read_many: Callable[[list[tuple[int, int]]], list[bytes]] | None = None
                 ) -> None:
        first = read(0, _FIRST_READ)
        if first[:len(MAGIC)] != MAGIC or len(first) < _HEAD:
            raise DamagedIndex("not a search index (no magic)")
        (size,) = struct.unpack("<Q", first[len(MAGIC):_HEAD])
        head = first[_HEAD:_HEAD + size]
        if len(head) < size:
            head += read(_HEAD + len(head), _HEAD + size)
        try:
            self.header = loads(head)
            self.n = self.header["n"]
            token, log = self.header["token"], self.header["log"]
            if type(self.n) is not int or self.n < 0 or not (token is None
                                                              or type(token) is str) \
                    or not (log is None or (type(log) is int and log >= 0)) \
                    or self.header["statuses"] != list(_STATUSES):
                raise DamagedIndex("a header of the wrong shape")
        except (ValueError, KeyError, TypeError) as exc:
            raise DamagedIndex(f"an unreadable header ({exc})") from None
        self._read_many = read_many or (lambda ranges: [read(a, b) for a, b in ranges])
        self.token: str | None = token
        #: How far into the experiment's summary log the table reflects (None: unknown).
        self.log: int | None = log
        self._read = read
        self._base = _HEAD + size
        self._cache: dict[Any, Any] = {}
        #: Whether a column read back did not check out (the search then rebuilds the table).
        self.damaged = False

    @classmethod
    def of_bytes(cls, data: bytes) -> Table:
        return cls(lambda start, end: data[start:end])

    # -- blobs

    def _blob(self, where: Any) -> bytes:
        if not (type(where) is list and len(where) == 3
                and all(type(x) is int and x >= 0 for x in where)):
            raise DamagedIndex("a column without a place")
        offset, length, crc = where
        data = self._read(self._base + offset, self._base + offset + length)
        if len(data) != length or zlib.crc32(data) != crc:
            raise DamagedIndex("a column whose bytes do not match their checksum")
        return data

    def _array(self, where: Any, dtype: str, length: int | None = None) -> np.ndarray:
        data = self._blob(where)
        size = np.dtype(dtype).itemsize
        if len(data) % size or (length is not None and len(data) != length * size):
            raise DamagedIndex("a column of the wrong length")
        return np.frombuffer(data, dtype=dtype)

    def _strings(self, where: Any) -> list[str]:
        try:
            values = loads(self._blob(where))
        except ValueError:
            raise DamagedIndex("a list of strings that is not JSON") from None
        if type(values) is not list or not set(map(type, values)) <= {str}:
            raise DamagedIndex("a list of strings of the wrong shape")
        return values

    def _rows(self, where: Any, length: int | None = None) -> np.ndarray:
        rows = self._array(where, "<i4", length)
        if len(rows) and (rows[0] < 0 or rows[-1] >= self.n
                          or (len(rows) > 1 and not bool(np.all(rows[1:] > rows[:-1])))):
            raise DamagedIndex("rows out of order or out of range")
        return rows

    def _string_column(self, where: Any) -> StringColumn:
        if not isinstance(where, dict):
            raise DamagedIndex("a string column of the wrong shape")
        try:
            rows = self._rows(where["rows"])
            codes = self._array(where["codes"], "<i4", len(rows))
            values = self._strings(where["values"])
        except KeyError:
            raise DamagedIndex("a string column of the wrong shape") from None
        if len(codes) and (int(codes.min()) < 0 or int(codes.max()) >= len(values)):
            raise DamagedIndex("codes out of range")
        return StringColumn(rows, codes, values)

    def _cached(self, key: Any, make: Callable[[], Any]) -> Any:
        found = self._cache.get(key)
        if found is None:
            try:
                found = self._cache[key] = make()
            except DamagedIndex:
                self.damaged = True
                raise
        return found

    # -- columns

    def run_ids(self) -> list[str]:
        def make() -> list[str]:
            ids = self._strings(self.header.get("run_id"))
            if len(ids) != self.n:
                raise DamagedIndex("run ids of the wrong length")
            return ids
        return self._cached("run_id", make)

    def start_time(self) -> np.ndarray:
        return self._cached("start_time",
                            lambda: self._array(self.header.get("start_time"), "<i8", self.n))

    def end_time(self) -> tuple[np.ndarray, np.ndarray]:
        def make() -> tuple[np.ndarray, np.ndarray]:
            has = self._array(self.header.get("has_end"), "u1", self.n)
            if len(has) and int(has.max()) > 1:
                raise DamagedIndex("end-time presence flags that are not 0 or 1")
            return self._array(self.header.get("end_time"), "<i8", self.n), has.view(bool)
        return self._cached("end_time", make)

    def status(self) -> np.ndarray:
        def make() -> np.ndarray:
            codes = self._array(self.header.get("status"), "u1", self.n)
            if len(codes) and int(codes.max()) >= len(_STATUSES):
                raise DamagedIndex("status codes out of range")
            return codes
        return self._cached("status", make)

    def strings(self, kind: str, key: str) -> StringColumn | None:
        """A param or tag column (``kind`` "params" or "tags"), or the attribute ``key``
        run_name, user or parent_run_id (``kind`` "attributes"); None if no run has it."""
        if kind == "attributes":
            where = self.header.get(key)
        else:
            columns = self.header.get(kind)
            if not isinstance(columns, dict):
                raise DamagedIndex(f"no {kind} in the header")
            where = columns.get(key)
        if where is None:
            return None
        return self._cached((kind, key), lambda: self._string_column(where))

    def metric(self, key: str) -> tuple[np.ndarray, np.ndarray] | None:
        """The rows that have metric ``key`` and its latest value there; None if none."""
        columns = self.header.get("metrics")
        if not isinstance(columns, dict):
            raise DamagedIndex("no metrics in the header")
        where = columns.get(key)
        if where is None:
            return None

        def make() -> tuple[np.ndarray, np.ndarray]:
            if not isinstance(where, dict) or set(where) != {"rows", "values"}:
                raise DamagedIndex("a metric column of the wrong shape")
            rows = self._rows(where["rows"])
            return rows, self._array(where["values"], "<f8", len(rows))
        return self._cached(("metrics", key), make)

    def summaries(self, rows: Sequence[int]) -> list[dict[str, Any]]:
        """The stored summaries of ``rows`` (without the derived fields), each checked against
        its checksum. Only their bytes are read: one range for rows near each other
        (``_GAP``), a range apiece for the others, all in one call."""
        offsets = self._cached("offsets", lambda: self._checked_offsets())
        if not len(rows):
            return []
        where = self.header.get("summaries")
        if not (type(where) is list and len(where) == 3 and type(where[0]) is int):
            self.damaged = True
            raise DamagedIndex("no summaries in the header")
        crcs = self._cached("summary_crcs", lambda: self._array(
            self.header.get("summary_crcs"), "<u4", self.n))
        base = self._base + where[0]
        spans: list[list[int]] = []  # [start, end] in the blob, merged
        for row in sorted(set(rows)):
            start, end = int(offsets[row]), int(offsets[row + 1])
            if spans and start - spans[-1][1] <= _GAP:
                spans[-1][1] = end
            else:
                spans.append([start, end])
        chunks = self._read_many([(base + a, base + b) for a, b in spans])
        found: dict[int, bytes] = {}
        for (a, b), data in zip(spans, chunks):
            if len(data) != b - a:
                self.damaged = True
                raise DamagedIndex("summaries cut short")
            found[a] = data
        starts = [a for a, _ in spans]
        out = []
        for row in rows:
            start = int(offsets[row])
            at = starts[bisect.bisect_right(starts, start) - 1]
            line = found[at][start - at:int(offsets[row + 1]) - at]
            if zlib.crc32(line) != crcs[row]:
                self.damaged = True
                raise DamagedIndex("a summary whose bytes do not match its checksum")
            try:
                out.append(loads(line))
            except ValueError:
                self.damaged = True
                raise DamagedIndex("a summary that is not JSON") from None
        return out

    def _checked_offsets(self) -> np.ndarray:
        offsets = self._array(self.header.get("offsets"), "<i8", self.n + 1)
        summaries = self.header.get("summaries")
        if (type(summaries) is not list or len(summaries) != 3 or offsets[0] != 0
                or offsets[-1] != summaries[1]
                or (self.n and not bool(np.all(offsets[1:] >= offsets[:-1])))):
            raise DamagedIndex("summary offsets that do not fit the summaries")
        return offsets

    def signatures(self) -> list[Any]:
        def make() -> list[Any]:
            try:
                sigs = loads(self._blob(self.header.get("signatures")))
            except ValueError:
                raise DamagedIndex("signatures that are not JSON") from None
            if type(sigs) is not list or len(sigs) != self.n:
                raise DamagedIndex("signatures of the wrong length")
            return [tuple(s) if type(s) is list else None for s in sigs]
        return self._cached("signatures", make)


# -- evaluating -----------------------------------------------------------------------------


class Part:
    """The rows of one table a search looks at: ``keep`` (a bool per row: not replaced, not
    purged, admitted by the view) and what the table does not hold itself."""

    def __init__(self, table: Table, keep: np.ndarray, deleted: np.ndarray,
                 experiment_id: str, runs_uri: str) -> None:
        self.table = table
        self.keep = keep
        self.deleted = deleted
        self.experiment_id = experiment_id
        self.runs_uri = runs_uri


def _numeric_mask(values: np.ndarray, op: str, value: float) -> np.ndarray:
    """``values <op> value`` for int64 ``values``, exactly as Python compares an int with a
    float (converting the ints to float64 would round those beyond 2**53)."""
    if value != value:
        return np.full(len(values), op == "!=")
    if math.isinf(value):
        true = (op in ("<", "<=", "!=")) if value > 0 else (op in (">", ">=", "!="))
        return np.full(len(values), true)
    lo, hi = math.floor(value), math.ceil(value)
    if op in ("=", "!="):
        if lo != hi or not INT64_MIN <= lo <= INT64_MAX:
            return np.full(len(values), op == "!=")
        return values == lo if op == "=" else values != lo
    bound = {">": lo, ">=": hi, "<": hi, "<=": lo}[op]
    bound = min(max(bound, INT64_MIN - 1), INT64_MAX + 1)
    if bound < INT64_MIN:
        return np.full(len(values), op in (">", ">="))
    if bound > INT64_MAX:
        return np.full(len(values), op in ("<", "<="))
    return query.COMPARE[op](values, np.int64(bound))


def _matches(values: Sequence[str], test: Callable[[str], Any]) -> np.ndarray:
    return np.fromiter((bool(test(v)) for v in values), dtype=bool, count=len(values))


def _clause(part: Part, clause: query.Comparison) -> np.ndarray:
    """The rows of a part that satisfy one clause (a row lacking the key never does)."""
    t, kind, key, op, value = part.table, clause.kind, clause.key, clause.op, clause.value
    n = t.n
    out = np.zeros(n, dtype=bool)
    if kind == "metrics":
        found = t.metric(key)
        if found is not None:
            rows, values = found
            with np.errstate(invalid="ignore"):
                out[rows] = query.COMPARE[op](values, value)
        return out
    if kind == "attributes" and key == "start_time":
        return _numeric_mask(t.start_time(), op, value)
    if kind == "attributes" and key == "end_time":
        end, has = t.end_time()
        return _numeric_mask(end, op, value) & has
    test = query.string_test(op, value)
    if kind in ("params", "tags") or key in ("run_name", "user", "parent_run_id"):
        column = t.strings(kind, key)
        if column is not None:
            out[column.rows] = _matches(column.values, test)[column.codes]
        return out
    if key == "run_id":
        return _matches(t.run_ids(), test)
    if key == "status":
        return _matches(_STATUSES, test)[t.status()]
    if key == "experiment_id":
        return np.full(n, bool(test(part.experiment_id)))
    if key == "lifecycle_stage":
        return np.where(part.deleted, bool(test("deleted")), bool(test("active")))
    if key == "artifact_uri":
        return _matches([f"{part.runs_uri}/{r}/artifacts" for r in t.run_ids()], test)
    raise AssertionError(f"an attribute the filter language does not have: {key}")


def select(part: Part, filter: query.Filter | None) -> np.ndarray:
    """The rows of a part that are kept and match ``filter``, as indices."""
    mask = part.keep.copy()
    for clause in filter.clauses if filter is not None else ():
        mask &= _clause(part, clause)
    return np.flatnonzero(mask)


# Sort values of the selected rows of each part: (group, value) with group 0 for a value,
# 1 for NaN, 2 for a missing one, and values of one kind across parts (float64, int64, or
# an object array of strings).


def _sparse_values(n: int, rows: np.ndarray, values: np.ndarray | list[Any],
                   fill: Any, dtype: Any) -> tuple[np.ndarray, np.ndarray]:
    group = np.full(n, 2, dtype=np.int8)
    out = np.full(n, fill, dtype=dtype)
    group[rows] = 0
    out[rows] = values
    return group, out


def _sort_values(part: Part, kind: str, key: str) -> tuple[np.ndarray, np.ndarray]:
    t = part.table
    n = t.n
    if kind == "metrics":
        found = t.metric(key)
        if found is None:
            return np.full(n, 2, dtype=np.int8), np.zeros(n)
        group, values = _sparse_values(n, found[0], found[1], 0.0, np.float64)
        nan = np.isnan(values) & (group == 0)
        group[nan] = 1
        values[nan] = 0.0
        return group, values
    if kind == "attributes" and key == "start_time":
        return np.zeros(n, dtype=np.int8), t.start_time()
    if kind == "attributes" and key == "end_time":
        end, has = t.end_time()
        return np.where(has, 0, 2).astype(np.int8), end
    if kind in ("params", "tags") or key in ("run_name", "user", "parent_run_id"):
        column = t.strings(kind, key)
        if column is None:
            return np.full(n, 2, dtype=np.int8), np.full(n, "", dtype=object)
        values = np.asarray(column.values, dtype=object)[column.codes] if len(column.codes) \
            else np.zeros(0, dtype=object)
        return _sparse_values(n, column.rows, values, "", object)
    zero = np.zeros(n, dtype=np.int8)
    if key == "run_id":
        return zero, np.asarray(t.run_ids(), dtype=object)
    if key == "status":
        return zero, np.asarray(_STATUSES, dtype=object)[t.status()]
    if key == "experiment_id":
        return zero, np.full(n, part.experiment_id, dtype=object)
    if key == "lifecycle_stage":
        return zero, np.where(part.deleted, "deleted", "active").astype(object)
    if key == "artifact_uri":
        return zero, np.asarray([f"{part.runs_uri}/{r}/artifacts" for r in t.run_ids()],
                                dtype=object)
    raise AssertionError(f"an attribute the filter language does not have: {key}")


def _ranks(values: np.ndarray) -> np.ndarray:
    """Dense ranks of ``values`` (equal values share a rank)."""
    if not len(values):
        return np.zeros(0, dtype=np.int64)
    if values.dtype == object:
        # Python's order of str (by code point), as sorted() gives it.
        distinct = sorted(set(values.tolist()))
        at = {v: i for i, v in enumerate(distinct)}
        return np.fromiter((at[v] for v in values.tolist()), dtype=np.int64, count=len(values))
    return np.unique(values, return_inverse=True)[1].reshape(-1).astype(np.int64)


def order(parts: Sequence[Part], picked: Sequence[np.ndarray],
          order_by: Sequence[query.OrderBy]) -> list[tuple[int, int]]:
    """The selected rows of every part as ``(part, row)``, in the order ``query.sort_runs``
    gives runs: the ``order_by`` keys (present values, then NaN, then missing, whichever the
    direction), then start_time descending, then run_id ascending."""
    which = np.concatenate([np.full(len(rows), i, dtype=np.int64)
                            for i, rows in enumerate(picked)] or [np.zeros(0, np.int64)])
    where = np.concatenate([np.asarray(rows, dtype=np.int64) for rows in picked]
                           or [np.zeros(0, np.int64)])
    if not len(where):
        return []

    def gathered(kind: str, key: str) -> tuple[np.ndarray, np.ndarray]:
        groups, values = [], []
        for part, rows in zip(parts, picked):
            group, value = _sort_values(part, kind, key)
            groups.append(group[rows])
            values.append(value[rows])
        if any(v.dtype == object for v in values):
            values = [v.astype(object) for v in values]
        return np.concatenate(groups), np.concatenate(values)

    # np.lexsort: the last key is the primary one.
    _, run_ids = gathered("attributes", "run_id")
    _, start = gathered("attributes", "start_time")
    keys: list[np.ndarray] = [_ranks(run_ids), -_ranks(start)]
    for clause in reversed(tuple(order_by)):
        group, values = gathered(clause.kind, clause.key)
        rank = _ranks(values)
        keys.append(rank if clause.ascending else -rank)
        keys.append(group)
    sequence = np.lexsort(keys)
    return list(zip(which[sequence].tolist(), where[sequence].tolist()))
