"""PredictionStore over the layout, on any Storage: Hive-style day partitions.

Layout under the root::

    predictions/<model>/date=YYYY-MM-DD/part-<id>.jsonl                predictions, one per line
    predictions/<model>/feedback/date=YYYY-MM-DD/part-<id>.jsonl       feedback
    .../date=YYYY-MM-DD/compacted-<id>.json                            compaction manifests

DuckDB, Spark and pandas read the parts as they are
(``read_json('predictions/fraud/*/*.jsonl', hive_partitioning = true)``). A compaction writes
``compact-<id>.parquet`` (or ``.jsonl``), then a manifest naming it and the parts it
replaces, then removes those; readers take a compacted file only through its manifest and
skip every part a manifest names, so no record is read twice and an interrupted compaction
leaves the old parts in force.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from modelops._files import path_name
from modelops._ids import new_id
from modelops.backends.layout.storage import Storage, dumps
from modelops.errors import InvalidInput, NotFound
from modelops.stores import PredictionStore
from modelops.stores.predictions import KINDS, Part

_PART_ID = re.compile(r"[0-9a-f][0-9a-f-]{0,99}")


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
                   part_id: str | None = None) -> Part:
        if part_id is not None and not (isinstance(part_id, str)
                                        and _PART_ID.fullmatch(part_id)):
            raise InvalidInput(f"expected lowercase hex digits and dashes, got {part_id!r}",
                               field="part_id")
        name = f"part-{part_id or new_id()}.jsonl"
        try:
            self.storage.create(f"{self._dir(model, kind, day)}/{name}", data)
        except FileExistsError:
            if part_id is None:
                raise
            return Part(kind, day, name, "jsonl", None)  # written before: once is enough
        return Part(kind, day, name, "jsonl", len(data))

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
                if manifest is not None:
                    replaced.update(manifest["replaces"])
                    compacted.add(manifest["part"])
        parts = []
        for name, is_dir, size in sorted(entries, key=lambda e: e[0].split("-", 1)[-1]):
            live = (name.startswith("part-") and name not in replaced) or name in compacted
            if live and not is_dir:
                parts.append(Part(kind, day, name, name.rsplit(".", 1)[-1], size))
        return parts

    def read_part(self, model: str, part: Part) -> bytes:
        try:
            return self.storage.read_bytes(f"{self._dir(model, part.kind, part.day)}/{part.name}")
        except FileNotFoundError:
            raise NotFound(f"part {part.name} of {model!r} is gone (compacted or "
                           "deleted meanwhile)") from None

    def replace_parts(self, model: str, kind: str, day: str, data: bytes, fmt: str,
                      replaces: Sequence[Part]) -> Part:
        if fmt not in ("jsonl", "parquet"):
            raise InvalidInput(f"expected 'jsonl' or 'parquet', got {fmt!r}", field="fmt")
        folder = self._dir(model, kind, day)
        part_id = new_id()
        # Readers take a compact- file only once its manifest exists, and from then on skip
        # the parts it replaces: the switch is the manifest's single exclusive create.
        name = f"compact-{part_id}.{fmt}"
        self.storage.create(f"{folder}/{name}", data)
        manifest = {"part": name, "replaces": [p.name for p in replaces]}
        self.storage.create(f"{folder}/compacted-{part_id}.json", dumps(manifest))
        for p in replaces:
            self.storage.remove_tree(f"{folder}/{p.name}")
        return Part(kind, day, name, fmt, len(data))

    def delete_before(self, model: str, kind: str, day: str) -> list[str]:
        removed = []
        for folder in self.storage.listdir(self._dir(model, kind)):
            if folder.startswith("date=") and folder[5:] < day:
                self.storage.remove_tree(f"{self._dir(model, kind)}/{folder}")
                removed.append(folder[5:])
        return removed

    def list_models(self) -> list[str]:
        return self.storage.listdir("predictions")
