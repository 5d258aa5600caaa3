"""Health per segment (``Monitor.health(segment_by="region")``): every check of the window run
on each segment's predictions, worst segments first.

A segment is a value of a logged feature (or of a function of the logged features, one value
per prediction). Its input drift is judged against the same segment of the reference
profile's row sample (``modelops.drift.segments``; the whole reference when the reference
cannot be cut that way, e.g. it lacks the column), with the drift tests' alpha divided by the
number of segments judged (Bonferroni), so that more segments do not mean more false alarms.
Its performance, while feedback is missing, is estimated from the same segment's labelled
history and judged against what was realised there. Segments with fewer than
``min_segment`` predictions are not judged. With one segment, the verdict is the global one.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from modelops.entities.monitoring import severity_rank
from modelops.errors import InvalidInput
from modelops.monitoring.values import STATUSES, Health
from modelops.monitoring.window import Window

__all__ = ["SegmentHealth", "SegmentedHealth", "segmented_health"]


@attrs.frozen(kw_only=True)
class SegmentHealth:
    """One segment's health: ``segment`` (the value as text), ``n`` its predictions, and
    ``note`` saying what its drift was judged against."""

    segment: str
    n: int
    health: Health
    note: str = ""


@attrs.frozen(kw_only=True)
class SegmentedHealth:
    """Health per segment (``Monitor.health(segment_by=...)``): ``segments`` worst first,
    ``skipped`` the segments not judged (with why), ``status`` the worst segment's."""

    model: str
    version: str | None
    segment_by: str
    window: str
    segments: tuple[SegmentHealth, ...] = attrs.field(converter=tuple)
    skipped: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=tuple)
    alpha: float = 0.05

    @property
    def status(self) -> str:
        return max((s.health.status for s in self.segments), key=STATUSES.index,
                   default="healthy")

    def segment(self, value: Any) -> SegmentHealth:
        for s in self.segments:
            if s.segment == str(value):
                return s
        raise InvalidInput(f"no judged segment {value!r}", field="segment")

    def to_dict(self) -> dict[str, Any]:
        """Plain Python data."""
        return {"model": self.model, "version": self.version, "segment_by": self.segment_by,
                "window": self.window, "status": self.status, "alpha": self.alpha,
                "skipped": [list(s) for s in self.skipped],
                "segments": [{"segment": s.segment, "n": s.n, "note": s.note,
                              "health": s.health.to_dict()} for s in self.segments]}


def _worst_first(s: SegmentHealth) -> tuple[Any, ...]:
    ranks = sorted((severity_rank(i.severity) for i in s.health.issues), reverse=True)
    return (-STATUSES.index(s.health.status), [-r for r in ranks], s.segment)


def segmented_health(window: Window, segment_by: Any, min_segment: int,
                     alert: bool) -> SegmentedHealth:
    """Every health check per segment of ``window`` (see the module docstring)."""
    from modelops.drift.segments import segment_labels, segment_name, segment_profiles
    from modelops.monitoring.health import assess, raise_alerts

    if isinstance(min_segment, bool) or not isinstance(min_segment, int) or min_segment < 1:
        raise InvalidInput(f"expected a whole number ≥ 1, got {min_segment!r}",
                           field="min_segment")
    table = window.table
    features = {k: np.asarray(v) for k, v in table.features.items()}
    labels = segment_labels(segment_by, features, len(table), "the logged features")
    found, counts = np.unique(labels.astype(str), return_counts=True)
    present = [(str(v), int(c)) for v, c in zip(found, counts) if v != "None"]
    judged = [(v, c) for v, c in present if c >= min_segment]
    skipped = [(v, f"{c} predictions, fewer than min_segment ({min_segment})")
               for v, c in present if c < min_segment]
    profile = window.reference
    references: dict[str, Any] = {}
    note = ""
    if profile is not None:
        try:
            references = {v: ref for v, (ref, _n) in
                          segment_profiles(profile, segment_by, [v for v, _ in judged]).items()}
        except InvalidInput as exc:
            note = f"drift judged against the whole reference: {exc}"
    base = window.monitor.rules.drift_alpha
    alpha = base / len(judged) if len(judged) > 1 else base
    out = []
    for value, count in judged:
        rows = labels == value
        part = Window(table.select(rows) if not rows.all() else table, window.since,
                      window.until, window.monitor, label=window.label)
        own = references.get(value)
        if own is not None:
            part.__dict__["reference"] = own         # this segment of the reference
        part.drift_threshold = alpha if len(judged) > 1 else None
        if not rows.all():
            part.segment = (segment_by, value)
        health = assess(part).health
        health = attrs.evolve(health, issues=[
            attrs.evolve(i, message=f"[{segment_name(segment_by)}={value}] {i.message}",
                         details={**i.details, "segment": value}) for i in health.issues])
        if alert:
            raise_alerts(part, health)
        out.append(SegmentHealth(segment=value, n=count, health=health,
                                 note=note or ("drift judged against the same segment of the "
                                               "reference" if own is not None else "")))
    out.sort(key=_worst_first)
    return SegmentedHealth(model=window.monitor.model, version=window.monitor.version,
                           segment_by=segment_name(segment_by), window=window.label,
                           segments=out, skipped=skipped, alpha=alpha)
