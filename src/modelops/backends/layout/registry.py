"""RegistryStore over the log-structured layout, on any Storage.

Layout under the root::

    models/<name>/model.json                  written once, by the first register
    models/<name>/versions.log                the versions, a line each (version, JSON record,
                                              checksum), appended under the file's lock
                                              (storages that append)
    models/<name>/pack                        small files of those versions, appended before
                                              the record that names them
    models/<name>/blobs/<sha256>              other file contents, named by their digest
    models/<name>/versions/<version>.json     on storages that cannot append (object stores):
                                              each record a claim, created exclusively, last
    models/<name>/events/<seq>.json           the audit trail: seq 1, 2, 3 … each claimed
                                              with an exclusive create
    models/<name>/quarantine/                 the bytes of events found unreadable, set aside
    models/<name>/checkpoints/<seq>.json      the registry's state folded from events 1..seq,
                                              every 50 events, each created exclusively: a
                                              CRC-32 line, then the JSON

A model keeps its versions one way for good, chosen when it is created: ``model.json`` of a
model whose versions are in the log says ``"versions": "log"``.

A version exists once its record does, and the record is written only after every file it
names is stored, so an interrupted register leaves nothing visible (at most bytes no record
refers to). A log writer holds the lock, reads the records appended since it last looked and
appends only a version no record has; readers take no lock and read whole lines only. Each
line carries a checksum, so one cut short by a crash is skipped (and each starts with a
newline, so the next one starts a line of its own); of two records of one version the first
counts. An append writes to a file that exists where a claim creates one: on a busy disk that
is several times cheaper, and a register creates no file at all. Records are decoded when
asked for, so reading one version of a long log costs a read and a scan, not a decode of all.

An event that cannot be read (cut short by a machine crash, damaged, of the wrong shape) is
skipped with a ``StoreWarning`` naming its file. Its number stays taken: the next writer to
claim that number finds it unreadable, copies its bytes into ``quarantine/`` (never deleting
them), puts in its place a ``quarantined`` event that says where they went, and claims the
number after. The place is only ever replaced by that marker, so two writers doing this at
once write the same thing, and no number is ever claimed twice.

A fresh reader starts from the latest checkpoint and reads only the events after it. A
checkpoint whose checksum, JSON or shape does not hold is skipped with a ``StoreWarning`` (the
one before it is tried, then the events from the first). A reader that looks up one version
of a log it has not read finds that version's line in the bytes, checking that line's
checksum only, rather than parsing every line.

Blobs are written whole under their digest, so repeated registrations of the same big file
store it once, and a changed byte can never hide behind a valid name.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import re
import warnings
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from modelops._crash import crash_point
from modelops._files import path_name, read_file, read_file_up_to, sha256_file
from modelops._ids import now_ms
from modelops.backends.layout.storage import (
    DECODE_ERRORS,
    Storage,
    dumps,
    loads,
    skipped,
)
from modelops.entities.registry import ModelVersion, RegisteredModel, RegistryEvent, is_version
from modelops.entities.registry_codec import (
    event_from_data,
    model_from_data,
    to_data,
    version_from_data,
)
from modelops.errors import (
    AlreadyExists,
    Conflict,
    InvalidInput,
    NotFound,
    StoreError,
    StoreWarning,
)
from modelops.stores import RegistryStore

_SEQ_WIDTH = 12
#: Artifact files up to this size are read once into memory to be digested and stored (in
#: the pack, for a model with a log).
_SMALL_ARTIFACT = 8 << 20
#: ``model.json`` of a model whose versions are in ``versions.log`` says ``"versions": "log"``.
_KEPT_IN = "versions"


def _model_dir(name: str) -> str:
    return f"models/{path_name(name)}"


def _claim(name: str, version: str) -> str:
    return f"{_model_dir(name)}/versions/{path_name(version)}.json"


def _blob(name: str, sha256: str) -> str:
    return f"{_model_dir(name)}/blobs/{sha256}"


def _log(name: str) -> str:
    return f"{_model_dir(name)}/versions.log"


def _pack(name: str) -> str:
    return f"{_model_dir(name)}/pack"


def _taken(version: ModelVersion) -> AlreadyExists:
    return AlreadyExists(f"model {version.name!r} already has version {version.version}")


def _write_local(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


@attrs.define
class _Log:
    """What this process has read of one model's ``versions.log``."""

    offset: int = 0  # bytes taken: up to the end of the last whole line
    records: dict[str, bytes] = attrs.Factory(dict)  # version -> its JSON, in log order
    generation: int = 0  # how many times the log was found replaced underneath
    at: dict[str, int] = attrs.Factory(dict)  # version -> where its line starts, for checkpoints


