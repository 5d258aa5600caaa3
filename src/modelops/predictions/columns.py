"""Predictions logged as columns, and the Parquet part they are written as.

A served request hands the logger its records as columns: the features the model was given,
one prediction and probability per row, one time, latency and metadata for all. ``Rows``
keeps them so, and the logger's writer turns the rows of many requests into one Parquet part
with Arrow: no record ever becomes JSON, and most of the encoding runs in Arrow's C++ without
the GIL, beside the serving thread rather than in its way.

The part holds what the JSON lines of the same records would (the fields of
``docs/predictions.md`` in their order, ``features`` a struct): readers see the same rows
whichever way they were written. Like the JSON encoding, every NaN and ±inf is stored as a
null.
"""

from __future__ import annotations

import io
import itertools
import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import attrs
import numpy as np

#: The dtypes (numpy kinds) of feature columns that are logged as columns: numbers,
#: booleans, strings and objects. Any other column (dates, say) is logged as JSON lines.
COLUMN_KINDS = frozenset("fiubOU")
#: A call of ``log_columns`` with fewer rows than this logs them as ``log_records`` does:
#: the writer's cost for each call's rows (about 3.5 µs) is more than encoding a few lines.
COLUMNS_MIN_ROWS = 8
#: A group of fewer rows than this is written as JSON lines: a Parquet file's footer and
#: per-column pages only pay for themselves on a part of some size.
PARQUET_MIN_ROWS = 1_000
#: Rows per row group of a Parquet part (about an hour and a half of a million-a-day
#: model): a read of part of a day reads only the row groups its window meets.
PARQUET_ROW_GROUP = 65_536
#: What Arrow raises for values it cannot hold in one column (its errors subclass these).
ARROW_ERRORS = (ValueError, TypeError, NotImplementedError, OverflowError)
_CHAIN = itertools.chain.from_iterable
_DTYPE = operator.attrgetter("dtype")


