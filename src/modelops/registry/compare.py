"""Two versions of a model side by side."""

from __future__ import annotations

from typing import Any

import attrs

from modelops.entities.registry import ModelVersion
from modelops.metrics import canonical_metric


@attrs.frozen
class VersionComparison:
    """``a`` and ``b`` side by side: each metric with ``b - a`` (metrics matched by their
    canonical names, so ``f1_score`` meets ``f1``), the params that differ, and both
    lineages."""

    a: ModelVersion
    b: ModelVersion
    metrics: dict[str, tuple[float | None, float | None, float | None]]
    params_differing: dict[str, tuple[str | None, str | None]]

    @classmethod
    def of(cls, a: ModelVersion, b: ModelVersion) -> VersionComparison:
        mine = _by_canonical_name(a.metrics)
        theirs = _by_canonical_name(b.metrics)
        metrics = {}
        for key in sorted(set(mine) | set(theirs)):
            x, y = mine.get(key), theirs.get(key)
            metrics[key] = (x, y, None if x is None or y is None else y - x)
        params = {k: (a.params.get(k), b.params.get(k))
                  for k in sorted(set(a.params) | set(b.params))
                  if a.params.get(k) != b.params.get(k)}
        return cls(a, b, metrics, params)

    def to_table(self) -> list[dict[str, Any]]:
        """One row per metric, then per differing param, then the lineage fields."""
        rows: list[dict[str, Any]] = [
            {"field": f"metrics.{k}", self.a.version: x, self.b.version: y, "delta": d}
            for k, (x, y, d) in self.metrics.items()]
        rows += [{"field": f"params.{k}", self.a.version: x, self.b.version: y, "delta": None}
                 for k, (x, y) in self.params_differing.items()]
        for field in ("parent_version", "training_data", "notes"):
            x, y = getattr(self.a.lineage, field), getattr(self.b.lineage, field)
            if x or y:
                rows.append({"field": f"lineage.{field}", self.a.version: x,
                             self.b.version: y, "delta": None})
        rows.append({"field": "stage", self.a.version: self.a.stage.value,
                     self.b.version: self.b.stage.value, "delta": None})
        return rows

    def __str__(self) -> str:
        rows = self.to_table()
        columns = ["field", self.a.version, self.b.version, "delta"]

        def fmt(v: Any) -> str:
            if v is None:
                return "-"
            return f"{v:.4g}" if isinstance(v, float) else str(v)

        cells = [[fmt(r[c]) for c in columns] for r in rows]
        widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths))]
        lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in cells]
        return "\n".join(lines)


def _by_canonical_name(metrics: dict[str, float]) -> dict[str, float]:
    """A version's metrics under their canonical names (a name spelled exactly so wins)."""
    out: dict[str, float] = {}
    for key, value in metrics.items():
        name = canonical_metric(key)
        if name not in out or key == name:
            out[name] = value
    return out