def _log_line(version: str, record: bytes) -> bytes:
    """A record as a line of the log: the version, the JSON record and the CRC-32 of both,
    tab-separated (JSON escapes tabs and newlines). It starts with a newline, so that after a
    line cut short by a crash it still starts a line of its own."""
    body = f"{version}\t".encode() + record
    return b"\n%s\t%08x\n" % (body, zlib.crc32(body))


def _parse_line(line: bytes) -> tuple[str, bytes] | None:
    """The version and JSON record of a line; None for one that was cut short or damaged."""
    body, _, crc = line.rpartition(b"\t")
    if crc != b"%08x" % zlib.crc32(body):
        return None
    version, _, record = body.partition(b"\t")
    try:
        text = version.decode("ascii")
    except UnicodeDecodeError:
        return None
    return (text, record) if is_version(text) else None


_DIGEST = re.compile(r"[0-9a-f]{64}")


def _stored_version(data: Any, name: str, version: str, where: str
                    ) -> tuple[ModelVersion, dict[str, str], dict[str, tuple[int, int]]]:
    """A stored version record with its blob and pack maps, each checked as strictly as
    user input: a blob is named by 64 hex digits only, every map entry is a file of the
    record, offsets are whole numbers. ``StoreError`` naming ``where`` otherwise — so a
    crafted record can never make a read leave the model's own folder."""
    try:
        data = dict(data)
        blobs = data.pop("blobs", None) or {}
        packed = data.pop("packed", None) or {}
        record = version_from_data(data)
        if record.name != name or record.version != version:
            raise ValueError(f"it is the record of {record.name!r} {record.version}")
        sizes = {f.path: f.size for f in record.files}
        paths = sizes.keys()
        for path, digest in blobs.items():
            if path not in paths or not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
                raise ValueError(f"its blob map names {path!r} -> {digest!r}")
        checked: dict[str, tuple[int, int]] = {}
        for path, where_in_pack in packed.items():
            start, size = where_in_pack
            # The size is the file's own: a read allocates it before the digest is checked.
            if path not in paths or not all(type(n) is int and n >= 0 for n in (start, size)) \
                    or size != sizes[path]:
                raise ValueError(f"its pack map names {path!r} -> {where_in_pack!r}")
            checked[path] = (start, size)
    except DECODE_ERRORS as exc:
        raise StoreError(f"{where}: not a valid record of {name!r} {version} ({exc}); "
                         "refusing to read it") from None
    return record, blobs, checked


