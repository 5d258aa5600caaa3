"""Plain-data (JSON-ready) forms of the value objects, for backends that store documents.

Kept out of the classes on purpose: a value object does not know how it is stored.
"""

from __future__ import annotations

import enum
from typing import Any

import attrs

from modelops.entities.registry import (
    ArtifactFile,
    Change,
    Decision,
    Lineage,
    ModelVersion,
    RegisteredModel,
    RegistryEvent,
)


def to_data(obj: Any) -> dict[str, Any]:
    """A value object as nested dicts, lists and scalars."""
    return attrs.asdict(obj, recurse=True, value_serializer=_plain)


def _plain(_inst: Any, _field: Any, value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return value


def model_from_data(d: dict[str, Any]) -> RegisteredModel:
    return RegisteredModel(**d)


def version_from_data(d: dict[str, Any]) -> ModelVersion:
    d = dict(d)
    d["files"] = tuple(ArtifactFile(**f) for f in d.get("files", ()))
    d["lineage"] = Lineage(**(d.get("lineage") or {}))
    return ModelVersion(**d)


def event_from_data(d: dict[str, Any]) -> RegistryEvent:
    d = dict(d)
    d["changes"] = tuple(Change(**c) for c in d.get("changes", ()))
    if d.get("decision") is not None:
        d["decision"] = Decision(**d["decision"])
    return RegistryEvent(**d)
