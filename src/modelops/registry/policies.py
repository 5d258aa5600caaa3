"""Promotion rules as code: each is a callable ``(candidate, incumbent) -> Decision``.

``incumbent`` is the version holding the stage or alias being promoted to, or None for the
first model of a name. Combine rules with ``AllOf``; any plain function of that shape that
returns a ``Decision`` (or a bool) is a rule too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from modelops.entities.registry import Decision, ModelVersion
from modelops.entities.validators import check_bool, check_finite, check_key
from modelops.errors import InvalidInput
from modelops.metrics import find_metric, higher_is_better, reaches

Rule = Callable[[ModelVersion, ModelVersion | None], Decision | bool]


def _metric(version: ModelVersion, metric: str, role: str) -> float:
    """The version's value of ``metric``, under any of its names (``f1`` is ``f1_score``)."""
    found = find_metric(version.metrics, metric)
    if found is None:
        raise InvalidInput(f"{role} {version.name} {version.version} has no metric {metric!r} "
                           f"(it has: {', '.join(sorted(version.metrics)) or 'none'})",
                           field="metric")
    return found[1]


@attrs.frozen
class MetricImprovement:
    """Promote when ``metric`` beats the incumbent's by at least ``min_improvement``
    (absolute), or when there is no incumbent. A version may hold the metric under any of its
    names in the metric table (``f1`` or ``f1_score``). ``higher_is_better`` defaults to the
    table's direction for the metric (lower for ``mae``, ``rmse``, ``mse``, ``log_loss``;
    higher for names it does not know)."""

    metric: str = attrs.field(default="f1",
                              validator=lambda _, a, v: check_key(v, a.name))
    min_improvement: float = attrs.field(default=0.0,
                                         converter=lambda v: check_finite(v, "min_improvement"))
    higher_is_better: bool | None = attrs.field(
        default=None, validator=lambda _, a, v: v is None or check_bool(v, a.name))

    def __attrs_post_init__(self) -> None:
        if self.higher_is_better is None:
            object.__setattr__(self, "higher_is_better", higher_is_better(self.metric))

    def __call__(self, candidate: ModelVersion, incumbent: ModelVersion | None) -> Decision:
        value = _metric(candidate, self.metric, "candidate")
        if incumbent is None:
            return Decision(promote=True, candidate=candidate.version,
                            reason=f"no incumbent; {self.metric}={value:.6g}")
        before = _metric(incumbent, self.metric, "incumbent")
        delta = value - before
        gain = delta if self.higher_is_better else -delta
        ok = reaches(gain, self.min_improvement)
        direction = "higher" if self.higher_is_better else "lower"
        reason = (f"{self.metric} {value:.6g} vs {before:.6g} ({delta:+.6g}); needs "
                  f"{self.min_improvement:g} {direction}: "
                  f"{'improved enough' if ok else 'not enough'}")
        return Decision(promote=ok, reason=reason, candidate=candidate.version,
                        incumbent=incumbent.version, deltas={self.metric: delta})


@attrs.frozen
class Floors:
    """Promote only when every named metric is strictly above its floor
    (``Floors({"accuracy": 0.70, "f1": 0.65, "roc_auc": 0.75})``); a version may hold each
    under any of its names."""

    floors: Mapping[str, float] = attrs.field(converter=dict)

    def __call__(self, candidate: ModelVersion, incumbent: ModelVersion | None) -> Decision:
        failed = []
        for metric, floor in self.floors.items():
            value = _metric(candidate, metric, "candidate")
            if not value > floor:
                failed.append(f"{metric}={value:.6g} is not above {floor:g}")
        reason = "; ".join(failed) if failed else "every metric is above its floor"
        return Decision(promote=not failed, reason=reason, candidate=candidate.version,
                        incumbent=incumbent.version if incumbent else None)


@attrs.frozen
class Ceilings:
    """Promote only when every named metric is strictly below its ceiling (for losses); a
    version may hold each under any of its names."""

    ceilings: Mapping[str, float] = attrs.field(converter=dict)

    def __call__(self, candidate: ModelVersion, incumbent: ModelVersion | None) -> Decision:
        failed = []
        for metric, ceiling in self.ceilings.items():
            value = _metric(candidate, metric, "candidate")
            if not value < ceiling:
                failed.append(f"{metric}={value:.6g} is not below {ceiling:g}")
        reason = "; ".join(failed) if failed else "every metric is below its ceiling"
        return Decision(promote=not failed, reason=reason, candidate=candidate.version,
                        incumbent=incumbent.version if incumbent else None)


class AllOf:
    """Promote only when every rule says so; the reasons and deltas are joined."""

    def __init__(self, *rules: Rule) -> None:
        if not rules:
            raise InvalidInput("needs at least one rule", field="rules")
        self.rules = rules

    def __call__(self, candidate: ModelVersion, incumbent: ModelVersion | None) -> Decision:
        decisions = [apply_rule(r, candidate, incumbent) for r in self.rules]
        deltas: dict[str, float] = {}
        for d in decisions:
            deltas.update(d.deltas)
        return Decision(promote=all(d.promote for d in decisions),
                        reason="; ".join(d.reason for d in decisions),
                        candidate=candidate.version,
                        incumbent=incumbent.version if incumbent else None, deltas=deltas)


def apply_rule(rule: Rule, candidate: ModelVersion, incumbent: ModelVersion | None) -> Decision:
    """Call a rule and normalise its answer to a Decision."""
    result: Any = rule(candidate, incumbent)
    if isinstance(result, Decision):
        return result
    if isinstance(result, bool):
        name = getattr(rule, "__name__", type(rule).__name__)
        return Decision(promote=result, reason=f"{name} returned {result}",
                        candidate=candidate.version,
                        incumbent=incumbent.version if incumbent else None)
    raise InvalidInput(f"a rule must return a Decision or a bool, got {type(result).__name__}",
                       field="policy")
