"""Frames as checked columns: kind, dtype family, missing and infinite masks, labels, row keys.

Everything here is internal to :mod:`modelops.validation`. Frames arrive duck-typed through
:func:`modelops.frames.to_columns`; each column is classified once (:class:`Column`) and every
check works on that.

Rows are compared exactly: each column becomes one ``uint64`` key per row (the bits of the
value, or a code for a label), rows are hashed from their keys, and rows with equal hashes are
compared key by key. A hash collision (two different rows with one hash) is detected, and the
comparison then falls back to sorting the rows' keys, so the answer never depends on luck.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from modelops.errors import InvalidInput
from modelops.frames import CATEGORICAL, NUMERIC, categorical, column_kind, numeric, to_columns

__all__ = [
    "CATEGORICAL",
    "NUMERIC",
    "Column",
    "check_names",
    "contained_rows",
    "duplicated_rows",
    "joint_keys",
    "label_of",
    "read",
    "sort_labels",
]

# numpy dtype kind -> the dtype family a schema records
_FAMILY = {"b": "bool", "i": "int", "u": "int", "f": "float", "c": "complex", "U": "str",
           "S": "bytes"}


def read(frame: Any, what: str, columns: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """The frame's raw columns; an error about the frame as a whole names it ``what``
    (``frame``, ``reference``, ``train``, ``test``)."""
    try:
        return to_columns(frame, columns)
    except InvalidInput as exc:
        if exc.field != "frame" or what == "frame":
            raise
        message = str(exc).removeprefix("frame: ")
        raise InvalidInput(message, field=what) from None


def check_names(names: Sequence[str] | None, data: dict[str, np.ndarray], field: str) -> set[str]:
    """Column names given by the caller (``categorical=``), all of which must exist."""
    if names is None:
        return set()
    if isinstance(names, str):
        names = [names]
    chosen = {str(n) for n in names}
    unknown = sorted(chosen - set(data))
    if unknown:
        raise InvalidInput(f"no column {unknown[0]!r} in the frame", field=field)
    return chosen


def _is_na(value: Any) -> bool:
    """pandas' ``NA`` (nullable ``boolean`` / ``string`` columns), found without pandas."""
    return type(value).__name__ == "NAType"


def _missing_object(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value) or _is_na(value)


def _is_bool(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_))


def _object_array(values: list[Any]) -> np.ndarray:
    """A 1-D object array of these values (tuples stay elements)."""
    return np.fromiter(values, dtype=object, count=len(values))


def _family_of(types: Iterable[type]) -> str:
    """The dtype family of an object column from the types of its present values."""
    seen: set[str] = set()
    for t in types:
        if issubclass(t, (bool, np.bool_)):
            seen.add("bool")
        elif issubclass(t, (int, np.integer)):
            seen.add("int")
        elif issubclass(t, (float, np.floating)):
            seen.add("float")
        elif issubclass(t, str):
            seen.add("str")
        elif issubclass(t, bytes):
            seen.add("bytes")
        else:
            return "object"
    if not seen:
        return "object"
    if seen <= {"bool"}:
        return "bool"
    if seen <= {"bool", "int"}:
        return "int"
    if seen <= {"bool", "int", "float"}:
        return "float"
    if len(seen) == 1:
        return seen.pop()
    return "object"


def _inspect_object(raw: np.ndarray) -> tuple[np.ndarray, str, list[Any]]:
    """An object column with pandas' NA turned into None, its dtype family, its values.

    Works on the set of value types, so a column of strings costs a few C-level passes
    rather than a Python test per value."""
    values = raw.tolist()
    types = set(map(type, values))
    if any(t.__name__ == "NAType" for t in types):
        values = [None if _is_na(v) else v for v in values]
        raw = _object_array(values)
        types = set(map(type, values))
    types.discard(type(None))
    floats = {t for t in types if issubclass(t, (float, np.floating))}
    if floats and not any(v == v for v in values if type(v) in floats):
        types -= floats  # only NaN: missing values, not numbers
    return raw, _family_of(types), values


def label_of(value: Any) -> str | None:
    """One value as a category label: missing is None, whole floats print as integers (so
    ``3`` and ``3.0`` are the same category), booleans as ``True``/``False``."""
    if _missing_object(value):
        return None
    if _is_bool(value):
        return "True" if value else "False"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return str(int(f)) if f.is_integer() else str(f)
    return value if isinstance(value, str) else str(value)


