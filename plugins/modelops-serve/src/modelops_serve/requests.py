"""Request bodies of ``POST /predict`` and ``POST /feedback`` turned into records.

``/predict`` takes, as JSON:

- one record: ``{"features": {"amount": 12.5, "country": "fr"}}`` (optionally ``"key"``);
- a list of records: ``[{"amount": 12.5, ...}, ...]`` or ``{"features": [{...}, ...]}``;
- pandas' orients: ``{"columns": [...], "data": [[...], ...]}`` (``split``, an ``index`` is
  ignored) and ``records`` (a list, as above); MLflow's ``{"dataframe_split": {...}}`` and
  ``{"dataframe_records": [...]}`` too, so a client of ``mlflow models serve`` works as is.

A body of another shape is a :class:`BadRequest` (422) naming the field.
"""

from __future__ import annotations

from typing import Any

import attrs

from modelops.errors import InvalidInput
from modelops.predictions.logger import check_id

#: Values a feature may hold in a request (JSON scalars).
_SCALARS = (str, int, float, bool, type(None))
_EXACT = frozenset(_SCALARS)


class BadRequest(Exception):
    """A request the server refuses: ``status`` (400, 413, 422) and a JSON ``body``."""

    def __init__(self, status: int, message: str, fields: list[dict[str, Any]] | None = None
                 ) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"error": message}
        if fields is not None:
            self.body["fields"] = fields


@attrs.frozen
class PredictRequest:
    """The records to predict (column -> value each), whether the client sent one record
    (the response is then one object), and the routing key it gave, if any."""

    records: list[dict[str, Any]]
    single: bool
    key: str | None


def _bad(field: str, problem: str) -> BadRequest:
    return BadRequest(422, f"{field}: {problem}", [{"field": field, "problem": problem}])


def _plain(rows: list[Any], kind: type) -> bool:
    """Whether every row is exactly a ``kind`` (dict or list, as JSON gives them) of JSON
    scalars: the common case, checked in bulk before the row-by-row checks that name what
    is wrong."""
    if not all(row.__class__ is kind for row in rows):
        return False
    values = (v for row in rows for v in row.values()) if kind is dict else \
        (v for row in rows for v in row)
    return set(map(type, values)) <= _EXACT


def _records(rows: Any, field: str) -> list[dict[str, Any]]:
    if not isinstance(rows, list) or not rows:
        raise _bad(field, "expected a non-empty list of records")
    if not _plain(rows, dict):
        for i, row in enumerate(rows):
            _record(row, f"{field}[{i}]")
    return rows


def _record(row: Any, field: str) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise _bad(field, f"expected an object of feature -> value, got {type(row).__name__}")
    for name, value in row.items():
        if not isinstance(value, _SCALARS):
            raise _bad(f"{field}.{name}" if field else name,
                       f"expected a number, string, boolean or null, got "
                       f"{type(value).__name__}")
    return row


def _split(body: Any, field: str) -> list[dict[str, Any]]:
    if not isinstance(body, dict):
        raise _bad(field, "expected an object with columns and data")
    columns, data = body.get("columns"), body.get("data")
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns) \
            or len(set(columns)) != len(columns):
        raise _bad(f"{field}.columns", "expected a list of distinct column names")
    if not isinstance(data, list) or not data:
        raise _bad(f"{field}.data", "expected a non-empty list of rows")
    width = len(columns)
    if _plain(data, list) and all(len(values) == width for values in data):
        return [dict(zip(columns, values)) for values in data]
    rows = []
    for i, values in enumerate(data):
        if not isinstance(values, list) or len(values) != len(columns):
            raise _bad(f"{field}.data[{i}]", f"expected a list of {len(columns)} values")
        rows.append(_record(dict(zip(columns, values)), f"{field}.data[{i}]"))
    return rows


def _key(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _bad(field, "expected a string or an integer")
    return str(value)


def predict_request(body: Any, key_field: str = "key") -> PredictRequest:
    """The records and key of a ``/predict`` body (parsed JSON)."""
    if isinstance(body, list):
        return PredictRequest(_records(body, "records"), False, None)
    if not isinstance(body, dict):
        raise _bad("body", "expected an object or a list of records")
    key = _key(body.get(key_field), key_field)
    if "features" in body:
        features = body["features"]
        if isinstance(features, list):
            return PredictRequest(_records(features, "features"), False, key)
        return PredictRequest([_record(features, "features")], True, key)
    if "columns" in body and "data" in body:
        return PredictRequest(_split(body, "body"), False, key)
    if "dataframe_split" in body:
        return PredictRequest(_split(body["dataframe_split"], "dataframe_split"), False, key)
    if "dataframe_records" in body:
        return PredictRequest(_records(body["dataframe_records"], "dataframe_records"), False,
                              key)
    raise _bad("body", "expected {\"features\": {...}}, a list of records, or pandas' split "
                       "orient {\"columns\": [...], \"data\": [[...]]}")


def feedback_request(body: Any) -> list[tuple[str, Any]]:
    """``(prediction id, actual)`` pairs of a ``/feedback`` body: ``{"id": ..., "actual":
    ...}`` or a list of them."""
    items = body if isinstance(body, list) else [body]
    if not items:
        raise _bad("body", "expected at least one {\"id\": ..., \"actual\": ...}")
    out = []
    for i, item in enumerate(items):
        where = f"[{i}]" if isinstance(body, list) else ""
        if not isinstance(item, dict):
            raise _bad(where or "body", "expected an object {\"id\": ..., \"actual\": ...}")
        rid, actual = item.get("id"), item.get("actual", _ABSENT)
        try:
            check_id(rid)
        except InvalidInput as exc:    # every id checked before any feedback is logged
            raise _bad(f"{where}.id" if where else "id",
                       str(exc).removeprefix(f"{exc.field}: ")) from None
        if actual is _ABSENT:
            raise _bad(f"{where}.actual" if where else "actual", "is missing")
        if not isinstance(actual, _SCALARS):
            raise _bad(f"{where}.actual" if where else "actual",
                       "expected a number, string, boolean or null")
        out.append((rid, actual))
    return out


_ABSENT = object()
