"""A model's current state, folded from its events.

The trail is the truth: stages, aliases, tags and descriptions are never stored as mutable
state, so two readers who saw the same events agree, and concurrent promotions — each claims
the next sequence number — cannot leave two versions in production.
"""

from __future__ import annotations

import warnings
from typing import Any

import attrs

from modelops.entities.registry import RegistryEvent, SemVer, Stage, check_payload, is_version
from modelops.errors import StoreWarning

_PRODUCTION = Stage.PRODUCTION.value


@attrs.define
class ModelState:
    """Where every version of one model stands after events ``1..seq``."""

    seq: int = 0
    stages: dict[str, str] = attrs.field(factory=dict)
    aliases: dict[str, str] = attrs.field(factory=dict)
    # For rollback: the versions that held a target (production or an alias), oldest first.
    held: dict[str, list[str]] = attrs.field(factory=dict)
    tags: dict[str, str] = attrs.field(factory=dict)
    description: str = ""
    version_tags: dict[str, dict[str, str]] = attrs.field(factory=dict)
    version_descriptions: dict[str, str] = attrs.field(factory=dict)
    deleted: bool = False

    def stage_of(self, version: str) -> Stage:
        return Stage(self.stages.get(version, Stage.DEVELOPMENT.value))

    def aliases_of(self, version: str) -> tuple[str, ...]:
        return tuple(sorted(a for a, v in self.aliases.items() if v == version))

    def holder(self, target: str) -> str | None:
        """The version holding ``production`` or an alias now, if any (None for stages that
        many versions share)."""
        if target == _PRODUCTION:
            return next((v for v, s in self.stages.items() if s == _PRODUCTION), None)
        return self.aliases.get(target)

    def apply(self, event: RegistryEvent) -> None:
        try:
            check_payload(event)
        except ValueError as exc:
            # Its number stays taken (the next event claims the one after), its effect is
            # none: one damaged record never stops a model's history.
            warnings.warn(f"modelops: skipped event {event.seq} of model {event.model!r}: "
                          f"{exc}", StoreWarning, stacklevel=3)
            self.seq = event.seq
            return
        for change in event.changes:
            if change.field == "stage":
                self.stages[change.version] = change.after or Stage.DEVELOPMENT.value
            elif change.field.startswith("alias:"):
                alias = change.field.split(":", 1)[1]
                if change.after is None:
                    if self.aliases.get(alias) == change.version:
                        del self.aliases[alias]
                else:
                    self.aliases[alias] = change.version
        target = event.payload.get("target")
        if target is not None:
            stack = self.held.setdefault(target, [])
            if event.action in ("promote", "set_alias"):
                version = event.payload["version"]
                if not stack or stack[-1] != version:
                    stack.append(version)
            elif event.action == "rollback" and stack:
                stack.pop()
            elif event.action == "remove_alias":
                stack.clear()
        payload = event.payload
        if event.action == "tag":
            tags = self.version_tags.setdefault(payload["version"], {}) \
                if payload.get("version") else self.tags
            tags.update(payload["set"])
            for key in payload.get("unset", ()):
                tags.pop(key, None)
        elif event.action == "describe":
            if payload.get("version"):
                self.version_descriptions[payload["version"]] = payload["description"]
            else:
                self.description = payload["description"]
        elif event.action == "delete_model":
            self.deleted = True
        elif event.action == "restore_model":
            self.deleted = False
        self.seq = event.seq

    # -- checkpoints --------------------------------------------------------------------------

    def looked_up(self) -> list[str]:
        """The versions a look-up by stage or alias answers with in this state: every alias
        holder, and the highest version of each stage."""
        highest: dict[str, str] = {}
        for version, stage in self.stages.items():
            if stage not in highest or SemVer.parse(version) > SemVer.parse(highest[stage]):
                highest[stage] = version
        return sorted({*highest.values(), *self.aliases.values()})

    def to_data(self) -> dict[str, Any]:
        """The state as plain JSON-able data, for a checkpoint of the fold (copies: the state
        moves on while the checkpoint is written)."""
        return {"seq": self.seq, "stages": dict(self.stages), "aliases": dict(self.aliases),
                "held": {k: list(v) for k, v in self.held.items()}, "tags": dict(self.tags),
                "description": self.description,
                "version_tags": {k: dict(v) for k, v in self.version_tags.items()},
                "version_descriptions": dict(self.version_descriptions),
                "deleted": self.deleted}

    @classmethod
    def from_data(cls, data: Any) -> ModelState:
        """The state a checkpoint holds, checked field by field as strictly as any stored
        record (``ValueError`` or ``TypeError`` naming what is wrong): a checkpoint is read
        instead of the events it folds, so a damaged one must never pass for them."""
        if not isinstance(data, dict) or set(data) != _STATE_FIELDS:
            raise ValueError("not a folded registry state")
        seq, deleted, description = data["seq"], data["deleted"], data["description"]
        if type(seq) is not int or seq < 0 or type(deleted) is not bool \
                or not isinstance(description, str):
            raise ValueError("its seq, deleted or description is of the wrong type")
        stages = _str_map(data["stages"], "stages", is_version)
        if not all(Stage.is_stage(s) for s in stages.values()):
            raise ValueError("stages names a stage that does not exist")
        held = data["held"]
        if not isinstance(held, dict) or not all(
                isinstance(k, str) and isinstance(v, list) and all(map(is_version, v))
                for k, v in held.items()):
            raise ValueError("held is not a map of targets to version lists")
        version_tags = data["version_tags"]
        if not isinstance(version_tags, dict) or not all(map(is_version, version_tags)):
            raise ValueError("version_tags is not a map of versions")
        return cls(seq=seq, stages=stages,
                   aliases=_str_map(data["aliases"], "aliases", None, is_version),
                   held={k: list(v) for k, v in held.items()},
                   tags=_str_map(data["tags"], "tags"), description=description,
                   version_tags={v: _str_map(t, "version_tags") for v, t in version_tags.items()},
                   version_descriptions=_str_map(data["version_descriptions"],
                                                 "version_descriptions", is_version),
                   deleted=deleted)


_STATE_FIELDS = frozenset(attrs.fields_dict(ModelState))


def _str_map(value: Any, what: str, key_ok: Any = None, value_ok: Any = None) -> dict[str, str]:
    """``value`` as a map of strings to strings (keys passing ``key_ok``, values passing
    ``value_ok``, when given); ``ValueError`` naming ``what`` otherwise."""
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str)
            and (key_ok is None or key_ok(k)) and (value_ok is None or value_ok(v))
            for k, v in value.items()):
        raise ValueError(f"{what} is not a map of the right strings")
    return dict(value)
