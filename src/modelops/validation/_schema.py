"""A schema inferred from reference data, and checked against new data."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np

from modelops.errors import InvalidInput, NotFound
from modelops.validation._frame import (
    CATEGORICAL,
    NUMERIC,
    Column,
    check_names,
    read,
    sort_labels,
)
from modelops.validation._issues import Issue, ValidationResult

__all__ = ["DTYPES", "KINDS", "ColumnSchema", "Schema", "infer_schema"]

KINDS = (NUMERIC, CATEGORICAL)
DTYPES = ("bool", "int", "float", "complex", "str", "bytes", "object")
SCHEMA_VERSION = 1
MAX_EXAMPLES = 5        # example values an out-of-range or type issue shows
MAX_LISTED = 20         # unseen categories an issue lists


def _field(inst: Any, attribute: attrs.Attribute[Any]) -> str:
    return f"{type(inst).__name__}.{attribute.name}"


def _check_name(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"expected a non-empty string, got {value!r}",
                           field=_field(inst, attribute))


def _check_choice(choices: Sequence[str]) -> Any:
    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value not in choices:
            raise InvalidInput(f"expected one of {', '.join(choices)}, got {value!r}",
                               field=_field(inst, attribute))
    return check


def _check_bool(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, bool):
        raise InvalidInput(f"expected True or False, got {value!r}",
                           field=_field(inst, attribute))


def _to_number(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def _check_bound(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidInput(f"expected None or a finite number, got {value!r}",
                           field=_field(inst, attribute))


def _to_categories(value: Any) -> Any:
    if value is None or isinstance(value, (str, bytes)):
        return value
    try:
        return tuple(value)
    except TypeError:
        return value


def _check_categories(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, tuple) or not all(isinstance(c, str) for c in value):
        raise InvalidInput(f"expected None or a sequence of strings, got {value!r}",
                           field=_field(inst, attribute))
    if len(set(value)) != len(value):
        raise InvalidInput("lists a category twice", field=_field(inst, attribute))


@attrs.frozen(kw_only=True)
class ColumnSchema:
    """What one reference column looked like.

    ``kind`` is ``numeric`` or ``categorical``; ``dtype`` the family of the values (``bool``,
    ``int``, ``float``, ``str``, ``bytes``, ``complex`` or ``object``); ``nullable`` whether
    the reference had missing values. ``min``/``max`` are the finite range of a numeric column
    (None when it had no finite value); ``categories`` the levels of a categorical column, as
    strings, when it had at most ``max_categories`` of them (None otherwise, and then any
    value is accepted). ``allow_new_categories`` turns unseen categories from a warning into
    an info.
    """

    name: str = attrs.field(validator=_check_name)
    kind: str = attrs.field(validator=_check_choice(KINDS))
    dtype: str = attrs.field(validator=_check_choice(DTYPES))
    nullable: bool = attrs.field(default=False, validator=_check_bool)
    min: int | float | None = attrs.field(default=None, converter=_to_number,
                                          validator=_check_bound)
    max: int | float | None = attrs.field(default=None, converter=_to_number,
                                          validator=_check_bound)
    categories: tuple[str, ...] | None = attrs.field(default=None, converter=_to_categories,
                                                     validator=_check_categories)
    allow_new_categories: bool = attrs.field(default=False, validator=_check_bool)

    def __attrs_post_init__(self) -> None:
        where = f"ColumnSchema {self.name!r}"
        if (self.min is None) != (self.max is None):
            raise InvalidInput("min and max go together: give both or neither", field=where)
        if self.min is not None:
            if self.kind != NUMERIC:
                raise InvalidInput("a categorical column has no min/max", field=where)
            if self.min > self.max:
                raise InvalidInput(f"min {self.min!r} is above max {self.max!r}", field=where)
        if self.categories is not None and self.kind != CATEGORICAL:
            raise InvalidInput("a numeric column has no categories", field=where)

    def to_dict(self) -> dict[str, Any]:
        """The column schema as plain data (categories as a list)."""
        return {"name": self.name, "kind": self.kind, "dtype": self.dtype,
                "nullable": self.nullable, "min": self.min, "max": self.max,
                "categories": None if self.categories is None else list(self.categories),
                "allow_new_categories": self.allow_new_categories}


def _to_columns(value: Any) -> tuple[ColumnSchema, ...]:
    return tuple(value)


def _check_columns(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    seen: set[str] = set()
    for i, col in enumerate(value):
        if not isinstance(col, ColumnSchema):
            raise InvalidInput(f"expected a ColumnSchema, got {type(col).__name__}",
                               field=f"Schema.columns[{i}]")
        if col.name in seen:
            raise InvalidInput(f"column {col.name!r} appears twice", field="Schema.columns")
        seen.add(col.name)


@attrs.frozen(kw_only=True)
class Schema:
    """The expected shape of a frame: one :class:`ColumnSchema` per column, in order.

    Make one with :func:`infer_schema`, check new data with :meth:`validate`, store it with
    :meth:`to_dict` (JSON-ready) and read it back with :meth:`from_dict`. Change a column with
    ``attrs.evolve``.
    """

    columns: tuple[ColumnSchema, ...] = attrs.field(converter=_to_columns,
                                                    validator=_check_columns)

    @property
    def names(self) -> tuple[str, ...]:
        """The column names, in order."""
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> ColumnSchema:
        """The schema of one column; ``NotFound`` if there is none."""
        for col in self.columns:
            if col.name == name:
                return col
        raise NotFound(f"the schema has no column {name!r}")

    def to_dict(self) -> dict[str, Any]:
        """``{"version": 1, "columns": [...]}``, ready for ``json.dumps``."""
        return {"version": SCHEMA_VERSION, "columns": [c.to_dict() for c in self.columns]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Schema:
        """The schema :meth:`to_dict` wrote (also after a JSON round trip). Keys it does not
        know are ignored; a missing or bad one raises ``InvalidInput`` naming it."""
        if not isinstance(data, Mapping):
            raise InvalidInput(f"expected a mapping, got {type(data).__name__}",
                               field="schema")
        version = data.get("version", SCHEMA_VERSION)
        if version != SCHEMA_VERSION:
            raise InvalidInput(f"unsupported schema version {version!r} "
                               f"(this modelops reads version {SCHEMA_VERSION})",
                               field="schema.version")
        columns = data.get("columns")
        if isinstance(columns, (str, bytes, Mapping)) or not isinstance(columns, Iterable):
            raise InvalidInput(f"expected a list of columns, got {columns!r}",
                               field="schema.columns")
        out = []
        names = [f.name for f in attrs.fields(ColumnSchema)]
        for i, col in enumerate(columns):
            where = f"schema.columns[{i}]"
            if not isinstance(col, Mapping):
                raise InvalidInput(f"expected a mapping, got {col!r}", field=where)
            for key in ("name", "kind", "dtype"):
                if key not in col:
                    raise InvalidInput(f"lacks {key!r}", field=where)
            try:
                out.append(ColumnSchema(**{k: col[k] for k in names if k in col}))
            except InvalidInput as exc:
                raise InvalidInput(str(exc), field=where) from None
        try:
            return cls(columns=out)
        except InvalidInput as exc:
            raise InvalidInput(str(exc), field="schema") from None

    def validate(self, frame: Any, *, range_tolerance: float = 0.0,
                 columns: Sequence[str] | None = None) -> ValidationResult:
        """Check ``frame`` against this schema.

        Issues, in column order (frame-level first):

        - ``empty_frame`` (error): the frame has no rows;
        - ``missing_column`` (error): a schema column is not in the frame;
        - ``extra_column`` (warning): a frame column is not in the schema;
        - ``type_mismatch`` (error): strings where numbers were, numbers where strings were,
          or a dtype the schema's does not admit (see below);
        - ``nulls`` (error, with count): missing values in a column that had none;
        - ``infinite_values`` (error, with count): ±inf in a numeric column;
        - ``out_of_range`` (warning, with count and examples): finite values outside
          ``[min - t*(max - min), max + t*(max - min)]`` with ``t = range_tolerance``;
        - ``unseen_categories`` (warning, or info when ``allow_new_categories``; with the row
          count and the categories): labels the reference did not have.

        Dtypes: a ``float`` column accepts ints and booleans; an ``int`` column accepts
        booleans, and floats when every finite value is a whole number (pandas turns an int
        column with a missing value into float); a ``bool`` column accepts ints and floats
        that are all 0 or 1; an ``object`` column accepts any labels. A column with no values
        at all (all missing) is never a type mismatch; it gets ``nulls`` if it may not be
        null. ``columns`` names the columns of a 2-D numpy array.
        """
        tolerance = _check_tolerance(range_tolerance)
        data = read(frame, "frame", columns)
        rows = len(next(iter(data.values()))) if data else 0
        issues: list[Issue] = []
        if rows == 0:
            issues.append(Issue(check="empty_frame", severity="error",
                                message="the frame has no rows", count=0))
        for spec in self.columns:
            if spec.name not in data:
                issues.append(Issue(column=spec.name, check="missing_column", severity="error",
                                    message="the column is missing"))
                continue
            col = Column(spec.name, data[spec.name],
                         forced_categorical=spec.kind == CATEGORICAL)
            issues.extend(_check_column(spec, col, tolerance))
        known = set(self.names)
        for name in data:
            if name not in known:
                issues.append(Issue(column=name, check="extra_column", severity="warning",
                                    message="the column is not in the schema"))
        return ValidationResult(issues=issues)


def _check_tolerance(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
            or not math.isfinite(value) or value < 0:
        raise InvalidInput(f"expected a finite number >= 0, got {value!r}",
                           field="range_tolerance")
    return float(value)


def _examples(values: np.ndarray, dtype: str) -> list[Any]:
    """Up to MAX_EXAMPLES distinct values, in the order they first appear."""
    if len(values) == 0:
        return []
    _, first = np.unique(values, return_index=True)
    picked = values[np.sort(first)[:MAX_EXAMPLES]]
    return [_number(v, dtype) for v in picked.tolist()]


def _number(value: float, dtype: str) -> int | float:
    if dtype in ("int", "bool") and float(value).is_integer():
        return int(value)
    return float(value)


def _check_column(spec: ColumnSchema, col: Column, tolerance: float) -> list[Issue]:
    issues: list[Issue] = []
    missing = int(col.missing.sum())
    if missing and not spec.nullable:
        issues.append(Issue(column=spec.name, check="nulls", severity="error", count=missing,
                            message=f"{missing} missing value{'s' * (missing != 1)} in a "
                                    f"column that had none",
                            details={"share": missing / len(col)}))
    mismatch, incomparable = _type_issue(spec, col)
    if mismatch is not None:
        issues.append(mismatch)
    if incomparable:
        return issues
    if spec.kind == NUMERIC:
        infinite = int(col.infinite.sum())
        if infinite:
            issues.append(Issue(column=spec.name, check="infinite_values", severity="error",
                                count=infinite,
                                message=f"{infinite} infinite value{'s' * (infinite != 1)}"))
        if spec.min is not None and spec.max is not None:
            issues.extend(_range_issue(spec, col, tolerance))
    elif spec.categories is not None:
        issues.extend(_category_issue(spec, col))
    return issues


def _type_issue(spec: ColumnSchema, col: Column) -> tuple[Issue | None, bool]:
    """A type mismatch, if any, and whether it makes the column's values incomparable (then
    no range or category check follows)."""
    if col.present == 0:
        return None, False
    want, have = spec.dtype, col.dtype
    if spec.kind == NUMERIC and col.kind != NUMERIC:
        return Issue(column=spec.name, check="type_mismatch", severity="error",
                     message=f"expected numbers ({want}), got {have} values",
                     details={"expected": want, "actual": have}), True
    if want == have or (want == "float" and have in ("int", "bool")) \
            or (want == "int" and have == "bool") or want == "object":
        return None, False
    if want == "int" and have == "float":
        finite = col_floats(col)
        bad = finite[finite != np.floor(finite)]
        if len(bad) == 0:
            return None, False
        return Issue(column=spec.name, check="type_mismatch", severity="error",
                     count=len(bad),
                     message=f"expected integers, got {len(bad)} non-whole "
                             f"value{'s' * (len(bad) != 1)}",
                     details={"expected": want, "actual": have,
                              "examples": _examples(bad, "float")}), False
    if want == "bool" and have in ("int", "float"):
        finite = col_floats(col)
        bad = finite[(finite != 0) & (finite != 1)]
        if len(bad) == 0:
            return None, False
        return Issue(column=spec.name, check="type_mismatch", severity="error",
                     count=len(bad),
                     message=f"expected booleans, got {len(bad)} value{'s' * (len(bad) != 1)} "
                             f"other than 0 and 1",
                     details={"expected": want, "actual": have,
                              "examples": _examples(bad, "float")}), False
    return Issue(column=spec.name, check="type_mismatch", severity="error",
                 message=f"expected {want} values, got {have}",
                 details={"expected": want, "actual": have}), True


def col_floats(col: Column) -> np.ndarray:
    """The finite values of a column as floats, whatever its kind (a categorical column
    forced from numbers keeps its raw numbers)."""
    if col.kind == NUMERIC:
        return col.finite
    try:
        values = np.array([np.nan if v is None else v for v in col.raw.tolist()], dtype=float)
    except (TypeError, ValueError):
        return np.zeros(0)
    return values[np.isfinite(values)]


def _range_issue(spec: ColumnSchema, col: Column, tolerance: float) -> list[Issue]:
    span = float(spec.max) - float(spec.min)
    low = float(spec.min) - tolerance * span
    high = float(spec.max) + tolerance * span
    values = col.finite
    below = values < low
    above = values > high
    n_below, n_above = int(below.sum()), int(above.sum())
    count = n_below + n_above
    if count == 0:
        return []
    outside = values[below | above]
    return [Issue(column=spec.name, check="out_of_range", severity="warning", count=count,
                  message=f"{count} value{'s' * (count != 1)} outside the reference range "
                          f"[{spec.min:g}, {spec.max:g}]",
                  details={"min": spec.min, "max": spec.max, "lower": low, "upper": high,
                           "below": n_below, "above": n_above,
                           "observed_min": float(values.min()),
                           "observed_max": float(values.max()),
                           "examples": _examples(outside, spec.dtype)})]


def _category_issue(spec: ColumnSchema, col: Column) -> list[Issue]:
    known = set(spec.categories or ())
    labels = col.labels.tolist() if col.labels is not None else []
    unseen_rows = [v for v in labels if v is not None and v not in known]
    if not unseen_rows:
        return []
    unseen = sort_labels(set(unseen_rows), spec.dtype)
    count = len(unseen_rows)
    severity = "info" if spec.allow_new_categories else "warning"
    shown = ", ".join(repr(c) for c in unseen[:5]) + (", ..." if len(unseen) > 5 else "")
    return [Issue(column=spec.name, check="unseen_categories", severity=severity, count=count,
                  message=f"{count} row{'s' * (count != 1)} with {len(unseen)} "
                          f"categor{'ies' if len(unseen) != 1 else 'y'} not in the "
                          f"reference: {shown}",
                  details={"categories": unseen[:MAX_LISTED], "distinct": len(unseen)})]


# ---------------------------------------------------------------------------------------------
# inference


def _check_max_categories(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise InvalidInput(f"expected an integer >= 0, got {value!r}", field="max_categories")
    return int(value)


def infer_schema(frame: Any, categorical: Sequence[str] | None = None,
                 max_categories: int = 50, *, columns: Sequence[str] | None = None) -> Schema:
    """The schema of a reference frame: per column its kind, dtype, whether it had missing
    values, its finite range (numeric) and its categories (categorical, when there are at most
    ``max_categories``).

    ``frame`` is a pandas/polars DataFrame, a mapping of column name to array, or a 2-D numpy
    array whose column names are given in ``columns``. Columns named in ``categorical`` are
    categorical whatever their dtype (integer codes, say; their categories are the values as
    text, with ``3.0`` written ``3``); strings are categorical anyway, booleans numeric.

    Raises ``InvalidInput`` for a frame with no rows or no columns (naming the frame), and for
    a column that mixes numbers and strings (naming the column; list it in ``categorical`` to
    treat its values as labels). A column with no values at all gets ``nullable=True`` and
    neither range nor categories, so new data in it is only checked for its type.
    """
    return _infer(frame, categorical, max_categories, columns, "frame")


def _infer(frame: Any, categorical: Sequence[str] | None, max_categories: int,
           columns: Sequence[str] | None, what: str) -> Schema:
    limit = _check_max_categories(max_categories)
    data = read(frame, what, columns)
    if not data:
        raise InvalidInput("frame has no columns", field=what)
    if len(next(iter(data.values()))) == 0:
        raise InvalidInput("frame has no rows", field=what)
    forced = check_names(categorical, data, "categorical")
    return Schema(columns=[_infer_column(Column(name, raw, forced_categorical=name in forced),
                                         limit)
                           for name, raw in data.items()])


def _infer_column(col: Column, limit: int) -> ColumnSchema:
    dtype = col.dtype if col.dtype in DTYPES else "object"
    nullable = bool(col.missing.any())
    if col.kind == NUMERIC:
        finite = col.finite
        low = high = None
        if len(finite):
            low, high = _number(finite.min(), dtype), _number(finite.max(), dtype)
            if col.raw.dtype.kind in "iu":  # exact, beyond 2**53 too
                low, high = int(col.raw.min()), int(col.raw.max())
        return ColumnSchema(name=col.name, kind=NUMERIC, dtype=dtype, nullable=nullable,
                            min=low, max=high)
    levels = {v for v in col.labels.tolist() if v is not None}
    categories = None
    if levels and len(levels) <= limit:
        categories = tuple(sort_labels(levels, dtype))
    return ColumnSchema(name=col.name, kind=CATEGORICAL, dtype=dtype, nullable=nullable,
                        categories=categories)
