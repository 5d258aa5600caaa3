"""Times given by users: Unix milliseconds, datetimes, dates or ISO strings."""

from __future__ import annotations

import datetime as dt
from typing import Any

from modelops.entities._validate import check_timestamp
from modelops.errors import InvalidInput


def to_ms(value: Any, field: str) -> int | None:
    """Unix ms from None, ms, a datetime (naive means UTC) or an ISO date/time string."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidInput(f"expected a time, got {value!r}", field=field)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise InvalidInput(f"expected a time, got {value!r}", field=field)
        return check_timestamp(int(value), field)
    if isinstance(value, int):
        return check_timestamp(value, field)
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInput(f"expected an ISO date or time, got {value!r}",
                               field=field) from None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return int(value.timestamp() * 1000)
    raise InvalidInput(f"expected a time, got {type(value).__name__}", field=field)
