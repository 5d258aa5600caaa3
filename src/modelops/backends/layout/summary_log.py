"""An experiment's summary log read without numpy: its lines, the newest of each run, and
whether a summary fits the search index's columns.

The log (``experiments/<id>/summaries.log``, where the storage appends) holds a header line
``{"experiment": id}``, then every summary written, one JSON line each, and a ``{"purged":
run_id}`` line for each run purged. Both searches read it: the columnar index follows its
tail (``search_index``), and a small experiment is searched straight from it, in plain
Python, by a process that has not loaded numpy (``LayoutTrackingStore.search_runs``).
"""

from __future__ import annotations

from typing import Any

from modelops._json import loads

__all__ = ["indexable", "newest_lines", "parse_line", "parse_lines"]

#: The range of the index's 64-bit integer columns.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def indexable(summary: dict[str, Any]) -> bool:
    """Whether a summary (of the shape ``_is_summary`` checks) fits the table: its times are
    64-bit integers and its metric values floats."""
    end = summary["end_time"]
    try:
        for point in summary["metrics"].values():
            float(point[0])
    except OverflowError:
        return False
    return INT64_MIN <= summary["start_time"] <= INT64_MAX and (
        end is None or INT64_MIN <= end <= INT64_MAX)


def parse_line(line: bytes) -> Any:
    """One line of a summary log as JSON; None if it is not."""
    try:
        return loads(line)
    except ValueError:
        return None


_RUN_PREFIXES = (b'{"run_id":"', b'{"purged":"')


def newest_lines(lines: list[bytes]) -> list[bytes]:
    """The lines that matter of a stretch of a summary log: of each run, its newest line
    (a summary or its purge), in log order; lines of another shape are all kept."""
    newest: dict[bytes, int] = {}
    keep = []
    for i, line in enumerate(lines):
        if line.startswith(_RUN_PREFIXES):
            end = line.find(b'"', 11)
            if end > 11 and b"\\" not in line[11:end]:  # an escaped quote: not a whole id
                newest[line[11:end]] = i
                continue
        keep.append(i)
    keep.extend(newest.values())
    keep.sort()
    return [lines[i] for i in keep]


def parse_lines(lines: list[bytes]) -> list[Any]:
    """Lines of a summary log as JSON (None for a line that is not): in one call while all
    of them are."""
    if not lines:
        return []
    try:
        records = loads(b"[" + b",".join(lines) + b"]")
        if len(records) == len(lines):
            return records
    except ValueError:
        pass
    return [parse_line(line) for line in lines]
