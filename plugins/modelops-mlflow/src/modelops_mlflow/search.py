"""modelops search filters and orders, translated into MLflow's ``search_runs`` where that
gives exactly the same answer.

modelops and MLflow speak the same filter language, but not every clause means the same in
both: MLflow's ``LIKE`` ignores case on sqlite, it knows no ``IN`` for params and tags, it
stores ±inf as the largest doubles, and a server's database may sort strings by locale. So
each clause is translated only when MLflow's result is provably the same:

- metrics: every comparison with a finite threshold below 1e308 (MLflow, like modelops,
  lets a NaN value match only ``!=``);
- params and tags: ``=`` and ``!=`` with values free of quotes and backslashes;
- attributes: ``run_id``, ``run_name``, ``status`` and ``user`` with ``=`` and ``!=``
  (``run_id`` also ``IN``/``NOT IN``), ``start_time`` and ``end_time`` with any comparison.

Orders translate on metrics and the numeric attributes everywhere, and on params, tags and
string attributes when the database compares strings by code point (sqlite). MLflow and
modelops agree on the rest: missing values last in either direction, NaN after numbers, ties
broken by start time (newest first) then run id.

When every clause and order translates, MLflow filters, sorts and pages (``exact``). Else
the translatable clauses still narrow what MLflow returns, and modelops evaluates the whole
query on those runs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import attrs

from modelops.query import Comparison, Filter, OrderBy

_NUMERIC_OPS = frozenset({">", ">=", "<", "<=", "=", "!="})
_STRING_ATTRIBUTES = {"run_id": "run_id", "run_name": "run_name", "status": "status",
                      "user": "user_id"}
_NUMERIC_ATTRIBUTES = ("start_time", "end_time")
_UNSAFE_CHARS = ("'", '"', "\\", "`")


@attrs.frozen
class Translation:
    """A query as MLflow runs it: ``filter_string`` (what MLflow narrows to), ``order_by``
    (None when some order has no exact translation) and whether both are exact."""

    filter_string: str
    order_by: tuple[str, ...] | None
    exact: bool


def _key(key: str) -> str | None:
    if any(c in key for c in _UNSAFE_CHARS):
        return None
    return f"`{key}`"


def _string(value: str) -> str | None:
    if any(c in value for c in _UNSAFE_CHARS):
        return None
    return f"'{value}'"


def _number(value: float) -> str | None:
    if not math.isfinite(value) or abs(value) >= 1e308:
        return None
    return repr(float(value))


def clause(c: Comparison) -> str | None:
    """The MLflow spelling of one comparison, or None when MLflow would answer otherwise."""
    if c.kind == "metrics":
        key = _key(c.key)
        number = _number(c.value) if isinstance(c.value, float) else None
        if key is None or number is None or c.op not in _NUMERIC_OPS:
            return None
        return f"metrics.{key} {c.op} {number}"
    if c.kind in ("params", "tags"):
        key = _key(c.key)
        value = _string(c.value) if isinstance(c.value, str) else None
        if key is None or value is None or c.op not in ("=", "!="):
            return None
        return f"{c.kind}.{key} {c.op} {value}"
    if c.key in _NUMERIC_ATTRIBUTES:
        number = _number(c.value) if isinstance(c.value, float) else None
        if number is None or c.op not in _NUMERIC_OPS:
            return None
        # MLflow compares these as integers: a fractional threshold would be rounded.
        if not float(c.value).is_integer():
            return None
        return f"attributes.{c.key} {c.op} {int(c.value)}"
    name = _STRING_ATTRIBUTES.get(c.key)
    if name is None:
        return None
    if c.op in ("=", "!=") and isinstance(c.value, str):
        value = _string(c.value)
        return None if value is None else f"attributes.{name} {c.op} {value}"
    if c.key == "run_id" and c.op in ("IN", "NOT IN") and isinstance(c.value, tuple):
        values = [_string(v) for v in c.value]
        if any(v is None for v in values):
            return None
        return f"attributes.run_id {c.op} ({', '.join(values)})"  # type: ignore[arg-type]
    return None


def order(o: OrderBy, strings_by_code_point: bool) -> str | None:
    """The MLflow spelling of one order key, or None when MLflow would sort otherwise."""
    direction = "ASC" if o.ascending else "DESC"
    if o.kind == "metrics":
        key = _key(o.key)
        return None if key is None else f"metrics.{key} {direction}"
    if o.kind == "attributes":
        if o.key == "start_time":
            return f"attributes.start_time {direction}"
        # end_time is NULL while a run is running, and MLflow sorts NULL attributes first.
        name = _STRING_ATTRIBUTES.get(o.key)
        if name is None or not strings_by_code_point:
            return None
        return f"attributes.{name} {direction}"
    key = _key(o.key)
    if key is None or not strings_by_code_point:
        return None
    return f"{o.kind}.{key} {direction}"


def translate(filter: Filter | None, order_by: Sequence[OrderBy],
              strings_by_code_point: bool) -> Translation:
    """Translate a query: the clauses MLflow can run, and whether that is all of it."""
    parts: list[str] = []
    exact = True
    for c in filter.clauses if filter is not None else ():
        text = clause(c)
        if text is None:
            exact = False
        else:
            parts.append(text)
    orders: list[str] | None = []
    seen = set()
    for o in order_by:
        text = order(o, strings_by_code_point)
        if text is None or (o.kind, o.key) in seen:
            # MLflow refuses a key ordered twice; modelops keeps the first (a stable sort).
            orders = None
            break
        seen.add((o.kind, o.key))
        orders.append(text)
    return Translation(" and ".join(parts), None if orders is None else tuple(orders),
                       exact and orders is not None)
