"""A model's input signature, and the input contract that checks requests against it.

A signature is a :class:`~modelops.validation.Schema` of the frame a model was trained on: its
columns in order, each with its kind, dtype family, whether it may be missing and the
categories seen. It is stored with the registered version (``ModelVersion.signature``) and
used by ``modelops serve`` and ``ops.load_model(uri, enforce_signature=True)`` alike: both
call :func:`conform`, so a request refused by the server is refused in a notebook too.

The contract, per column of the signature:

- a column the input lacks is a ``missing`` problem; a column the signature does not know is
  an ``unknown`` problem (or dropped, with ``unknown="ignore"``);
- ``float`` takes numbers; ``int`` takes integers and whole floats; ``bool`` takes booleans
  and 0/1; ``str`` takes strings; booleans are never numbers, strings never numbers;
- a missing value (None, NaN) is a problem unless the column is ``nullable``.

Every problem is collected before anything is raised: :class:`InputMismatch` lists each bad
field with the rows it was bad in, so a client fixes its request in one go.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from modelops.entities.registry import MAX_EXAMPLE_ROWS
from modelops.errors import InvalidInput
from modelops.validation._frame import read
from modelops.validation._schema import Schema, infer_schema

__all__ = ["UNKNOWN_POLICIES", "InputMismatch", "conform", "conform_frame", "infer_signature",
           "input_example", "signature_of"]

#: What the input contract does with a column the signature does not know.
UNKNOWN_POLICIES = ("reject", "ignore")
_MISSING = object()
_INT64 = (-(2 ** 63), 2 ** 63 - 1)
_ROWS_LISTED = 10       # rows a problem lists; its count says how many there were


class InputMismatch(InvalidInput):
    """Input that breaks a model's signature. ``problems`` holds one entry per bad field:
    ``{"field": column, "problem": text, "rows": [first bad rows], "count": bad rows}``
    (``rows`` and ``count`` are absent for a problem of the whole column)."""

    def __init__(self, problems: Sequence[dict[str, Any]]) -> None:
        self.problems = list(problems)
        listed = "; ".join(f"{p['field']}: {p['problem']}" for p in self.problems)
        super().__init__(f"the input does not match the model's signature: {listed}",
                         field="input")


def infer_signature(frame: Any, categorical: Sequence[str] | None = None,
                    max_categories: int = 50, *, columns: Sequence[str] | None = None) -> Schema:
    """The input signature of a model trained on ``frame``: its columns in order, each with
    its kind, dtype, nullability and the categories seen (see :func:`infer_schema`, whose
    arguments it takes). Pass it to ``registry.register(..., signature=)``; ``train()`` and
    ``run.log_model(..., input_example=)`` infer it themselves."""
    return infer_schema(frame, categorical, max_categories, columns=columns)


def input_example(frame: Any, rows: int = 1, *,
                  columns: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The first ``rows`` rows of ``frame`` as records (column -> plain value), as a version
    keeps them (at most ``MAX_EXAMPLE_ROWS``)."""
    data = read(frame, "input_example", columns)
    n = min(rows, MAX_EXAMPLE_ROWS)
    values = {name: col[:n].tolist() for name, col in data.items()}
    count = min((len(v) for v in values.values()), default=0)
    return [{name: _plain(v[i]) for name, v in values.items()} for i in range(count)]


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if value is not None and not isinstance(value, (str, int, float, bool)):
        return str(value)
    return value


def signature_of(version: Any) -> Schema | None:
    """The signature stored with a ``ModelVersion`` as a :class:`Schema`, or None."""
    stored = getattr(version, "signature", None)
    return None if stored is None else Schema.from_dict(stored)


def conform(signature: Schema, records: Sequence[Mapping[str, Any]], *,
            unknown: str = "reject") -> dict[str, np.ndarray]:
    """Check ``records`` (dicts of column -> value, as a JSON request carries them) against
    ``signature``; return the columns in the signature's order, coerced to their dtypes
    (``float64``; ``int64``, or ``float64`` with NaN where nullable ints are missing;
    ``bool``; ``object`` for labels). ``InputMismatch`` names every bad field."""
    _check_policy(unknown)
    problems: list[dict[str, Any]] = []
    known = set(signature.names)
    if unknown == "reject":
        extra: dict[str, list[int]] = {}
        for i, row in enumerate(records):
            for name in row:
                if name not in known:
                    extra.setdefault(name, []).append(i)
        for name, rows in extra.items():
            problems.append(_problem(name, "is not a column of the model's signature", rows))
    out = {}
    for spec in signature.columns:
        values = [row.get(spec.name, _MISSING) for row in records]
        out[spec.name] = _column(spec, values, problems)
    if problems:
        raise InputMismatch(problems)
    return out


