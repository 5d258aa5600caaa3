"""The PredictionStore interface: parts of logged predictions and feedback, by day."""

from __future__ import annotations

import abc
import io
from collections.abc import Sequence
from typing import BinaryIO

import attrs

#: The two kinds of records a prediction store keeps.
KINDS = ("predictions", "feedback")


@attrs.frozen
class Part:
    """One stored part: a file of records of one ``kind`` for one ``day`` (``YYYY-MM-DD``).
    ``fmt`` is ``jsonl`` (one JSON object per line) or ``parquet`` (rows a logger was given
    as columns, or a compacted day).
    ``first_ts`` and ``last_ts`` (Unix ms), when the part was written with them, bound the
    times of its records: a read of a window skips a part that lies outside it."""

    kind: str
    day: str
    name: str
    fmt: str = "jsonl"
    size: int | None = None
    first_ts: int | None = None
    last_ts: int | None = None

    def overlaps(self, since: int | None, until: int | None) -> bool:
        """Whether the part may hold records of ``[since, until)``: True unless its time
        range says it holds none."""
        if self.first_ts is None or self.last_ts is None:
            return True
        return (since is None or self.last_ts >= since) and \
            (until is None or self.first_ts < until)


class PredictionStore(abc.ABC):
    """Persists records of predictions and feedback as parts grouped by model and day.

    Records are JSON objects, one per line, or the rows of a Parquet file with the same
    fields (documented in ``docs/predictions.md``); the store moves parts and never parses
    them. Contract:

    - ``write_part`` stores a whole part or nothing; parts are never appended to or edited.
    - ``replace_parts`` (compaction) makes the new part and the removal of the parts it
      replaces one change for readers: ``list_parts`` never lists both.
    - Days are UTC dates; ``list_parts`` returns parts in day order, then in write order.
    """

    uri: str = ""

    @abc.abstractmethod
    def write_part(self, model: str, kind: str, day: str, data: bytes, *,
                   part_id: str | None = None, span: tuple[int, int] | None = None,
                   fmt: str = "jsonl") -> Part:
        """Store a new part, of JSON lines or (``fmt="parquet"``) a Parquet file; returns it.

        ``span``, the earliest and latest ``ts`` of the part's records (Unix ms), is kept
        with the part (``Part.first_ts``, ``Part.last_ts``) so reads of a window skip the
        parts outside it; a store that cannot keep it lists the part without it.

        With ``part_id`` (lowercase hex digits and dashes, time-ordered like the ids the
        store makes), the part is named by it and written at most once: writing a part id
        again stores nothing and returns the part already there. A replay of records kept
        aside (a prediction logger's spill file) relies on it to write nothing twice."""

    @abc.abstractmethod
    def list_parts(self, model: str, kind: str, first_day: str | None = None,
                   last_day: str | None = None) -> list[Part]:
        """The live parts of ``kind`` for days in ``[first_day, last_day]``."""

    @abc.abstractmethod
    def read_part(self, model: str, part: Part) -> bytes:
        """A part's bytes; ``NotFound`` if it was removed meanwhile."""

    def open_part(self, model: str, part: Part) -> BinaryIO:
        """A part as a seekable binary file, for readers that need only some of its bytes
        (a Parquet part's footer and the row groups of a window). By default its bytes read
        whole; a store on remote storage reads the ranges asked for. Use it as a context
        manager; ``NotFound`` if the part was removed meanwhile."""
        return io.BytesIO(self.read_part(model, part))

    @abc.abstractmethod
    def replace_parts(self, model: str, kind: str, day: str, data: bytes, fmt: str,
                      replaces: Sequence[Part], span: tuple[int, int] | None = None) -> Part:
        """Store ``data`` as one part of ``day`` in place of ``replaces`` (compaction);
        ``span`` as for ``write_part``."""

    @abc.abstractmethod
    def delete_before(self, model: str, kind: str, day: str) -> list[str]:
        """Remove every part of days before ``day``; returns the days removed."""

    @abc.abstractmethod
    def list_models(self) -> list[str]:
        """The models that have logged anything."""

    def close(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release connections or caches."""
