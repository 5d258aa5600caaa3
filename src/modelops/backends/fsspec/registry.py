"""RegistryStore over the log-structured layout, on any Storage.

Layout under the root::

    models/<name>/model.json                              written once, by the first register
    models/<name>/versions/<version>/files-<upload>/...   a version's files, uploaded first
    models/<name>/versions/<version>/version.json         the claim, created exclusively last
    models/<name>/events/<seq>.json                       the audit trail: seq 1, 2, 3 … each
                                                          claimed with an exclusive create

A version exists once ``version.json`` does, and that file is written only after every file
it lists is stored, so an interrupted register leaves nothing visible. Racing registrations
of one version upload into different ``files-<upload>`` folders; the loser of the claim
removes its folder.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from modelops._ids import new_id
from modelops.backends.fsspec.storage import Storage, dumps, segment
from modelops.entities.codec import event_from_data, model_from_data, to_data, version_from_data
from modelops.entities.registry import ModelVersion, RegisteredModel, RegistryEvent
from modelops.errors import AlreadyExists, Conflict, NotFound
from modelops.stores import RegistryStore

_SEQ_WIDTH = 12


def _model_dir(name: str) -> str:
    return f"models/{segment(name)}"


def _version_dir(name: str, version: str) -> str:
    return f"{_model_dir(name)}/versions/{version}"


class LayoutRegistryStore(RegistryStore):
    """Models, versions and their events in the log-structured layout on a Storage."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.uri = storage.uri
        # Records and events never change once written: cache them by path.
        self._versions: dict[str, ModelVersion] = {}
        self._events: dict[str, RegistryEvent] = {}

    def create_model(self, model: RegisteredModel) -> RegisteredModel:
        try:
            self.storage.create(f"{_model_dir(model.name)}/model.json", dumps(to_data(model)))
        except FileExistsError:
            raise AlreadyExists(f"model {model.name!r} already exists") from None
        return model

    def get_model(self, name: str) -> RegisteredModel:
        data = self.storage.read_json(f"{_model_dir(name)}/model.json")
        if data is None:
            raise NotFound(f"no model named {name!r} in {self.uri}")
        return model_from_data(data)

    def list_models(self) -> list[RegisteredModel]:
        out = []
        for folder in self.storage.listdir("models"):
            data = self.storage.read_json(f"models/{folder}/model.json")
            if data is not None:
                out.append(model_from_data(data))
        return out

    def create_version(self, version: ModelVersion, files: Mapping[str, str]) -> ModelVersion:
        vdir = _version_dir(version.name, version.version)
        if self.storage.exists(f"{vdir}/version.json"):
            # Cheap early refusal; the exclusive create below is what guarantees it.
            raise AlreadyExists(f"model {version.name!r} already has version {version.version}")
        upload = f"{vdir}/files-{new_id()}"
        try:
            for rel, local in files.items():
                self.storage.put_file(local, f"{upload}/{rel}")
            stored = attrs.evolve(version, artifact_location=self.storage.uri_of(upload))
            data = to_data(stored)
            data["upload"] = upload.rsplit("/", 1)[1]
            self.storage.create(f"{vdir}/version.json", dumps(data))
        except FileExistsError:
            self.storage.remove_tree(upload)
            raise AlreadyExists(
                f"model {version.name!r} already has version {version.version}") from None
        except BaseException:
            self.storage.remove_tree(upload)
            raise
        self._versions[f"{vdir}/version.json"] = stored
        return stored

    def _read_version(self, name: str, version: str) -> ModelVersion | None:
        path = f"{_version_dir(name, version)}/version.json"
        cached = self._versions.get(path)
        if cached is not None:
            return cached
        data = self.storage.read_json(path)
        if data is None:
            return None
        data.pop("upload", None)
        record = self._versions[path] = version_from_data(data)
        return record

    def get_version(self, name: str, version: str) -> ModelVersion:
        record = self._read_version(name, version)
        if record is None:
            self.get_model(name)
            raise NotFound(f"model {name!r} has no version {version}")
        return record

    def list_versions(self, name: str) -> list[ModelVersion]:
        self.get_model(name)
        out = []
        for version in self.storage.listdir(f"{_model_dir(name)}/versions"):
            record = self._read_version(name, version)
            if record is not None:
                out.append(record)
        return out

    def download_version(self, name: str, version: str, dst_dir: str) -> str:
        vdir = _version_dir(name, version)
        data = self.storage.read_json(f"{vdir}/version.json")
        if data is None:
            raise NotFound(f"model {name!r} has no version {version}")
        self.storage.get(f"{vdir}/{data['upload']}", dst_dir)
        return dst_dir

    def append_event(self, event: RegistryEvent) -> RegistryEvent:
        path = f"{_model_dir(event.model)}/events/{event.seq:0{_SEQ_WIDTH}d}.json"
        try:
            self.storage.create(path, dumps(to_data(event)))
        except FileExistsError:
            raise Conflict(f"event {event.seq} of model {event.model!r} was written by "
                           "someone else first") from None
        self._events[path] = event
        return event

    def list_events(self, name: str, after_seq: int = 0) -> list[RegistryEvent]:
        rel = f"{_model_dir(name)}/events"
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
