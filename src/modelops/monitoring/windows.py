"""Time windows: ``"30m"``, ``"1h"``, ``"24h"``, ``"7d"`` as milliseconds, and the rows in them.

A window always ends at the monitor's *now* and reaches back its length: ``"24h"`` is
``[now - 24 h, now)``. Consecutive windows (trends, volume history) are laid back to back from
*now* backwards, so the newest one is always whole and never a partly elapsed clock hour.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import numpy as np

from modelops.errors import InvalidInput

UNITS_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_PATTERN = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")


def parse_window(window: Any, field: str = "window") -> int:
    """The length of a window in milliseconds.

    ``window`` is a string of a positive whole number and a unit — ``s`` seconds, ``m``
    minutes, ``h`` hours, ``d`` days, ``w`` weeks (``"30m"``, ``"1h"``, ``"24h"``, ``"7d"``) —
    or a positive ``datetime.timedelta``. Anything else raises ``InvalidInput`` naming
    ``field``.
    """
    if isinstance(window, dt.timedelta):
        ms = int(window.total_seconds() * 1000)
        if ms <= 0:
            raise InvalidInput(f"expected a positive duration, got {window!r}", field=field)
        return ms
    if isinstance(window, str):
        match = _PATTERN.match(window)
        if match:
            ms = int(match.group(1)) * UNITS_MS[match.group(2)]
            if ms > 0:
                return ms
    raise InvalidInput(f"expected a window such as '30m', '1h', '24h' or '7d', got {window!r}",
                       field=field)


def format_window(ms: int) -> str:
    """The shortest spelling of a window: 3_600_000 → ``"1h"``."""
    for unit in ("w", "d", "h", "m", "s"):
        size = UNITS_MS[unit]
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def window_label(window: Any) -> str:
    """How a window is shown: as the user spelled it (``"24h"`` stays ``"24h"``)."""
    if isinstance(window, str):
        return window.strip().replace(" ", "")
    return format_window(parse_window(window))


def window_index(timestamps: np.ndarray, start: int, width: int, periods: int) -> np.ndarray:
    """For each timestamp, the index of the window it falls in, of ``periods`` windows of
    ``width`` ms from ``start``; -1 for timestamps outside them."""
    offset = np.asarray(timestamps, dtype=np.int64) - np.int64(start)
    index = offset // np.int64(width)
    index[(offset < 0) | (index >= periods)] = -1
    return index


def window_starts(until: int, width: int, periods: int) -> np.ndarray:
    """The start (Unix ms) of each of ``periods`` consecutive windows ending at ``until``."""
    return until - width * np.arange(periods, 0, -1, dtype=np.int64)