class LayoutRegistryStore(RegistryStore):
    """Models, versions and their events in the log-structured layout on a Storage."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.uri = storage.uri
        # Records and events never change once written: cache them by path.
        self._versions: dict[str, ModelVersion] = {}
        self._events: dict[str, RegistryEvent] = {}
        self._records: dict[str, RegisteredModel] = {}  # model.json, written once
        self._logs: dict[str, _Log] = {}  # the models whose versions are in a log
        self._blobs: dict[str, dict[str, str]] = {}  # claim -> file path -> stored digest
        self._packed: dict[str, dict[str, tuple[int, int]]] = {}  # claim -> path -> in pack
        self._claimed: dict[str, dict[str, str]] = {}  # model -> claim file name -> version
        # model -> version -> (start, size) of its line in the log, from a checkpoint
        self._located: dict[str, dict[str, tuple[int, int]]] = {}

    def create_model(self, model: RegisteredModel) -> RegisteredModel:
        # The way a model keeps its versions is fixed here, in the record that makes it exist,
        # so no writer can see the model before knowing the way.
        data = to_data(model)
        if self.storage.appends:
            data[_KEPT_IN] = "log"
        try:
            self.storage.create(f"{_model_dir(model.name)}/model.json", dumps(data))
        except FileExistsError:
            raise AlreadyExists(f"model {model.name!r} already exists") from None
        self._records[model.name] = self._model_from(data)
        return model

    def _model_from(self, data: dict) -> RegisteredModel:
        """The model of a ``model.json``, noting whether its versions are in a log."""
        data = dict(data)
        log = data.pop(_KEPT_IN, None) == "log"
        model = model_from_data(data)
        if log:
            self._logs.setdefault(model.name, _Log())
        return model

    def get_model(self, name: str) -> RegisteredModel:
        record = self._records.get(name)
        if record is None:
            record = self._read_model(_model_dir(name), name)
            if record is None:
                raise NotFound(f"no model named {name!r} in {self.uri}")
            self._records[name] = record
        return record

    def _read_model(self, folder: str, name: str | None) -> RegisteredModel | None:
        """The model record in ``folder`` (of ``name`` if given); None if there is none,
        ``StoreError`` naming the file if it is not a model record."""
        rel = f"{folder}/model.json"
        data = self.storage.read_json(rel)
        if data is None:
            return None
        try:
            record = self._model_from(data)
            if (record.name != name) if name is not None else \
                    (_model_dir(record.name) != folder):
                raise ValueError(f"it is the record of {record.name!r}")
        except DECODE_ERRORS as exc:
            raise StoreError(f"{self.storage.uri_of(rel)}: not a model record ({exc})") from None
        return record

    def list_models(self) -> list[RegisteredModel]:
        out = []
        for folder in self.storage.listdir("models"):
            try:
                record = self._read_model(f"models/{folder}", None)
            except StoreError as exc:
                skipped(exc)
                continue
            if record is not None:
                self._records.setdefault(record.name, record)
                out.append(record)
        return sorted(out, key=lambda m: m.name)

    def create_version(self, version: ModelVersion, files: Mapping[str, str]) -> ModelVersion:
        self.get_model(version.name)
        if {f.path for f in version.files} != set(files):
            raise InvalidInput("the files given and the files recorded differ", field="files")
        log = self._logs.get(version.name)
        if log is not None:
            return self._append_version(log, version, files)
        claim = _claim(version.name, version.version)
        if version.size > _SMALL_ARTIFACT and self.storage.exists(claim):
            # Spares copying a big artifact for nothing; the exclusive create below is what
            # guarantees the refusal.
            raise _taken(version)
        # Blobs are named by the digest of the bytes actually stored, whatever the record
        # says: a wrong record can only fail its own digest check, never another version's.
        blobs = {rel: self._store_blob(version.name, local) for rel, local in files.items()}
        location = self.storage.uri_of(f"{_model_dir(version.name)}/blobs")
        stored = attrs.evolve(version, artifact_location=location)
        data = to_data(stored)
        data["blobs"] = blobs
        try:
            self.storage.create(claim, dumps(data))
        except FileExistsError:
            raise _taken(version) from None
        return self._keep(version.name, stored, blobs, {})

    def _append_version(self, log: _Log, version: ModelVersion,
                        files: Mapping[str, str]) -> ModelVersion:
        name = version.name
        if not self.storage.appends:
            raise StoreError(f"model {name!r} keeps its versions in an append-only log, and "
                             f"{self.uri} cannot append: register its versions through the "
                             "local filesystem store it was made in")
        if version.size > _SMALL_ARTIFACT and version.version in self._read_log(name, log):
            raise _taken(version)
        # Big files are streamed into blobs first; the lock orders only the small appends.
        blobs: dict[str, str] = {}
        small = {}
        for rel, local in files.items():
            if os.path.getsize(local) > _SMALL_ARTIFACT:
                blobs[rel] = self._put_blob(name, local)
            else:
                small[rel] = local
        packed: dict[str, tuple[int, int]] = {}
        stored = attrs.evolve(version, artifact_location=self.storage.uri_of(_model_dir(name)))
        with self.storage.locked(_log(name)) as locked:
            if version.version in self._read_log(name, log, locked.read):
                raise _taken(version)
            crash_point("registry.log.locked")
            for rel, local in small.items():
                data = read_file(local)
                blobs[rel] = hashlib.sha256(data).hexdigest()
                packed[rel] = (self.storage.append(_pack(name), data), len(data))
            crash_point("registry.log.packed")
            record = dumps({**to_data(stored), "blobs": blobs, "packed": packed})
            line = _log_line(version.version, record)
            start = locked.append(line)
            crash_point("registry.log.appended")
            log.records[version.version] = record
            log.at[version.version] = start + 1
            # Nothing was appended since the read under this lock: the log is read up to the
            # end of this record (past, at most, a line cut short that no reader takes).
            log.offset = max(log.offset, start + len(line))
        self._keep(name, stored, blobs, packed)
        return stored

    def _read_log(self, name: str, log: _Log,
                  read: Callable[[int], bytes] | None = None) -> dict[str, bytes]:
        """Every version of a model with a log and its JSON record, in log order: what this
        process has read, and the whole lines appended since (read from an offset by
        ``read``, by default without the lock). Records are decoded when asked for
        (``_logged_version``), so a reader of one version does not decode them all."""
        start = log.offset
        try:
            # From the last byte taken, which ends a line: if it is not a newline any more,
            # the log was replaced underneath (a store restored from a backup).
            at = max(start - 1, 0)
            data = read(at) if read else self.storage.read_range(_log(name), at)
        except FileNotFoundError:  # no version yet, or the log is gone
            data = b""
        if start:
            if data[:1] != b"\n":
                for version in log.records:
                    self._versions.pop(_claim(name, version), None)
                log.offset, log.records, log.at = 0, {}, {}
                log.generation += 1
                return self._read_log(name, log, read)
            data = data[1:]
        whole = data.rfind(b"\n") + 1  # a line still being appended is taken next time
        at = start
        for line in data[:whole].split(b"\n"):
            parsed = _parse_line(line) if line else None
            if parsed is not None and parsed[0] not in log.records:
                # Of two records of one version, the first counts.
                log.records[parsed[0]] = parsed[1]
                log.at[parsed[0]] = at
            at += len(line) + 1
        # Threads of one store may read the same lines; the offset only grows.
        log.offset = max(log.offset, start + whole)
        return log.records

    def _find_logged(self, name: str, version: str) -> bytes | None:
        """The JSON record of ``version`` found in the log's bytes without parsing every
        line: JSON escapes newlines, so a line of that version is the only place its bytes
        follow a newline and precede a tab. The first whole line that checks counts, as in
        ``_read_log``. Where a checkpoint said where the line starts, only it is read."""
        try:
            where = self._located.get(name, {}).get(version)
            if where is not None:
                start, size = where
                parsed = _parse_line(self.storage.read_range(_log(name), start, start + size))
                if parsed is not None and parsed[0] == version:
                    return parsed[1]
            data = self.storage.read_bytes(_log(name))
        except FileNotFoundError:
            return None
        needle = b"\n%s\t" % version.encode("ascii")
        at = data.find(needle)
        while at >= 0:
            end = data.find(b"\n", at + 1)
            if end < 0:
                return None  # a line still being appended
            parsed = _parse_line(data[at + 1:end])
            if parsed is not None and parsed[0] == version:
                return parsed[1]
            at = data.find(needle, end)
        return None

    def _logged_version(self, name: str, log: _Log, version: str) -> ModelVersion | None:
        claim = _claim(name, version)
        record = self._versions.get(claim)
        if record is None:
            # A process that has not read the log finds the one record in it; one that has,
            # reads only what was appended since.
            text = log.records.get(version) or (
                self._find_logged(name, version) if log.offset == 0
                else self._read_log(name, log).get(version))
            if text is None:
                return None
            where = self.storage.uri_of(_log(name))
            try:
                data = loads(text)
            except ValueError:
                raise StoreError(f"{where}: the record of {name!r} {version} is not JSON; "
                                 "refusing to read it") from None
            record = self._keep(name, *_stored_version(data, name, version, where))
        return record

    def _keep(self, name: str, record: ModelVersion, blobs: dict[str, str],
              packed: dict[str, tuple[int, int]]) -> ModelVersion:
        claim = _claim(name, record.version)
        self._versions[claim] = record
        self._blobs[claim] = blobs
        self._packed[claim] = packed
        return record

    def _store_blob(self, name: str, local: str) -> str:
        """Store one local file under its digest; return the digest."""
        data = read_file_up_to(local, _SMALL_ARTIFACT)
        if data is None:
            return self._put_blob(name, local)
        # Small: digested and written from the same bytes, with no existence check first
        # (rewriting the same bytes under their own digest changes nothing).
        digest = hashlib.sha256(data).hexdigest()
        self.storage.replace(_blob(name, digest), data)
        return digest

    def _put_blob(self, name: str, local: str) -> str:
        """Stream one local file in under its digest, unless it is there; return the digest."""
        digest, _ = sha256_file(local)
        blob = _blob(name, digest)
        if not self.storage.exists(blob):
            self.storage.put_file(local, blob)
        return digest

    def _load_claim(self, name: str, version: str | None, path: str) -> ModelVersion | None:
        """The record in the claim file ``path`` (of ``version``, or of whichever version a
        long version's hashed file holds); None if there is none."""
        cached = self._versions.get(path)
        if cached is not None:
            return cached
        data = self.storage.read_json(path)
        if data is None:
            return None
        if version is None:
            version = data.get("version") if isinstance(data, dict) else None
            if not is_version(version):
                raise StoreError(f"{self.storage.uri_of(path)}: not a version record")
        record, blobs, _ = _stored_version(data, name, version, self.storage.uri_of(path))
        self._blobs[path] = blobs
        self._versions[path] = record
        return record

    def get_version(self, name: str, version: str) -> ModelVersion:
        self.get_model(name)
        log = self._logs.get(name)
        if log is None:
            record = self._load_claim(name, version, _claim(name, version))
        else:
            record = self._logged_version(name, log, version)
        if record is None:
            raise NotFound(f"model {name!r} has no version {version}")
        return record

    def list_versions(self, name: str) -> list[ModelVersion]:
        self.get_model(name)
        log = self._logs.get(name)
        out = []
        if log is not None:
            for v in list(self._read_log(name, log)):
                try:
                    record = self._logged_version(name, log, v)
                except StoreError as exc:
                    skipped(exc)
                    continue
                if record is not None:
                    out.append(record)
            return out
        folder = f"{_model_dir(name)}/versions"
        for entry in self.storage.listdir(folder):
            version = entry[:-5] if entry.endswith(".json") else ""
            if not (is_version(version) or entry.startswith("~")):
                continue  # not a claim: a stray file
            try:
                record = self._load_claim(name, version if entry[0] != "~" else None,
                                          f"{folder}/{entry}")
            except StoreError as exc:
                skipped(exc)
                continue
            if record is not None:
                out.append(record)
        return out

    def version_numbers_since(self, name: str, mark: Any = None
                              ) -> tuple[list[str], Any, bool] | None:
        self.get_model(name)
        log = self._logs.get(name)
        if log is None:
            return None  # claim files: a listing has no order of creation
        records = self._read_log(name, log)
        generation, count = mark if mark is not None else (-1, 0)
        if generation != log.generation or count > len(records):
            return list(records), (log.generation, len(records)), True
        # Records are kept in log order: the new ones are the last.
        new = list(itertools.islice(reversed(records), len(records) - count))
        return new[::-1], (log.generation, len(records)), False

    def version_numbers(self, name: str) -> list[str]:
        self.get_model(name)
        log = self._logs.get(name)
        if log is not None:
            return list(self._read_log(name, log))
        folder = f"{_model_dir(name)}/versions"
        entries = self.storage.listdir(folder)
        # Claim file name -> version, kept across calls: only new claims are looked at.
        known = self._claimed.setdefault(name, {})
        for entry in set(entries).difference(known):
            if entry[0] == "~":  # a long version, named by its digest: read the record
                try:
                    record = self._load_claim(name, None, f"{folder}/{entry}")
                except StoreError as exc:
                    skipped(exc)
                    continue
                if record is not None:
                    known[entry] = record.version
            elif entry.endswith(".json") and is_version(entry[:-5]):
                known[entry] = entry[:-5]
        if len(known) > len(entries):  # a claim went away (a store rewritten underneath)
            known = self._claimed[name] = {e: known[e] for e in entries if e in known}
        return list(known.values())

    def _read_file(self, name: str, record: ModelVersion, path: str) -> bytes:
        """One stored file of a version; ``FileNotFoundError`` if it is not there."""
        claim = _claim(name, record.version)
        where = self._packed.get(claim, {}).get(path)
        if where is not None:
            return self.storage.read_range(_pack(name), where[0], where[0] + where[1])
        digest = self._blobs.get(claim, {}).get(path)
        if digest is None:
            digest = next((f.sha256 for f in record.files if f.path == path), None)
            if digest is None:
                raise FileNotFoundError(path)
        return self.storage.read_bytes(_blob(name, digest))

    def download_version(self, name: str, version: str, dst_dir: str) -> str:
        record = self.get_version(name, version)
        claim = _claim(name, record.version)
        blobs, packed = self._blobs.get(claim, {}), self._packed.get(claim, {})
        os.makedirs(dst_dir, exist_ok=True)
        for f in record.files:
            local = os.path.join(dst_dir, *f.path.split("/"))
            try:
                if f.path in packed:
                    _write_local(local, self._read_file(name, record, f.path))
                else:
                    self.storage.get_file(_blob(name, blobs.get(f.path, f.sha256)), local)
            except FileNotFoundError:
                continue  # reported by the registry's digest check as a missing file
        return dst_dir

    def read_version_file(self, name: str, version: str, path: str) -> bytes:
        return self._read_file(name, self.get_version(name, version), path)

    def append_event(self, event: RegistryEvent) -> RegistryEvent:
        self.get_model(event.model)
        path = _event_path(event.model, event.seq)
        try:
            self.storage.create(path, dumps(to_data(event)))
        except FileExistsError:
            if self._readable_event(event.model, event.seq) is None:
                self._quarantine(event.model, event.seq)
            raise Conflict(f"event {event.seq} of model {event.model!r} was written by "
                           "someone else first") from None
        self._events[path] = event
        return event

    def _readable_event(self, name: str, seq: int) -> RegistryEvent | None:
        """The event ``seq`` of a model if it reads and has the right shape, else None."""
        path = _event_path(name, seq)
        event = self._events.get(path)
        if event is None:
            try:
                event = self._read_event(name, seq)
            except StoreError:
                return None
            if event is not None:
                self._events[path] = event
        return event

    def _read_event(self, name: str, seq: int) -> RegistryEvent | None:
        """The stored event ``seq``: None if there is no such file, ``StoreError`` naming
        the file if it does not read as that event."""
        try:
            raw = self.storage.read_bytes(_event_path(name, seq))
        except FileNotFoundError:
            return None
        return self._decoded_event(name, seq, raw)

    def _decoded_event(self, name: str, seq: int, raw: bytes) -> RegistryEvent:
        """The bytes of the stored event ``seq`` as that event; ``StoreError`` naming the file
        if they are not."""
        path = _event_path(name, seq)
        try:
            data = loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise StoreError(f"{self.storage.uri_of(path)}: not JSON (cut short by a crash, "
                             "or damaged)") from None
        try:
            event = event_from_data(data)
            if event.model != name or event.seq != seq:
                raise ValueError(f"it is event {event.seq} of {event.model!r}")
        except DECODE_ERRORS as exc:
            raise StoreError(f"{self.storage.uri_of(path)}: not an event of {name!r} "
                             f"({exc})") from None
        return event

    def _quarantine(self, name: str, seq: int) -> None:
        """Set an unreadable event aside: its bytes into ``quarantine/`` (never deleted),
        a ``quarantined`` event in its place, so the trail can move past its number."""
        path = _event_path(name, seq)
        try:
            data = self.storage.read_bytes(path)
        except FileNotFoundError:
            return
        try:   # another writer may have put its marker in place since this one looked
            self._events[path] = self._decoded_event(name, seq, data)
            return
        except StoreError:
            pass
        kept = f"{_model_dir(name)}/quarantine/events-{seq:0{_SEQ_WIDTH}d}-" \
               f"{hashlib.sha256(data).hexdigest()[:16]}.json"
        with contextlib.suppress(FileExistsError):  # another writer did a moment ago
            self.storage.create(kept, data)
        marker = RegistryEvent(
            model=name, seq=seq, action="quarantined", actor="modelops", timestamp=now_ms(),
            reason=f"event {seq} ({self.storage.uri_of(path)}) could not be read; its bytes "
                   f"were set aside in {self.storage.uri_of(kept)}",
            payload={"quarantined": kept})
        # The only event ever replaced, and only by this marker: whoever writes it last, the
        # trail says the same thing.
        self.storage.replace(path, dumps(to_data(marker)))
        self._events[path] = marker
        warnings.warn(f"modelops: {marker.reason}; the history moves on past it",
                      StoreWarning, stacklevel=4)

    def write_checkpoint(self, name: str, seq: int, data: Any,
                         versions: Sequence[str] = ()) -> None:
        self.get_model(name)
        log = self._logs.get(name)
        at = {}
        if log is not None:  # where the lines of the versions looked up start, and their size
            for version in versions:
                record = log.records.get(version)
                if record is not None and version in log.at:
                    at[version] = [log.at[version], len(_log_line(version, record)) - 2]
        body = dumps({"model": name, "seq": seq, "state": data, "at": at})
        with contextlib.suppress(FileExistsError):  # another writer's, of the same events
            self.storage.create(_checkpoint_path(name, seq), b"%08x\n%s" % (zlib.crc32(body), body))

    def read_checkpoint(self, name: str) -> tuple[int, Any] | None:
        self.get_model(name)
        folder = f"{_model_dir(name)}/checkpoints"
        entries = [e for e in self.storage.listdir(folder) if _EVENT_FILE.fullmatch(e)]
        for entry in reversed(entries[-_CHECKPOINTS_TRIED:]):
            seq = int(entry[:_SEQ_WIDTH])
            path = f"{folder}/{entry}"
            try:
                crc, _, body = self.storage.read_bytes(path).partition(b"\n")
                if crc != b"%08x" % zlib.crc32(body):
                    raise ValueError("its checksum does not match (cut short, or damaged)")
                data = loads(body)
                if not isinstance(data, dict) or data.get("model") != name or \
                        data.get("seq") != seq or "state" not in data:
                    raise ValueError(f"it is not the checkpoint of {name!r} after event {seq}")
                located = _located(data.get("at", {}))
            except FileNotFoundError:
                continue
            except (ValueError, UnicodeDecodeError) as exc:
                warnings.warn(f"modelops: ignored the checkpoint {self.storage.uri_of(path)} "
                              f"({exc}); the events before it are read instead", StoreWarning,
                              stacklevel=4)
                continue
            self._located[name] = located
            return seq, data["state"]
        return None

    def list_events(self, name: str, after_seq: int = 0) -> list[RegistryEvent]:
        self.get_model(name)
        rel = f"{_model_dir(name)}/events"
        if after_seq > 0 and not self.storage.exists(_event_path(name, after_seq + 1)):
            # Each event claims the number after the last, so with no event after_seq + 1
            # there is none later: a reader that is up to date asks for one name, not a
            # listing of the whole trail.
            return []
        out = []
        for entry in self.storage.listdir(rel):
            if not _EVENT_FILE.fullmatch(entry):
                continue  # not an event: a stray file (.DS_Store, notes …)
            seq = int(entry[:_SEQ_WIDTH])
            if seq <= after_seq:
                continue
            path = f"{rel}/{entry}"
            event = self._events.get(path)
            if event is None:
                try:
                    event = self._read_event(name, seq)
                except StoreError as exc:
                    skipped(exc)
                    continue
                if event is None:
                    continue
                self._events[path] = event
            out.append(event)
        return out


_EVENT_FILE = re.compile(rf"[0-9]{{{_SEQ_WIDTH}}}\.json")
#: A reader tries this many of the latest checkpoints before reading the events from the first.
_CHECKPOINTS_TRIED = 3


def _located(at: Any) -> dict[str, tuple[int, int]]:
    """A checkpoint's map of version -> (start, size) of its line, checked; ``ValueError``
    if it is not one (a wrong place costs only a read: the line read must check out)."""
    if not isinstance(at, dict):
        raise ValueError("its map of lines is not a map")
    out = {}
    for version, where in at.items():
        if not is_version(version) or not isinstance(where, list) or len(where) != 2 or \
                not all(type(n) is int and n >= 0 for n in where):
            raise ValueError(f"its map of lines names {version!r} -> {where!r}")
        out[version] = (where[0], where[1])
    return out


def _checkpoint_path(name: str, seq: int) -> str:
    return f"{_model_dir(name)}/checkpoints/{seq:0{_SEQ_WIDTH}d}.json"


def _event_path(name: str, seq: int) -> str:
    return f"{_model_dir(name)}/events/{seq:0{_SEQ_WIDTH}d}.json"
