"""Model URIs: ``models:/name/1.2.0``, ``models:/name@production``, ``models:/name@champion``,
``models:/name/latest`` (and MLflow's older ``models:/name/Production``)."""

from __future__ import annotations

import attrs

from modelops.entities.registry import SemVer, Stage
from modelops.errors import InvalidInput


@attrs.frozen
class ModelReference:
    """Which version a URI names: exactly one of ``version``, ``stage``, ``alias`` or
    ``latest``."""

    name: str
    version: str | None = None
    stage: str | None = None
    alias: str | None = None
    latest: bool = False


def parse_model_uri(uri: str) -> ModelReference:
    if not isinstance(uri, str) or not uri.startswith("models:/"):
        raise InvalidInput(f"expected 'models:/name/<version>' or 'models:/name@<alias>', "
                           f"got {uri!r}", field="model uri")
    rest = uri[len("models:/"):].strip("/")
    if "@" in rest:
        name, _, target = rest.partition("@")
        if not name or not target or "/" in name or "/" in target:
            raise InvalidInput(f"malformed model URI {uri!r}", field="model uri")
        if Stage.is_stage(target.lower()):
            return ModelReference(name, stage=target.lower())
        return ModelReference(name, alias=target)
    name, _, part = rest.partition("/")
    if not name or not part or "/" in part:
        raise InvalidInput(f"malformed model URI {uri!r}: expected models:/name/<version>",
                           field="model uri")
    if part == "latest":
        return ModelReference(name, latest=True)
    if Stage.is_stage(part.lower()):
        return ModelReference(name, stage=part.lower())
    return ModelReference(name, version=SemVer.parse(part).core)
