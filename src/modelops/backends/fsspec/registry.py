"""RegistryStore over the log-structured layout, on any Storage.

Layout under the root::

    models/<name>/model.json                  written once, by the first register
    models/<name>/blobs/<sha256>              file contents, named by their digest
    models/<name>/versions/<version>.json     the claim: the record and the files (path and
                                              digest of each), created exclusively, last
    models/<name>/events/<seq>.json           the audit trail: seq 1, 2, 3 … each claimed
                                              with an exclusive create

A version exists once its claim does, and the claim is written only after every blob it names
is stored, so an interrupted register leaves nothing visible (at most an unreferenced blob).
Blobs are written whole under their digest, so racing or repeated registrations of the same
bytes store them once, and a changed byte can never hide behind a valid name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import attrs

from modelops._files import read_file_up_to, sha256_file
from modelops.backends.fsspec.storage import Storage, dumps, segment
from modelops.entities.codec import event_from_data, model_from_data, to_data, version_from_data
from modelops.entities.registry import ModelVersion, RegisteredModel, RegistryEvent
from modelops.errors import AlreadyExists, Conflict, InvalidInput, NotFound
from modelops.stores import RegistryStore

_SEQ_WIDTH = 12
#: Artifact files up to this size are read once into memory to be digested and stored.
_SMALL_ARTIFACT = 8 << 20


def _model_dir(name: str) -> str:
    return f"models/{segment(name)}"


def _claim(name: str, version: str) -> str:
    return f"{_model_dir(name)}/versions/{segment(version)}.json"


def _blob(name: str, sha256: str) -> str:
    return f"{_model_dir(name)}/blobs/{sha256}"


class LayoutRegistryStore(RegistryStore):
    """Models, versions and their events in the log-structured layout on a Storage."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.uri = storage.uri
        # Records and events never change once written: cache them by path.
        self._versions: dict[str, ModelVersion] = {}
        self._events: dict[str, RegistryEvent] = {}
        self._models: set[str] = set()  # models known to exist (they are never removed)
        self._records: dict[str, RegisteredModel] = {}  # model.json, written once
        self._blobs: dict[str, dict[str, str]] = {}  # claim -> file path -> stored digest
        self._claimed: dict[str, dict[str, str]] = {}  # model -> claim file name -> version

    def create_model(self, model: RegisteredModel) -> RegisteredModel:
        try:
            self.storage.create(f"{_model_dir(model.name)}/model.json", dumps(to_data(model)))
        except FileExistsError:
            raise AlreadyExists(f"model {model.name!r} already exists") from None
        self._models.add(model.name)
        self._records[model.name] = model
        return model

    def get_model(self, name: str) -> RegisteredModel:
        record = self._records.get(name)
        if record is None:
            data = self.storage.read_json(f"{_model_dir(name)}/model.json")
            if data is None:
                raise NotFound(f"no model named {name!r} in {self.uri}")
            record = self._records[name] = model_from_data(data)
            self._models.add(name)
        return record

    def list_models(self) -> list[RegisteredModel]:
        out = []
        for folder in self.storage.listdir("models"):
            data = self.storage.read_json(f"models/{folder}/model.json")
            if data is not None:
                out.append(model_from_data(data))
        return sorted(out, key=lambda m: m.name)

    def _require_model(self, name: str) -> None:
        if name not in self._models:
            if not self.storage.exists(f"{_model_dir(name)}/model.json"):
                raise NotFound(f"no model named {name!r} in {self.uri}")
            self._models.add(name)

    def create_version(self, version: ModelVersion, files: Mapping[str, str]) -> ModelVersion:
        self._require_model(version.name)
        claim = _claim(version.name, version.version)
        if version.size > _SMALL_ARTIFACT and self.storage.exists(claim):
            # Spares copying a big artifact for nothing; the exclusive create below is what
            # guarantees the refusal.
            raise AlreadyExists(f"model {version.name!r} already has version {version.version}")
        if {f.path for f in version.files} != set(files):
            raise InvalidInput("the files given and the files recorded differ", field="files")
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
            raise AlreadyExists(
                f"model {version.name!r} already has version {version.version}") from None
        self._versions[claim] = stored
        self._blobs[claim] = blobs
        return stored

    def _store_blob(self, name: str, local: str) -> str:
        """Store one local file under its digest; return the digest."""
        data = read_file_up_to(local, _SMALL_ARTIFACT)
        if data is not None:
            # Small: digested and written from the same bytes, with no existence check first
            # (rewriting the same bytes under their own digest changes nothing).
            digest = hashlib.sha256(data).hexdigest()
            self.storage.write_blob(_blob(name, digest), data)
            return digest
        digest, _ = sha256_file(local)
        blob = _blob(name, digest)
        if not self.storage.exists(blob):
            self.storage.put_file(local, blob)
        return digest

    def _read_version(self, name: str, version: str) -> ModelVersion | None:
        return self._load_claim(_claim(name, version))

    def _load_claim(self, path: str) -> ModelVersion | None:
        cached = self._versions.get(path)
        if cached is not None:
            return cached
        data = self.storage.read_json(path)
        if data is None:
            return None
        self._blobs[path] = data.pop("blobs", {})
        record = self._versions[path] = version_from_data(data)
        return record

    def get_version(self, name: str, version: str) -> ModelVersion:
        self._require_model(name)
        record = self._read_version(name, version)
        if record is None:
            self.get_model(name)
            raise NotFound(f"model {name!r} has no version {version}")
        return record

    def list_versions(self, name: str) -> list[ModelVersion]:
        self.get_model(name)
        out = []
        folder = f"{_model_dir(name)}/versions"
        for entry in self.storage.listdir(folder):
            record = self._load_claim(f"{folder}/{entry}")
            if record is not None:
                out.append(record)
        return out

    def version_numbers(self, name: str) -> list[str]:
        self._require_model(name)
        folder = f"{_model_dir(name)}/versions"
        entries = self.storage.listdir(folder)
        # Claim file name -> version, kept across calls: only new claims are looked at.
        known = self._claimed.setdefault(name, {})
        for entry in set(entries).difference(known):
            if entry[0] == "~":  # a long version, named by its digest: read the record
                record = self._load_claim(f"{folder}/{entry}")
                if record is not None:
                    known[entry] = record.version
            elif entry.endswith(".json"):
                known[entry] = entry[:-5]
        if len(known) > len(entries):  # a claim went away (a store rewritten underneath)
            known = self._claimed[name] = {e: known[e] for e in entries if e in known}
        return list(known.values())

    def download_version(self, name: str, version: str, dst_dir: str) -> str:
        import os

        record = self.get_version(name, version)
        blobs = self._blobs.get(_claim(name, record.version), {})
        os.makedirs(dst_dir, exist_ok=True)
        for f in record.files:
            local = os.path.join(dst_dir, *f.path.split("/"))
            try:
                self.storage.get(_blob(name, blobs.get(f.path, f.sha256)), local)
            except FileNotFoundError:
                continue  # reported by the registry's digest check as a missing file
        return dst_dir

    def read_version_file(self, name: str, version: str, path: str) -> bytes:
        record = self.get_version(name, version)
        recorded = {f.path: f.sha256 for f in record.files}
        digest = self._blobs.get(_claim(name, record.version), {}).get(path, recorded.get(path))
        if digest is None:
            raise FileNotFoundError(path)
        return self.storage.read_bytes(_blob(name, digest))

    def append_event(self, event: RegistryEvent) -> RegistryEvent:
        self._require_model(event.model)
        path = f"{_model_dir(event.model)}/events/{event.seq:0{_SEQ_WIDTH}d}.json"
        try:
            self.storage.create(path, dumps(to_data(event)))
        except FileExistsError:
            raise Conflict(f"event {event.seq} of model {event.model!r} was written by "
                           "someone else first") from None
        self._events[path] = event
        return event

    def list_events(self, name: str, after_seq: int = 0) -> list[RegistryEvent]:
        self._require_model(name)
        rel = f"{_model_dir(name)}/events"
        if after_seq > 0 and not self.storage.exists(f"{rel}/{after_seq + 1:0{_SEQ_WIDTH}d}.json"):
            # Each event claims the number after the last, so with no event after_seq + 1
            # there is none later: a reader that is up to date asks for one name, not a
            # listing of the whole trail.
            return []
        out = []
        for entry in self.storage.listdir(rel):
            if int(entry.split(".", 1)[0]) <= after_seq:
                continue
            path = f"{rel}/{entry}"
            event = self._events.get(path)
            if event is None:
                data = self.storage.read_json(path)
                if data is None:
                    continue
                event = self._events[path] = event_from_data(data)
            out.append(event)
        return out
