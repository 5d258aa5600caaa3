"""Frozen attrs value objects that stores take and return, one module per area."""

from modelops.entities._frozen import FrozenDict
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
]
