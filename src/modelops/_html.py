"""Formatting shared by the standalone HTML reports (drift, monitoring) and the notebook
display of runs, versions and health: escaping, short numbers, shares, UTC times, round
chart axes and small tables."""

from __future__ import annotations

import html
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
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


#: Rows a notebook table shows before saying how many more there are.
MAX_ROWS = 20
#: Characters of a text cell shown (the whole text is in the cell's title).
MAX_CELL = 60


def cell(value: Any) -> str:
    """One table cell: a short number, ``—`` for None, text escaped and cut to ``MAX_CELL``
    characters (the whole text in the tooltip)."""
    if value is None or isinstance(value, numbers.Number):
        return num(value)
    text = str(value)
    if len(text) <= MAX_CELL:
        return escape(text)
    return f'<span title="{escape(text)}">{escape(text[:MAX_CELL - 1])}&hellip;</span>'


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None, *,
          caption: str | None = None, max_rows: int = MAX_ROWS,
          formats: Mapping[str, Callable[[Any], str]] | None = None) -> str:
    """A small HTML table for a notebook: ``columns`` (default: every key, in order of first
    appearance), at most ``max_rows`` rows and a last line saying how many were left out.
    Every value is escaped; ``formats`` draws a column's cells another way (e.g.
    ``utc_time``)."""
    if columns is None:
        columns = list(dict.fromkeys(k for row in rows for k in row))
    formats = formats or {}
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = []
    for row in rows[:max_rows]:
        cells = []
        for c in columns:
            value = row.get(c)
            shown = formats[c](value) if c in formats and value is not None else cell(value)
            cells.append(f"<td>{shown}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    if len(rows) > max_rows:
        body.append(f'<tr><td colspan="{max(len(columns), 1)}">&hellip; and '
                    f"{len(rows) - max_rows:,} more</td></tr>")
    title = f"<caption>{escape(caption)}</caption>" if caption else ""
    return (f'<table class="modelops">{title}<thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")


def fields(pairs: Sequence[tuple[str, Any]], *, caption: str | None = None,
           formats: Mapping[str, Callable[[Any], str]] | None = None) -> str:
    """A two-column table of names and values (one object's fields)."""
    formats = formats or {}
    body = "".join(
        f"<tr><th>{escape(k)}</th><td>"
        f"{formats[k](v) if k in formats and v is not None else cell(v)}</td></tr>"
        for k, v in pairs)
    title = f"<caption>{escape(caption)}</caption>" if caption else ""
    return f'<table class="modelops">{title}<tbody>{body}</tbody></table>'


def write_page(path: Any, text: str) -> None:
    """Write a page to ``path`` whole or not at all (a temporary file beside it, renamed);
    ``InvalidInput`` naming ``path`` when it cannot be written there."""
    import os
    import tempfile

    target = os.fspath(path)
    try:
        fd, temporary = tempfile.mkstemp(prefix=".modelops-", suffix=".html",
                                         dir=os.path.dirname(os.path.abspath(target)))
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.chmod(temporary, 0o644)   # a page to share, not mkstemp's owner-only 0600
            os.replace(temporary, target)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError as exc:
        raise _unwritable(target, exc) from None


def check_page_path(path: Any) -> None:
    """``InvalidInput`` naming ``path`` when ``write_page`` could not write there (its folder
    missing or closed to us, or ``path`` a folder): asked before the work the page shows,
    so that a command which cannot write its page has stored nothing either."""
    import errno
    import os
    import tempfile

    target = os.fspath(path)
    try:
        if os.path.isdir(target):
            raise IsADirectoryError(errno.EISDIR, "Is a directory")
        fd, temporary = tempfile.mkstemp(prefix=".modelops-", suffix=".html",
                                         dir=os.path.dirname(os.path.abspath(target)))
        os.close(fd)
        os.unlink(temporary)
    except OSError as exc:
        raise _unwritable(target, exc) from None


def _unwritable(target: str, exc: OSError) -> Exception:
    from modelops.errors import InvalidInput

    return InvalidInput(f"cannot write the page to {target!r}: {exc.strerror or exc}",
                        field="path")
