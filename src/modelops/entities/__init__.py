"""Frozen attrs value objects that stores take and return, one module per area.

``tracking``, ``registry``, ``drift``, ``predictions``, ``monitoring`` and ``metrics`` hold the
value objects (hook payloads included); ``registry_codec`` and ``drift_codec`` their stored
forms; ``plain`` the plain-data walk every codec and report uses; ``validators`` the checks
of names, keys and values that value objects (and backends that take raw input) apply.
``FrozenDict`` and ``freeze`` make a mapping read-only. This package imports nothing from
modelops but ``modelops.errors``.
"""

from modelops.entities._frozen import FrozenDict, freeze
from modelops.entities.tracking import (
    Experiment,
    FileInfo,
    LifecycleStage,
    Metric,
    MetricSeries,
    Page,
    Param,
    Run,
    RunData,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
)

__all__ = [
    "Experiment",
    "FileInfo",
    "FrozenDict",
    "LifecycleStage",
    "Metric",
    "MetricSeries",
    "Page",
    "Param",
    "Run",
    "RunData",
    "RunInfo",
    "RunStatus",
    "RunTag",
    "ViewType",
    "freeze",
]
