"""Formatting shared by the standalone HTML reports (drift, monitoring): escaping, short
numbers, shares, UTC times and round chart axes."""

from __future__ import annotations

import html
import math
import numbers
from typing import Any

from modelops import _time


def escape(value: Any) -> str:
    return html.escape(str(value), quote=True)


def num(value: Any, digits: int = 4, nan: str = "NaN") -> str:
    """A number, short: ``digits`` significant digits, thousands separated, ``—`` for None
    and ``nan`` for NaN (the monitoring report shows missing figures as ``—``)."""
    if value is None:
        return "&mdash;"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}"
    if isinstance(value, numbers.Real):
        x = float(value)
        if math.isnan(x):
            return nan
        if math.isinf(x):
            return "&infin;" if x > 0 else "&minus;&infin;"
        if x == int(x) and 1e4 <= abs(x) < 1e15:
            return f"{int(x):,}"
        return f"{x:.{digits}g}"
    return escape(value)


def pct(share: Any, nan: str = "NaN") -> str:
    """A share (0.123) as a percentage (12.3%)."""
    try:
        x = float(share)
    except (TypeError, ValueError):
        return escape(share)
    if not math.isfinite(x):
        return num(x, nan=nan)
    return f"{x * 100:.3g}%"


def utc_time(ms: Any, fmt: str = "%Y-%m-%d %H:%M:%S UTC") -> str:
    """Unix milliseconds as a UTC time; the value itself when it is not a time."""
    try:
        return _time.utc_time(ms, fmt)
    except (OverflowError, OSError, ValueError, TypeError):
        return escape(ms)


def nice_axis(highest: float) -> tuple[float, float]:
    """The top of a y axis and the step between ticks: a round step (1, 2, 2.5 or 5 times a
    power of ten) giving at most 5 steps up to a top at or above ``highest``."""
    if not highest > 0 or not math.isfinite(highest):
        return 1.0, 0.25
    power = 10.0 ** math.floor(math.log10(highest / 5))
    step = power
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        step = m * power
        if highest / step <= 5 + 1e-9:
            break
    return max(math.ceil(highest / step - 1e-9) * step, highest), step
