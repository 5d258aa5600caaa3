"""A model's current state, folded from its events.

The trail is the truth: stages, aliases, tags and descriptions are never stored as mutable
state, so two readers who saw the same events agree, and concurrent promotions — each claims
the next sequence number — cannot leave two versions in production.
"""

from __future__ import annotations

import warnings

import attrs

from modelops.entities.registry import RegistryEvent, Stage, check_payload
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