@attrs.frozen(eq=False)
class Rows:
    """Predictions made together, held as columns until they are written: ``ids`` and
    ``predictions`` (and ``probabilities``, or None) one per row, ``features`` a mapping of
    column name to a 1-D array with one value per row; ``ts``, ``latency_ms`` and
    ``metadata`` shared by every row. ``nbytes`` is what they count against the logger's
    ``max_buffer_bytes``."""

    ids: list[str]
    ts: int
    features: Mapping[str, np.ndarray]
    predictions: list[Any] | np.ndarray
    probabilities: list[Any] | np.ndarray | None
    latency_ms: float | None
    metadata: Mapping[str, Any] | None
    nbytes: int

    def __len__(self) -> int:
        return len(self.ids)

    def records(self) -> Iterator[tuple[str, dict[str, Any], Any, Any]]:
        """(id, features, prediction, probability) of each row, as plain Python values."""
        probabilities = itertools.repeat(None) if self.probabilities is None else \
            _plain(self.probabilities)
        yield from zip(self.ids, feature_records(self.features, len(self)),
                       _plain(self.predictions), probabilities)

    def split(self, size: int) -> list[Rows]:
        """These rows in pieces of at most ``size`` (themselves when they fit), each counting
        its share of ``nbytes``."""
        n = len(self)
        if n <= size:
            return [self]
        return [Rows(self.ids[at:at + size], self.ts,
                     {k: v[at:at + size] for k, v in self.features.items()},
                     self.predictions[at:at + size],
                     None if self.probabilities is None else self.probabilities[at:at + size],
                     self.latency_ms, self.metadata, self.nbytes * min(size, n - at) // n)
                for at in range(0, n, size)]


def _plain(values: list[Any] | np.ndarray) -> list[Any]:
    return values.tolist() if values.__class__ is np.ndarray else values


def feature_records(features: Mapping[str, np.ndarray], n: int) -> list[dict[str, Any]]:
    """The ``n`` rows of feature columns as one mapping of plain Python values each."""
    names = list(features)
    if not names:
        return [{} for _ in range(n)]
    return [dict(zip(names, row)) for row in zip(*(features[k].tolist() for k in names))]


def size_of(column_bytes: int, n: int) -> int:
    """Bytes that ``n`` rows of feature columns of ``column_bytes`` count in a logger's
    buffer: the arrays' own, and as much again for what their JSON would take, and at least
    64 bytes a row."""
    return 2 * column_bytes + 64 * n


def table(pa: Any, batch: Sequence[Rows], version: str | None) -> Any:
    """The rows of ``batch`` as one Arrow table with the fields of a prediction record.
    Raises Arrow's errors (``pa.ArrowInvalid`` and its kin) for values Arrow cannot hold in
    one column (predictions of mixed types, say)."""
    shapes: dict[tuple[tuple[str, ...], tuple[np.dtype, ...]], list[Rows]] = {}
    for rows in batch:
        features = rows.features
        shape = tuple(features), tuple(map(_DTYPE, features.values()))
        shapes.setdefault(shape, []).append(rows)
    tables = [_table(pa, group, version) for group in shapes.values()]
    return tables[0] if len(tables) == 1 else \
        pa.concat_tables(tables, promote_options="permissive")


def _table(pa: Any, group: list[Rows], version: str | None) -> Any:
    """Rows whose features have the same names and dtypes, as one table: each column of
    theirs joined with numpy, then handed to Arrow once."""
    sizes = [len(rows) for rows in group]
    n = sum(sizes)
    names = list(group[0].features)
    # One dtype per name in a group: each feature is one concatenation of arrays.
    features = pa.StructArray.from_arrays(
        [_arrow_array(pa, np.concatenate([rows.features[k] for rows in group]))
         for k in names], names=names)
    probabilities = pa.nulls(n, pa.float64()) \
        if all(rows.probabilities is None for rows in group) else \
        _column(pa, [np.full(len(rows), np.nan) if rows.probabilities is None else
                     rows.probabilities for rows in group], pa.float64())
    latency = np.repeat(np.array([rows.latency_ms for rows in group], dtype=np.float64),
                        sizes)
    metadata = pa.nulls(n) if all(rows.metadata is None for rows in group) else \
        pa.array(list(_CHAIN(itertools.repeat(rows.metadata, len(rows)) for rows in group)))
    return pa.table({
        "id": _ids(pa, list(_CHAIN(rows.ids for rows in group))),
        "ts": pa.array(np.repeat([rows.ts for rows in group], sizes), pa.int64()),
        "version": pa.nulls(n, pa.string()) if version is None else pa.repeat(version, n),
        "prediction": _column(pa, [rows.predictions for rows in group]),
        "probability": probabilities,
        "latency_ms": _arrow_array(pa, latency),
        "features": features,
        "metadata": metadata,
    })


def _column(pa: Any, parts: list[list[Any] | np.ndarray], kind: Any = None) -> Any:
    """The values of ``parts`` (numpy arrays, or lists of plain values) as one Arrow column
    of type ``kind`` (else as Arrow infers it), its NaN and ±inf as nulls: with numpy alone
    when every part is an array of one dtype, so that no value becomes a Python object;
    else as Arrow converts the values, whatever their types."""
    if all(part.__class__ is np.ndarray for part in parts) and \
            len({part.dtype for part in parts}) == 1:
        column = _arrow_array(pa, np.concatenate(parts))
        return column if kind is None else column.cast(kind)
    return _finite(pa, pa.array(list(_CHAIN(map(_plain, parts))), kind, from_pandas=True))


def _ids(pa: Any, ids: list[str]) -> Any:
    """The ids as an Arrow string column: built from one joined buffer when every id has
    the 32 ASCII digits modelops makes (the usual case, four times faster), else by Arrow."""
    joined = "".join(ids)
    # 32 n characters in all and none shorter: every id has exactly 32
    if len(joined) != 32 * len(ids) or not joined.isascii() or \
            min(map(len, ids), default=32) != 32:
        return pa.array(ids, pa.string())
    data = joined.encode()
    offsets = np.arange(0, len(data) + 1, 32, dtype=np.int32)
    return pa.StringArray.from_buffers(len(ids), pa.py_buffer(offsets), pa.py_buffer(data))


def _arrow_array(pa: Any, column: np.ndarray) -> Any:
    """A numpy column as an Arrow array, its NaN and ±inf as nulls: float columns with
    numpy's mask (no copy when every value is finite), others as Arrow converts them (None,
    and NaN among objects, as null)."""
    if column.dtype.kind == "f":
        finite = np.isfinite(column)
        return pa.array(column) if finite.all() else pa.array(column, mask=~finite)
    return _finite(pa, pa.array(column, from_pandas=True))


def _finite(pa: Any, array: Any) -> Any:
    """``array`` with its ±inf as nulls, as the JSON encoding stores them (NaN already is)."""
    if not pa.types.is_floating(array.type):
        return array
    import pyarrow.compute as pc

    return pc.if_else(pc.is_finite(array), array, pa.scalar(None, array.type))


def arrow() -> Any:
    """pyarrow with its Parquet writer, or None where it is not installed."""
    try:
        import pyarrow
        import pyarrow.compute
        import pyarrow.parquet
    except ImportError:
        return None
    return pyarrow


def parquet_bytes(table: Any) -> bytes:
    """An Arrow table as the bytes of one Parquet file, each page with its checksum (a read
    then tells a damaged page from data: 15 % of the write's time). Only its string columns
    other than ``id`` are dictionary-encoded: dictionaries pay for repeated strings
    (versions, labels, categories); tried on floats and unique ids they cost five times the
    rest of the write and save nothing."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    strings = [path for path, kind in _leaves(pa, table.schema)
               if path != "id" and (pa.types.is_string(kind) or pa.types.is_large_string(kind))]
    sink = io.BytesIO()
    pq.write_table(table, sink, row_group_size=PARQUET_ROW_GROUP, use_dictionary=strings,
                   write_page_checksum=True)
    return sink.getvalue()


def _leaves(pa: Any, fields: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted path, type) of each leaf column of a schema (or of a struct's fields)."""
    for field in fields:
        if pa.types.is_struct(field.type):
            yield from _leaves(pa, field.type, f"{prefix}{field.name}.")
        else:
            yield prefix + field.name, field.type


class Lines(Sequence[str]):
    """The records of an Arrow table as JSON lines, encoded on first use: what listeners of
    ``modelops_predictions_written`` that read ``records`` get for a Parquet part."""

    def __init__(self, table: Any, encode: Callable[[Any], str]) -> None:
        self._table = table
        self._encode = encode
        self._lines: list[str] | None = None

    def __len__(self) -> int:
        return self._table.num_rows

    def __getitem__(self, index: Any) -> Any:
        if self._lines is None:
            self._lines = [self._encode(row) for row in self._table.to_pylist()]
        return self._lines[index]