def conform_frame(signature: Schema, frame: Any, *, unknown: str = "reject",
                  columns: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """:func:`conform` for a frame (a pandas/polars DataFrame, a mapping of column to values,
    or a 2-D array with ``columns`` — by default the signature's own): the same checks,
    numeric columns checked vectorised."""
    _check_policy(unknown)
    if isinstance(frame, np.ndarray) and columns is None:
        columns = list(signature.names)
    data = read(frame, "input", columns)
    problems: list[dict[str, Any]] = []
    known = set(signature.names)
    if unknown == "reject":
        for name in data:
            if name not in known:
                problems.append({"field": name,
                                 "problem": "is not a column of the model's signature"})
    out = {}
    for spec in signature.columns:
        if spec.name not in data:
            problems.append({"field": spec.name, "problem": "is missing"})
            continue
        raw = data[spec.name]
        if raw.dtype.kind == "f" and spec.dtype == "float":  # the common case, vectorised
            bad = np.flatnonzero(np.isnan(raw)) if not spec.nullable else np.empty(0, int)
            if len(bad):
                problems.append(_problem(spec.name, "is missing (null or NaN) but the "
                                         "signature does not allow it", bad.tolist()))
            out[spec.name] = raw.astype(np.float64, copy=False)
            continue
        out[spec.name] = _column(spec, raw.tolist(), problems)
    if problems:
        raise InputMismatch(problems)
    return out


def _check_policy(unknown: Any) -> None:
    if not isinstance(unknown, str) or unknown not in UNKNOWN_POLICIES:
        raise InvalidInput(f"expected one of {', '.join(UNKNOWN_POLICIES)}, got {unknown!r}",
                           field="unknown")


def _problem(field: str, text: str, rows: list[int]) -> dict[str, Any]:
    return {"field": field, "problem": text, "rows": rows[:_ROWS_LISTED], "count": len(rows)}


def _is_null(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value) \
        or type(value).__name__ == "NAType"


def _unicode(text: str) -> bool:
    """Whether ``text`` is valid Unicode (JSON lets a lone surrogate through)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:    # an integer beyond any float
        return False


def _accepts(dtype: str, value: Any) -> bool:
    """Whether a present, non-null value fits a column of ``dtype``."""
    kind = type(value)
    if dtype == "float":
        return (kind is float or kind is int or isinstance(value, (np.floating, np.integer))) \
            and kind is not bool and _finite(value)
    if dtype == "int":
        if kind is int or isinstance(value, np.integer):
            return _INT64[0] <= value <= _INT64[1]
        return (kind is float or isinstance(value, np.floating)) and math.isfinite(value) \
            and float(value).is_integer() and _INT64[0] <= value <= _INT64[1]
    if dtype == "bool":
        return kind is bool or isinstance(value, np.bool_) or (
            kind in (int, float) and value in (0, 1))
    if dtype == "str":
        return (kind is str or isinstance(value, np.str_)) and _unicode(value)
    if dtype == "bytes":
        return isinstance(value, (str, bytes))
    if dtype == "complex":
        return isinstance(value, (int, float, complex)) and kind is not bool
    return True   # object: any label


_EXPECTED = {"float": "a finite number", "int": "a 64-bit integer",
             "bool": "true or false (or 0/1)", "str": "a string of valid Unicode",
             "bytes": "a string", "complex": "a number"}


_NUMBERS = frozenset({int, float})


def _fast(dtype: str, values: list[Any]) -> np.ndarray | None:
    """The column when every value is plainly good (the common case), checked in bulk;
    None sends it through the value-by-value checks, which name what is wrong."""
    kinds = set(map(type, values))
    try:
        if dtype == "float" and kinds <= _NUMBERS:
            out = np.array(values, dtype=np.float64)
            return out if np.isfinite(out).all() else None
        if dtype == "int" and kinds == {int}:
            return np.array(values, dtype=np.int64)
    except OverflowError:
        return None
    if dtype == "str" and kinds == {str} and all(v.isascii() for v in values):
        out = np.empty(len(values), dtype=object)
        out[:] = values
        return out
    return None


def _column(spec: Any, values: list[Any], problems: list[dict[str, Any]]) -> np.ndarray:
    dtype = spec.dtype
    fast = _fast(dtype, values)
    if fast is not None:
        return fast
    absent, nulls, wrong = [], [], []
    example = None
    for i, value in enumerate(values):
        if value is _MISSING:
            absent.append(i)
        elif _is_null(value):
            nulls.append(i)
        elif not _accepts(dtype, value):
            wrong.append(i)
            if example is None:
                example = value
    name = spec.name
    if absent:
        problems.append(_problem(name, "is missing", absent))
    if nulls and not spec.nullable:
        problems.append(_problem(name, "is null (or NaN) but the signature does not allow "
                                 "missing values", nulls))
    if wrong:
        shown = repr(example)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        problems.append(_problem(name, f"expected {_EXPECTED.get(dtype, 'a value')}, got "
                                 f"{type(example).__name__} {shown}", wrong))
    if absent or wrong or (nulls and not spec.nullable):
        return np.empty(0)
    if dtype == "float" or (dtype in ("int", "bool") and nulls):
        return np.array([np.nan if _is_null(v) else float(v) for v in values],
                        dtype=np.float64)
    if dtype == "int":
        return np.array([int(v) for v in values], dtype=np.int64)
    if dtype == "bool":
        return np.array([bool(v) for v in values], dtype=bool)
    out = np.empty(len(values), dtype=object)
    out[:] = [None if _is_null(v) else v for v in values]
    return out