def _labels(raw: np.ndarray, dtype: str, values: list[Any] | None = None) -> np.ndarray:
    kind = raw.dtype.kind
    if kind == "U":
        return raw.astype(object)
    if kind in "iu":
        return raw.astype(str).astype(object)
    if kind == "O" and dtype == "str":
        values = raw.tolist() if values is None else values
        out = _object_array(values)
        out[np.fromiter((not isinstance(v, str) for v in values), dtype=bool,
                        count=len(values))] = None
        return out
    if kind in "bfO":
        return _object_array([label_of(v) for v in raw.tolist()])
    return categorical(raw)


def sort_labels(labels: Iterable[str], dtype: str) -> list[str]:
    """Labels in natural order: by number for numeric columns, alphabetically otherwise."""
    labels = list(labels)
    if dtype in ("int", "float"):
        try:
            return sorted(labels, key=float)
        except ValueError:
            pass
    return sorted(labels)


class Column:
    """One column, classified and converted once.

    ``dtype`` is the family of its values (``bool``, ``int``, ``float``, ``str``, ``bytes``,
    ``complex``, ``object``). ``values`` (numeric columns) is float64 with NaN for missing;
    ``labels`` (categorical columns) is an object array of str with None for missing.
    ``missing`` marks NaN/None/pandas NA, ``infinite`` marks ±inf (never missing), ``finite``
    holds the finite values.
    """

    __slots__ = ("_finite", "dtype", "infinite", "kind", "labels", "missing", "name", "raw",
                 "values")

    def __init__(self, name: str, raw: np.ndarray, *, forced_categorical: bool = False) -> None:
        values: list[Any] | None = None
        if raw.dtype.kind == "O":
            raw, self.dtype, values = _inspect_object(raw)
        else:
            self.dtype = _FAMILY.get(raw.dtype.kind, str(raw.dtype))
        self.name = name
        self.raw = raw
        if forced_categorical:
            self.kind = CATEGORICAL
        elif raw.dtype.kind == "O" and self.dtype in ("bool", "int", "float"):
            self.kind = NUMERIC  # booleans are numbers (0/1) here, also in an object column
        elif raw.dtype.kind == "O" and self.dtype in ("str", "bytes"):
            self.kind = CATEGORICAL
        else:
            self.kind = column_kind(raw, name)  # refuses numbers mixed with strings, dates
        self._finite: np.ndarray | None = None
        n = len(raw)
        if self.kind == NUMERIC:
            self.values: np.ndarray | None = numeric(raw, name)
            self.labels: np.ndarray | None = None
            self.missing = np.isnan(self.values)
            self.infinite = np.isinf(self.values)
        else:
            self.values = None
            self.labels = _labels(raw, self.dtype, values)
            if raw.dtype.kind == "U":
                self.missing = np.zeros(n, dtype=bool)
            else:
                self.missing = np.fromiter((v is None for v in self.labels.tolist()),
                                           dtype=bool, count=n)
            self.infinite = np.zeros(n, dtype=bool)

    def __len__(self) -> int:
        return len(self.raw)

    @property
    def finite(self) -> np.ndarray:
        """The finite values of a numeric column (empty for a categorical one)."""
        if self._finite is None:
            if self.values is None:
                self._finite = np.zeros(0)
            else:
                self._finite = self.values[~(self.missing | self.infinite)]
        return self._finite

    @property
    def present(self) -> int:
        """Values that are not missing (infinities included)."""
        return len(self) - int(self.missing.sum())

    def label_values(self) -> np.ndarray:
        """The column as labels, whatever its kind (for comparing mismatched columns)."""
        return self.labels if self.labels is not None \
            else _labels(self.raw, self.dtype)

    def key(self) -> np.ndarray:
        """One uint64 per row; equal keys exactly when the values are equal (NaN equals
        NaN, -0.0 equals 0.0)."""
        if self.kind == NUMERIC:
            if self.raw.dtype.kind in "iu":
                return self.raw.astype(np.int64, copy=False).view(np.uint64)
            if self.raw.dtype.kind == "b":
                return self.raw.astype(np.uint64)
            return _float_key(self.values)
        return _codes([self.labels])[0]


