"""PredictionStore over the layout, on any Storage: Hive-style day partitions.

Layout under the root::

    predictions/<model>/date=YYYY-MM-DD/part-<id>.jsonl                predictions, one per line
    predictions/<model>/date=YYYY-MM-DD/part-<id>_<first>-<last>.jsonl  ... with their time range
    predictions/<model>/date=YYYY-MM-DD/part-<id>_<first>-<last>.parquet  rows logged as columns
    predictions/<model>/feedback/date=YYYY-MM-DD/part-<id>.jsonl       feedback
    .../date=YYYY-MM-DD/compacted-<id>.json                            compaction manifests

DuckDB, Spark and pandas read the parts as they are
(``read_json('predictions/fraud/*/*.jsonl', hive_partitioning = true)``, and
``read_parquet('predictions/fraud/*/*.parquet', hive_partitioning = true)`` for the Parquet
parts a logger writes of rows it was given as columns). A compaction writes
``compact-<id>.parquet`` (or ``.jsonl``), then a manifest naming it and the parts it
replaces, then removes those; readers take a compacted file only through its manifest and
skip every part a manifest names, so no record is read twice and an interrupted compaction
leaves the old parts in force.

A part written with its records' time range (``span``: the earliest and latest ``ts``, Unix
ms) carries it in its name, so a read of a window skips the parts outside it without opening
them — on S3, without fetching them. A name is untrusted like any stored data: one that does
not spell a range exactly is listed without one, and read.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import Any, BinaryIO

from modelops._files import path_name
from modelops._ids import new_id
from modelops.backends.layout.storage import Storage, dumps, skipped
from modelops.errors import InvalidInput, NotFound, StoreError
from modelops.stores import PredictionStore
from modelops.stores.predictions import KINDS, Part

_PART_ID = re.compile(r"[0-9a-f][0-9a-f-]{0,99}")
#: A part's name: its kind of file, id, optional time range (Unix ms) and format.
_PART_NAME = re.compile(r"(?:part|compact)-[0-9a-f][0-9a-f-]{0,99}"
                        r"(?:_(0|[1-9][0-9]{0,15})-(0|[1-9][0-9]{0,15}))?\.(?:jsonl|parquet)")


_FORMATS = (".jsonl", ".parquet")


def _suffix(span: tuple[int, int] | None) -> str:
    """The time-range part of a part's name: ``_<first>-<last>``, or nothing."""
    if span is None:
        return ""
    if not (isinstance(span, tuple) and len(span) == 2
            and all(type(t) is int and 0 <= t < 10**16 for t in span) and span[0] <= span[1]):
        raise InvalidInput(f"expected (earliest, latest) Unix ms, got {span!r}", field="span")
    return f"_{span[0]}-{span[1]}"


def _check_format(fmt: str) -> None:
    if fmt not in ("jsonl", "parquet"):
        raise InvalidInput(f"expected 'jsonl' or 'parquet', got {fmt!r}", field="fmt")


def _manifest(data: Any, name: str) -> tuple[str, list[str]]:
    """The part a compaction manifest ``name`` (``compacted-<id>.json``) names, and the parts
    it replaces; ``ValueError`` saying what is wrong when it is not the shape modelops writes:
    a manifest is untrusted, and the names in it decide what is read and what a compaction
    removes."""
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    part, replaces = data.get("part"), data.get("replaces")
    own = f"compact-{name[len('compacted-'):-len('.json')]}"
    if not (isinstance(part, str) and _PART_NAME.fullmatch(part)
            and part.rsplit(".", 1)[0].split("_", 1)[0] == own):
        raise ValueError(f"its part {part!r} is not {own}…")
    if not (isinstance(replaces, list) and all(
            isinstance(p, str) and _PART_NAME.fullmatch(p) for p in replaces)):
        raise ValueError("its replaced parts are not a list of part names")
    return part, replaces


def _part(kind: str, day: str, name: str, size: int | None) -> Part:
    """A listed part, with the time range its name spells (if it spells one exactly)."""
    match = _PART_NAME.fullmatch(name)
    first = last = None
    if match is not None and match.group(1) is not None:
        first, last = int(match.group(1)), int(match.group(2))
        if first > last:
            first = last = None
    return Part(kind, day, name, name.rsplit(".", 1)[-1], size, first, last)


