"""Tabular input, duck-typed: a pandas or polars DataFrame, a mapping of column name to array,
or a 2-D numpy array with column names. modelops depends on numpy, not on pandas.

Every frame becomes a ``Columns``: an ordered mapping of name to 1-D numpy array, with each
column classified once as numeric or categorical.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from modelops.errors import InvalidInput

NUMERIC = "numeric"
CATEGORICAL = "categorical"


def _as_array(values: Any, name: str) -> np.ndarray:
    to_numpy = getattr(values, "to_numpy", None)
    if callable(to_numpy):  # pandas Series, polars Series, pyarrow arrays
        try:
            values = to_numpy()
        except TypeError:
            values = to_numpy(zero_copy_only=False)
    array = np.asarray(values)
    if array.ndim != 1:
        raise InvalidInput(f"expected one value per row, got an array of shape {array.shape}",
                           field=f"column {name!r}")
    return array


def to_columns(frame: Any, columns: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """The frame as ``{name: 1-D array}`` in column order; all columns the same length.

    ``columns`` names the columns of a 2-D numpy array (required there), or selects columns of
    any other frame.
    """
    if isinstance(frame, np.ndarray):
        if frame.ndim != 2:
            raise InvalidInput(f"expected a 2-D array, got shape {frame.shape}", field="frame")
        if columns is None or len(columns) != frame.shape[1]:
            raise InvalidInput(f"a 2-D array needs one column name per column "
                               f"({frame.shape[1]}), got {columns!r}", field="columns")
        out = {str(c): frame[:, i] for i, c in enumerate(columns)}
    elif isinstance(frame, Mapping):
        out = {str(k): _as_array(v, str(k)) for k, v in frame.items()}
    elif hasattr(frame, "columns") and hasattr(frame, "__getitem__"):  # pandas / polars
        names = [str(c) for c in frame.columns]
        out = {name: _as_array(frame[col], name) for name, col in zip(names, frame.columns)}
    else:
        raise InvalidInput(f"expected a DataFrame, a mapping of column to array, or a 2-D "
                           f"array with column names, got {type(frame).__name__}",
                           field="frame")
    if columns is not None and not isinstance(frame, np.ndarray):
        missing = [c for c in columns if c not in out]
        if missing:
            raise InvalidInput(f"no column {missing[0]!r} in the frame", field="columns")
        out = {c: out[c] for c in columns}
    lengths = {len(v) for v in out.values()}
    if len(lengths) > 1:
        sizes = ", ".join(f"{k}={len(v)}" for k, v in out.items())
        raise InvalidInput(f"columns differ in length ({sizes})", field="frame")
    return out


def column_kind(values: np.ndarray, name: str) -> str:
    """``numeric`` for numbers (bool and integers included), ``categorical`` for strings,
    categories and other objects. An object column mixing numbers and strings is refused:
    there is no honest way to compare it."""
    kind = values.dtype.kind
    if kind in "biuf":
        return NUMERIC
    if kind in "US":
        return CATEGORICAL
    if kind == "O":
        # Decide from the set of types (one C-speed pass); only a column holding both
        # strings and numbers needs a look at the values (NaN there may just mean missing).
        # By chunks of a million: the list of a chunk is all that is made beside the column.
        seen: set[type] = set()
        for start in range(0, len(values), 1 << 20):
            seen.update(map(type, values[start:start + (1 << 20)].tolist()))
        types = {t for t in seen if t is not type(None) and t.__name__ != "NAType"}
        has_str = any(issubclass(t, str) for t in types)
        has_num = any(issubclass(t, _NUMBERS) for t in types)
        if has_str and has_num:
            present = [v for v in values if not _missing(v)]
            has_num = any(isinstance(v, _NUMBERS) for v in present)
        if has_str and has_num:
            raise InvalidInput("mixes numbers and strings; convert it to one type",
                               field=f"column {name!r}")
        if has_num and not has_str:
            return NUMERIC
        return CATEGORICAL
    if kind in "mM":
        raise InvalidInput("holds dates/times; convert them to numbers (e.g. seconds) first",
                           field=f"column {name!r}")
    raise InvalidInput(f"has an unsupported dtype {values.dtype}", field=f"column {name!r}")


_NUMBERS = (int, float, np.number, np.bool_)


def _missing(value: Any) -> bool:
    """None, NaN, or pandas' NA (recognised without importing pandas)."""
    return value is None or (isinstance(value, float) and value != value) or \
        type(value).__name__ == "NAType"


def numeric(values: np.ndarray, name: str) -> np.ndarray:
    """A numeric column as float64 (None or pandas' NA in an object column becomes NaN)."""
    if values.dtype.kind == "O":
        try:
            present = values != None  # noqa: E711 (elementwise)
            out = np.full(len(values), np.nan)
            out[present] = values[present].astype(np.float64)
            return out
        except (TypeError, ValueError, OverflowError):  # pandas' NA, not numbers, 10**400
            values = np.array([np.nan if _missing(v) else v for v in values], dtype=object)
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise InvalidInput("holds values that are not numbers of 64-bit floating point",
                           field=f"column {name!r}") \
            from None


def categorical(values: np.ndarray) -> np.ndarray:
    """A categorical column as an object array of strings, with missing values as None."""
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values.tolist()):
        out[i] = None if _missing(v) else str(v)
    return out


#: Categorical levels a :class:`MatrixEncoding` keeps (scikit-learn's histogram gradient
#: boosting takes at most 255 bins, one of them for missing values).
MAX_LEVELS = 254


class MatrixEncoding:
    """Columns as one float matrix for a model (a nanny model, a domain classifier, PCA):
    numeric columns as float64, categorical ones as codes of the reference's most frequent
    levels (at most :data:`MAX_LEVELS`; other and missing levels become NaN).

    Fitted once on reference columns, then applied to any frame with the same columns.
    """

    def __init__(self, columns: Mapping[str, np.ndarray]) -> None:
        self.names: list[str] = list(columns)
        self.levels: dict[str, dict[str, int]] = {}
        for name, values in columns.items():
            if column_kind(values, name) == CATEGORICAL:
                found, counts = np.unique(categorical(values).astype(str), return_counts=True)
                order = np.argsort(-counts, kind="stable")[:MAX_LEVELS]
                self.levels[name] = {str(found[i]): code for code, i in enumerate(order)
                                     if found[i] != "None"}

    @property
    def categorical_mask(self) -> np.ndarray:
        """True for the matrix columns that hold category codes."""
        return np.array([n in self.levels for n in self.names], dtype=bool)

    def matrix(self, columns: Mapping[str, np.ndarray]) -> np.ndarray:
        """The columns as a float64 matrix, one matrix column per fitted column;
        ``InvalidInput`` names a column that is missing."""
        missing = [n for n in self.names if n not in columns]
        if missing:
            raise InvalidInput(f"the reference had the column {missing[0]!r}, this frame has "
                               "not", field=f"column {missing[0]!r}")
        out = np.empty((len(next(iter(columns.values()))) if columns else 0, len(self.names)))
        for j, name in enumerate(self.names):
            values = np.asarray(columns[name])
            if name in self.levels:
                codes = self.levels[name]
                labels = categorical(values).tolist()
                out[:, j] = np.fromiter((codes.get(v, np.nan) for v in labels),
                                        dtype=np.float64, count=len(labels))
            else:
                out[:, j] = numeric(values, name)
        return out
