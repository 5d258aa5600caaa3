"""Plain-data (JSON-ready) forms of the value objects, for backends that store documents.

Kept out of the classes on purpose: a value object does not know how it is stored.
"""

from __future__ import annotations

import enum
from typing import Any

import attrs

from modelops.entities.datasets import dataset_to_data
from modelops.entities.plain import to_plain
from modelops.entities.registry import (
    ArtifactFile,
    Change,
    Decision,
    Lineage,
    ModelVersion,
    RegisteredModel,
    RegistryEvent,
    check_event,
)


def to_data(obj: Any) -> dict[str, Any]:
    """A value object as nested dicts, lists and scalars."""
    if type(obj) is ModelVersion:
        return _version_data(obj)
    return attrs.asdict(obj, recurse=True, value_serializer=_plain)


def _version_data(v: ModelVersion) -> dict[str, Any]:
    # Written out by hand: every register encodes one, and the generic walk costs more than
    # the rest of writing the claim. tests/test_entities.py holds it equal to the generic form.
    lineage = v.lineage
    return {
        "name": v.name, "version": v.version, "run_id": v.run_id,
        "metrics": dict(v.metrics), "params": dict(v.params),
        "framework": v.framework, "flavor": v.flavor,
        "files": [{"path": f.path, "sha256": f.sha256, "size": f.size} for f in v.files],
        "size": v.size, "created_time": v.created_time, "creator": v.creator,
        "lineage": {"parent_version": lineage.parent_version,
                    "training_data": lineage.training_data, "notes": lineage.notes,
                    "datasets": [dataset_to_data(d) for d in lineage.datasets]},
        "flavor_meta": to_plain(v.flavor_meta), "artifact_location": v.artifact_location,
        "description": v.description, "tags": dict(v.tags), "stage": to_plain(v.stage),
        "aliases": list(v.aliases),
        "signature": None if v.signature is None else to_plain(v.signature),
        "input_example": [dict(row) for row in v.input_example],
        "requirements": dict(v.requirements),
    }


def _plain(_inst: Any, _field: Any, value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return value


def _known(cls: type, d: Any) -> dict[str, Any]:
    """The fields of ``cls`` in a stored object; a field a newer writer added is ignored.
    ``TypeError`` for anything but a JSON object (the callers name the file)."""
    if not isinstance(d, dict):
        raise TypeError(f"expected a JSON object, got {type(d).__name__}")
    names = attrs.fields_dict(cls)
    return {k: v for k, v in d.items() if k in names}


def model_from_data(d: dict[str, Any]) -> RegisteredModel:
    return RegisteredModel(**_known(RegisteredModel, d))


def version_from_data(d: dict[str, Any]) -> ModelVersion:
    d = _known(ModelVersion, d)
    d["files"] = tuple(ArtifactFile(**_known(ArtifactFile, f)) for f in d.get("files", ()))
    d["lineage"] = Lineage(**_known(Lineage, d.get("lineage") or {}))
    return ModelVersion(**d)


def event_from_data(d: dict[str, Any]) -> RegistryEvent:
    d = _known(RegistryEvent, d)
    d["changes"] = tuple(Change(**_known(Change, c)) for c in d.get("changes", ()))
    if d.get("decision") is not None:
        d["decision"] = Decision(**_known(Decision, d["decision"]))
    return check_event(RegistryEvent(**d))
