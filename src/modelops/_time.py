"""Times and durations given by users, and times shown to them: one home for each rule.

- Times: Unix milliseconds, datetimes (naive means UTC), dates or ISO strings (:func:`to_ms`).
- Durations: one grammar everywhere a window, an interval or an age is given
  (``health(window=...)``, ``trend``, ``volume``, ``Router.evaluate(window=...)``,
  ``RetrainPolicy`` windows and cooldown, ``run_cycle(lease=...)``,
  ``tracking.cleanup(older_than=...)`` and ``modelops runs cleanup --older-than``):
  a number, whole or decimal, and one unit — ``ms``, ``s``, ``m`` (minutes), ``h``, ``d``,
  ``w`` — such as ``"500ms"``, ``"30s"``, ``"90m"``, ``"1.5h"``, ``"7d"``, ``"2w"`` (spaces
  around the number and unit are ignored); or a ``datetime.timedelta``. A bare number (not a
  string) is accepted only where the argument says its unit: ``older_than=30`` is 30 days.
  :func:`parse_duration` gives whole milliseconds.
- Shown times: :func:`utc_day` (``"2027-01-15"``, the Hive partition of a timestamp) and
  :func:`utc_time`.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from modelops.errors import InvalidInput

#: Unix milliseconds of 0001-01-01 and of the last millisecond of 9999: the times a date (a
#: day partition, a report's day) can be made of.
_EPOCH = dt.datetime(1970, 1, 1)
MIN_MS, MAX_MS = ((d - _EPOCH) // dt.timedelta(milliseconds=1)
                  for d in (dt.datetime.min, dt.datetime.max))

#: Milliseconds per duration unit.
UNITS_MS = {"ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000,
            "w": 604_800_000}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h|d|w)\s*$")


def to_ms(value: Any, field: str) -> int | None:
    """Unix ms from None, ms, a datetime (naive means UTC) or an ISO date/time string."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidInput(f"expected a time, got {value!r}", field=field)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise InvalidInput(f"expected a time, got {value!r}", field=field)
        return _dated(int(value), field)
    if isinstance(value, int):
        return _dated(value, field)
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
        # In whole milliseconds: timestamp() is a float, 0.001 ms off at the year 9999.
        return _dated((value - _EPOCH.replace(tzinfo=dt.timezone.utc))
                      // dt.timedelta(milliseconds=1), field)
    raise InvalidInput(f"expected a time, got {type(value).__name__}", field=field)


def _dated(ms: int, field: str) -> int:
    """``ms`` if it is a time with a calendar date (years 1 to 9999)."""
    if not MIN_MS <= ms <= MAX_MS:
        raise InvalidInput(f"{ms} ms is not a time between the years 1 and 9999", field=field)
    return ms


def parse_duration(value: Any, field: str, *, number_unit: str | None = None,
                   allow_zero: bool = False) -> int:
    """A duration in whole milliseconds, by the grammar of the module docstring.

    ``number_unit`` (a unit of ``UNITS_MS``) lets a bare int or float stand for that many
    units; without it a bare number is refused. The duration must be positive, or at least 0
    with ``allow_zero``. ``InvalidInput`` names ``field`` for anything else.
    """
    ms: float | None = None
    try:
        if isinstance(value, dt.timedelta):
            ms = value / dt.timedelta(milliseconds=1)
        elif isinstance(value, str):
            match = _DURATION.match(value)
            if match:
                ms = float(match.group(1)) * UNITS_MS[match.group(2)]
        elif number_unit is not None and isinstance(value, (int, float)) \
                and not isinstance(value, bool):
            ms = float(value) * UNITS_MS[number_unit]
    except OverflowError:  # a number no float holds
        ms = None
    if ms is None or not math.isfinite(ms):
        numbers = f"; a number counts {number_unit}" if number_unit else ""
        raise InvalidInput(f"expected a duration such as '90m', '1.5h', '7d' or '30s'{numbers}, "
                           f"got {value!r}", field=field)
    whole = round(ms)
    if whole < 0 or (whole == 0 and not allow_zero):
        raise InvalidInput(f"expected a {'non-negative' if allow_zero else 'positive'} "
                           f"duration, got {value!r}", field=field)
    return whole


def format_duration(ms: int) -> str:
    """The shortest spelling of a duration: 3_600_000 → ``"1h"``, 5_400_000 → ``"90m"``."""
    for unit in ("w", "d", "h", "m", "s"):
        size = UNITS_MS[unit]
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def utc_day(ms: int) -> str:
    """The UTC day of Unix milliseconds, ``"YYYY-MM-DD"``: the Hive partition of a record."""
    return utc_time(ms, "%Y-%m-%d")


def utc_time(ms: int, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """Unix milliseconds as a UTC time, formatted with ``fmt`` (``strftime``). In whole
    milliseconds: ``ms / 1000`` as a float rounds the last millisecond of the year 9999 into
    the year 10000."""
    return (_EPOCH + dt.timedelta(milliseconds=ms)).strftime(fmt)
