"""Model versions and audit trails as small notebook tables (``_repr_html_``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from modelops import _html
from modelops.entities.datasets import Dataset
from modelops.entities.registry import ModelVersion, RegistryEvent

_TIMES = {"created": _html.utc_time, "time": _html.utc_time}


def version_html(v: ModelVersion) -> str:
    """One version: what it is, where it came from, its metrics and params."""
    parts = [_html.fields([
        ("model", v.name), ("version", v.version), ("stage", v.stage.value),
        ("aliases", ", ".join(v.aliases) or None), ("flavor", v.flavor),
        ("framework", v.framework), ("run", v.run_id), ("created", v.created_time),
        ("creator", v.creator), ("files", len(v.files)), ("size (bytes)", v.size),
        ("description", v.description or None),
        ("parent version", v.lineage.parent_version),
        ("training data", v.lineage.training_data)], formats=_TIMES,
        caption=f"{v.name} {v.version}")]
    for title, values in (("metrics", v.metrics), ("params", v.params), ("tags", v.tags)):
        if values:
            parts.append(_html.table([{"key": k, "value": x} for k, x in sorted(values.items())],
                                     caption=title))
    if v.requirements:
        parts.append(_html.table([{"distribution": k, "version": x}
                                  for k, x in v.requirements.items()],
                                 caption="requirements (to load it)"))
    if v.lineage.datasets:
        parts.append(_html.table([dataset_row(d) for d in v.lineage.datasets],
                                 caption="trained on"))
    return "".join(parts)


def dataset_row(d: Dataset) -> dict[str, Any]:
    """A dataset as one row of a table: what it was for, what it is, where it came from."""
    return {"name": d.name, "context": d.context, "rows": d.rows, "digest": d.digest[:12],
            "source": d.source, "run": d.run_id}


def _version_row(v: ModelVersion) -> dict[str, Any]:
    return {"version": v.version, "stage": v.stage.value, "aliases": ", ".join(v.aliases),
            "created": v.created_time, "run": v.run_id,
            **{f"metrics.{k}": x for k, x in sorted(v.metrics.items())}}


def _event_row(e: RegistryEvent) -> dict[str, Any]:
    changes = "; ".join(f"{c.version} {c.field}: {c.before or '-'} → {c.after or '-'}"
                        for c in e.changes)
    return {"seq": e.seq, "time": e.timestamp, "action": e.action, "changes": changes,
            "actor": e.actor, "reason": e.reason,
            "decision": None if e.decision is None else
            ("promote" if e.decision.promote else "refuse")}


def event_html(e: RegistryEvent) -> str:
    return _html.table([_event_row(e)], caption=f"{e.model} event {e.seq}", formats=_TIMES)


class VersionList(list[ModelVersion]):
    """Versions of a model (``Registry.list_versions``): a list that shows as a table."""

    def _repr_html_(self) -> str:
        name = self[0].name if self else ""
        return _html.table([_version_row(v) for v in self], formats=_TIMES,
                           caption=f"{name} versions ({len(self)})".strip())


class History(list[RegistryEvent]):
    """A model's audit trail (``Registry.history``), oldest first: a list that shows as a
    table."""

    def __init__(self, events: Iterable[RegistryEvent] = ()) -> None:
        super().__init__(events)

    def _repr_html_(self) -> str:
        name = self[0].model if self else ""
        return _html.table([_event_row(e) for e in self], formats=_TIMES,
                           caption=f"{name} history ({len(self)} events)".strip())
