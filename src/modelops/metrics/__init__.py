"""The metric table: every model-quality metric under its canonical name, with its aliases and
its direction, built-in or from a plugin.

Training (``modelops.train``), promotion rules (``should_promote``, ``MetricImprovement``,
``Floors``, ``Ceilings``), version comparison, monitoring, the champion/challenger router and
the CLI all resolve names here, so a version registered with ``f1_score`` and one registered
with ``f1`` compare under any rule, and ``auc`` is ``roc_auc`` everywhere::

    from modelops.metrics import canonical_metric, metric_table

    canonical_metric("F1_Score")                    # "f1"
    metric_table()["mae"].higher_is_better          # False
    metric_table()["f1"].compute([1, 0, 1], [1, 1, 1], None)   # 0.8

The built-in metrics (``modelops.metrics.builtin``) join the table through the
``modelops_metrics`` hook, as a plugin's do; a metric of a plugin registered later replaces
one of the same name. A name the table does not know keeps its spelling and counts as
higher-is-better.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from typing import Any

from modelops.entities.metrics import MetricSpec

__all__ = ["MetricSpec", "canonical_metric", "exceeds", "find_metric", "higher_is_better",
           "metric_table", "metrics_of_task", "reaches"]

_lock = threading.Lock()
_cache: tuple[tuple[int, ...], dict[str, MetricSpec], dict[str, str]] | None = None


def _tables() -> tuple[dict[str, MetricSpec], dict[str, str]]:
    """(canonical name -> spec, lower-cased name or alias -> canonical name), rebuilt only
    when the registered plugins change."""
    global _cache
    from modelops import plugins

    hook = plugins.hook("modelops_metrics")
    key = tuple(id(impl.plugin) for impl in hook.get_hookimpls())
    found = _cache
    if found is not None and found[0] == key:
        return found[1], found[2]
    specs: dict[str, MetricSpec] = {}
    for offered in hook():          # later plugins first: their names win
        for spec in offered or ():
            specs.setdefault(spec.name, spec)
    names: dict[str, str] = {}
    for spec in specs.values():     # aliases first, so a canonical name is never shadowed
        for alias in spec.aliases:
            names.setdefault(alias.lower(), spec.name)
    for spec in specs.values():
        names[spec.name.lower()] = spec.name
    with _lock:
        _cache = (key, specs, names)
    return specs, names


def metric_table() -> dict[str, MetricSpec]:
    """Every metric, by canonical name."""
    return dict(_tables()[0])


def canonical_metric(name: str) -> str:
    """The canonical name of ``name`` (a name or alias, any case, surrounding spaces ignored);
    a name the table does not know is returned as given."""
    return _tables()[1].get(name.strip().lower(), name)


def higher_is_better(name: str) -> bool:
    """Whether a higher value of the metric ``name`` is better (True for unknown names)."""
    spec = _tables()[0].get(canonical_metric(name))
    return True if spec is None else spec.higher_is_better


def exceeds(difference: float, limit: float) -> bool:
    """Whether a difference of metric values is more than ``limit``, one within float
    rounding of it counting as equal: 0.90 - 0.85 is 0.050000000000000044, which is no more
    than the 0.05 a user wrote."""
    return difference > limit and not _rounding_apart(difference, limit)


def reaches(difference: float, limit: float) -> bool:
    """Whether a difference of metric values is at least ``limit``, one within float rounding
    of it counting as equal: 0.85 - 0.80 is 0.04999999999999993, which is the 0.05 a user
    wrote."""
    return difference >= limit or _rounding_apart(difference, limit)


def _rounding_apart(a: float, b: float) -> bool:
    # Subtraction leaves an error of a few ulps of its operands; a relative 1e-9 is far
    # beyond that and far below any difference a threshold means.
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def find_metric(metrics: Mapping[str, Any], name: str) -> tuple[str, Any] | None:
    """The entry of ``metrics`` (a version's or a run's) that is the metric ``name``: the key
    spelled exactly so, else the first key with the same canonical name; None if none is."""
    if name in metrics:
        return name, metrics[name]
    wanted = canonical_metric(name)
    for key, value in metrics.items():
        if canonical_metric(key) == wanted:
            return key, value
    return None


def metrics_of_task(task: str) -> list[MetricSpec]:
    """The metrics that apply to ``task`` (``"classification"`` or ``"regression"``)."""
    return [spec for spec in _tables()[0].values() if spec.task == task]