def _float_key(values: np.ndarray) -> np.ndarray:
    v = np.array(values, dtype=np.float64)  # a copy
    v[v == 0] = 0.0
    v[np.isnan(v)] = np.nan
    return v.view(np.uint64)


def _codes(arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Labels as shared integer codes (None gets its own code)."""
    lists = [labels.tolist() for labels in arrays]
    distinct: set[Any] = set().union(*lists)
    table = {v: i for i, v in enumerate(distinct)}
    return [np.fromiter(map(table.__getitem__, values), dtype=np.uint64, count=len(values))
            for values in lists]


def joint_keys(a: Column, b: Column) -> tuple[np.ndarray, np.ndarray]:
    """Keys of two columns (train and test) on one scale, so equal values get equal keys."""
    if a.kind == NUMERIC and b.kind == NUMERIC:
        ka, kb = a.raw.dtype.kind, b.raw.dtype.kind
        if (ka == kb == "b") or (ka in "iu" and kb in "iu" and (ka == kb or _fits_int64(a, b))):
            return a.key(), b.key()
        return _float_key(a.values), _float_key(b.values)
    if a.kind == CATEGORICAL and b.kind == CATEGORICAL:
        ca, cb = _codes([a.labels, b.labels])
        return ca, cb
    ca, cb = _codes([a.label_values(), b.label_values()])
    return ca, cb


def _fits_int64(*cols: Column) -> bool:
    limit = np.iinfo(np.int64).max
    return all(c.raw.dtype.kind != "u" or len(c.raw) == 0 or int(c.raw.max()) <= limit
               for c in cols)


# ---------------------------------------------------------------------------------------------
# exact row comparison

_GOLDEN = 0x9E3779B97F4A7C15
_MASK = (1 << 64) - 1


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: every input bit affects every output bit."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def row_hashes(keys: Sequence[np.ndarray], n: int) -> np.ndarray:
    """A 64-bit hash of each row from its column keys."""
    h = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j, key in enumerate(keys):
            h = _mix(h ^ (key + np.uint64(((j + 1) * _GOLDEN) & _MASK)))
    return h


def _void_rows(keys: Sequence[np.ndarray]) -> np.ndarray:
    matrix = np.ascontiguousarray(np.column_stack(keys))
    return matrix.view(np.dtype((np.void, 8 * len(keys)))).ravel()


def duplicated_rows(keys: Sequence[np.ndarray], n: int) -> np.ndarray:
    """True for each row equal to an earlier row (the first of each group is False), exactly
    like pandas' ``DataFrame.duplicated()``."""
    dup = np.zeros(n, dtype=bool)
    if n < 2 or not keys:
        return dup
    h = row_hashes(keys, n)
    order = np.argsort(h, kind="stable")
    sorted_h = h[order]
    same = sorted_h[1:] == sorted_h[:-1]
    first, second = order[:-1][same], order[1:][same]
    if all(np.array_equal(k[first], k[second]) for k in keys):
        dup[second] = True
        return dup
    # A hash collision: compare the rows themselves.
    _, first_index = np.unique(_void_rows(keys), return_index=True)
    dup[:] = True
    dup[first_index] = False
    return dup


def contained_rows(test_keys: Sequence[np.ndarray], train_keys: Sequence[np.ndarray],
                   n_test: int, n_train: int) -> np.ndarray:
    """True for each test row equal to some train row (keys from :func:`joint_keys`)."""
    if n_test == 0 or n_train == 0 or not test_keys:
        return np.zeros(n_test, dtype=bool)
    h_test = row_hashes(test_keys, n_test)
    h_train = row_hashes(train_keys, n_train)
    order = np.argsort(h_train, kind="stable")
    sorted_train = h_train[order]
    pos = np.searchsorted(sorted_train, h_test)
    pos_clipped = np.minimum(pos, n_train - 1)
    found = (pos < n_train) & (sorted_train[pos_clipped] == h_test)
    rows = np.flatnonzero(found)
    partners = order[pos_clipped[rows]]
    if all(np.array_equal(kt[rows], kr[partners]) for kt, kr in zip(test_keys, train_keys)):
        return found
    # A hash collision: compare the rows themselves.
    both = _void_rows([np.concatenate([kt, kr]) for kt, kr in zip(test_keys, train_keys)])
    _, inverse = np.unique(both, return_inverse=True)
    inverse = inverse.ravel()
    return np.isin(inverse[:n_test], inverse[n_test:])
