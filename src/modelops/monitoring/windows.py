"""Time windows: ``"30m"``, ``"1.5h"``, ``"24h"``, ``"7d"`` as milliseconds, and the rows in them.

A window always ends at the monitor's *now* and reaches back its length: ``"24h"`` is
``[now - 24 h, now)``. Consecutive windows (trends, volume history) are laid back to back from
*now* backwards, so the newest one is always whole and never a partly elapsed clock hour.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from modelops._time import format_duration as format_window
from modelops._time import parse_duration

__all__ = ["format_window", "parse_window", "window_index", "window_label", "window_starts"]

def parse_window(window: Any, field: str = "window") -> int:
    """The length of a window in milliseconds: a duration (``"30m"``, ``"1.5h"``, ``"24h"``,
    ``"7d"``, or a ``datetime.timedelta``) by the one grammar of ``modelops._time``; a bare
    number is refused. ``InvalidInput`` names ``field`` for anything else."""
    return parse_duration(window, field)


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