class LayoutPredictionStore(PredictionStore):
    """Predictions and feedback as day-partitioned parts on a Storage."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.uri = storage.uri

    def _dir(self, model: str, kind: str, day: str | None = None) -> str:
        if kind not in KINDS:
            raise InvalidInput(f"expected one of {', '.join(KINDS)}, got {kind!r}", field="kind")
        base = f"predictions/{path_name(model)}" + ("/feedback" if kind == "feedback" else "")
        return base if day is None else f"{base}/date={day}"

    def write_part(self, model: str, kind: str, day: str, data: bytes, *,
                   part_id: str | None = None, span: tuple[int, int] | None = None,
                   fmt: str = "jsonl") -> Part:
        _check_format(fmt)
        if part_id is not None and not (isinstance(part_id, str)
                                        and _PART_ID.fullmatch(part_id)):
            raise InvalidInput(f"expected lowercase hex digits and dashes, got {part_id!r}",
                               field="part_id")
        name = f"part-{part_id or new_id()}{_suffix(span)}.{fmt}"
        try:
            self.storage.create(f"{self._dir(model, kind, day)}/{name}", data)
        except FileExistsError:
            if part_id is None:
                raise
            return _part(kind, day, name, None)  # written before: once is enough
        return _part(kind, day, name, len(data))

    def list_parts(self, model: str, kind: str, first_day: str | None = None,
                   last_day: str | None = None) -> list[Part]:
        out = []
        for folder in self.storage.listdir(self._dir(model, kind)):
            if not folder.startswith("date="):
                continue
            day = folder[5:]
            if (first_day and day < first_day) or (last_day and day > last_day):
                continue
            out.extend(self._day_parts(model, kind, day))
        return out

    def _day_parts(self, model: str, kind: str, day: str) -> list[Part]:
        folder = self._dir(model, kind, day)
        entries = self.storage.list_detail(folder)
        replaced: set[str] = set()
        compacted: set[str] = set()
        for name, _, _ in entries:
            if name.startswith("compacted-") and name.endswith(".json"):
                manifest = self.storage.read_json(f"{folder}/{name}")
                if manifest is None:
                    continue
                try:
                    part, replaces = _manifest(manifest, name)
                except ValueError as exc:
                    skipped(StoreError(f"{self.storage.uri_of(f'{folder}/{name}')}: not a "
                                       f"compaction manifest modelops wrote ({exc})"))
                    continue
                replaced.update(replaces)
                compacted.add(part)
        parts = []
        for name, is_dir, size in sorted(entries, key=lambda e: e[0].split("-", 1)[-1]):
            # A part- file of a part's format (written by hand too), or a compaction's part
            # its manifest names: another file in a day's folder is never read, nor merged
            # and removed by a compaction.
            live = (name.startswith("part-") and name.endswith(_FORMATS)
                    and name not in replaced) or name in compacted
            if live and not is_dir:
                parts.append(_part(kind, day, name, size))
        return parts

    def read_part(self, model: str, part: Part) -> bytes:
        try:
            return self.storage.read_bytes(f"{self._dir(model, part.kind, part.day)}/{part.name}")
        except FileNotFoundError:
            raise NotFound(f"part {part.name} of {model!r} is gone (compacted or "
                           "deleted meanwhile)") from None

    def open_part(self, model: str, part: Part) -> BinaryIO:
        rel = f"{self._dir(model, part.kind, part.day)}/{part.name}"
        if part.size is None:
            return io.BytesIO(self.read_part(model, part))
        # Unbuffered: a Parquet reader asks for exactly the ranges it needs, and a buffer's
        # read-ahead would fetch more than those after every seek.
        return _RangeFile(self.storage, rel, part.size)  # type: ignore[return-value]

    def replace_parts(self, model: str, kind: str, day: str, data: bytes, fmt: str,
                      replaces: Sequence[Part], span: tuple[int, int] | None = None) -> Part:
        _check_format(fmt)
        folder = self._dir(model, kind, day)
        part_id = new_id()
        # Readers take a compact- file only once its manifest exists, and from then on skip
        # the parts it replaces: the switch is the manifest's single exclusive create.
        name = f"compact-{part_id}{_suffix(span)}.{fmt}"
        self.storage.create(f"{folder}/{name}", data)
        manifest = {"part": name, "replaces": [p.name for p in replaces]}
        self.storage.create(f"{folder}/compacted-{part_id}.json", dumps(manifest))
        for p in replaces:
            self.storage.remove_tree(f"{folder}/{p.name}")
        return _part(kind, day, name, len(data))

    def delete_before(self, model: str, kind: str, day: str) -> list[str]:
        removed = []
        for folder in self.storage.listdir(self._dir(model, kind)):
            if folder.startswith("date=") and folder[5:] < day:
                self.storage.remove_tree(f"{self._dir(model, kind)}/{folder}")
                removed.append(folder[5:])
        return removed

    def list_models(self) -> list[str]:
        return self.storage.listdir("predictions")


class _RangeFile(io.RawIOBase):
    """A stored file read by ranges (``Storage.read_range``) as it is sought and read: a
    Parquet reader fetches the footer and the row groups it wants, not the whole file."""

    def __init__(self, storage: Storage, rel: str, size: int) -> None:
        super().__init__()
        self._storage, self._rel, self._size, self._at = storage, rel, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._at

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._at, io.SEEK_END: self._size}[whence]
        self._at = max(0, base + offset)
        return self._at

    def readinto(self, buffer: Any) -> int:
        want = min(len(buffer), self._size - self._at)
        if want <= 0:
            return 0
        try:
            data = self._storage.read_range(self._rel, self._at, self._at + want)
        except FileNotFoundError:
            raise NotFound(f"{self._rel} is gone (compacted or deleted meanwhile)") from None
        buffer[:len(data)] = data
        self._at += len(data)
        return len(data)
