"""The PredictionStore interface: parts of logged predictions and feedback, by day."""

from __future__ import annotations

import abc
from collections.abc import Sequence

import attrs

#: The two kinds of records a prediction store keeps.
KINDS = ("predictions", "feedback")


@attrs.frozen
class Part:
    """One stored part: a file of records of one ``kind`` for one ``day`` (``YYYY-MM-DD``).
    ``fmt`` is ``jsonl`` (one JSON object per line) or ``parquet`` (after compaction)."""

    kind: str
    day: str
    name: str
    fmt: str = "jsonl"
    size: int | None = None


class PredictionStore(abc.ABC):
    """Persists records of predictions and feedback as parts grouped by model and day.

    Records are JSON objects, one per line (their fields are documented in
    ``docs/predictions.md``); the store moves parts and never parses them. Contract:

    - ``write_part`` stores a whole part or nothing; parts are never appended to or edited.
    - ``replace_parts`` (compaction) makes the new part and the removal of the parts it
      replaces one change for readers: ``list_parts`` never lists both.
    - Days are UTC dates; ``list_parts`` returns parts in day order, then in write order.
    """

    uri: str = ""

    @abc.abstractmethod
    def write_part(self, model: str, kind: str, day: str, data: bytes, *,
                   part_id: str | None = None) -> Part:
        """Store a new part of JSON lines; returns it.

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

    @abc.abstractmethod
    def replace_parts(self, model: str, kind: str, day: str, data: bytes, fmt: str,
                      replaces: Sequence[Part]) -> Part:
        """Store ``data`` as one part of ``day`` in place of ``replaces`` (compaction)."""

    @abc.abstractmethod
    def delete_before(self, model: str, kind: str, day: str) -> list[str]:
        """Remove every part of days before ``day``; returns the days removed."""

    @abc.abstractmethod
    def list_models(self) -> list[str]:
        """The models that have logged anything."""

    def close(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release connections or caches."""
