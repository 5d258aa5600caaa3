"""Printing for the command line: rows as an aligned text table, times as ISO 8601."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

_utc = [False]


def use_utc(utc: bool) -> None:
    """Print times in UTC (``--utc``) instead of local time."""
    _utc[0] = bool(utc)


def shown_time(ms: Any) -> str | None:
    """Unix ms as ISO 8601 to the second: local time with its offset, or UTC (``Z``) with
    ``--utc``; None stays None."""
    if ms is None:
        return None
    at = dt.datetime.fromtimestamp(int(ms) / 1000, tz=dt.timezone.utc)
    if _utc[0]:
        return at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return at.astimezone().isoformat(timespec="seconds")


def is_time_column(name: str) -> bool:
    """Columns holding Unix ms: ``start_time``, ``created_time``, ``when`` …"""
    return name == "when" or name.endswith(("_time", "_at"))


def print_table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> None:
    if not rows:
        print("(none)")
        return
    columns = list(columns or rows[0])

    def cell(name: str, value: Any) -> str:
        if value is None:
            return "-"
        if is_time_column(name) and isinstance(value, int) and not isinstance(value, bool):
            return str(shown_time(value))
        return f"{value:.6g}" if isinstance(value, float) else str(value)

    cells = [[cell(c, r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip())
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())
