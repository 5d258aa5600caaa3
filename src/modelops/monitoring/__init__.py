"""Production monitoring: performance, trends, degradation, drift, volume, latency, errors,
health with alerts, and reports (``ops.monitor(model)``; see ``docs/monitoring.md``).

``Monitor`` reads a window of logged predictions once (a ``Window``) and computes every check
from it with numpy; ``Monitor.health()`` runs the health checks (``modelops.monitoring.checks``,
and those plugins add) over the window, each turning what it shows into issues with
severities by ``HealthRules``, and fires the ``modelops_alert_raised`` hook for the severe
ones; ``Monitor.report()`` gives a
``MonitoringReport`` as a dict, strict JSON, or a standalone HTML page.
"""

from modelops.monitoring.estimated import EstimatedPerformance
from modelops.monitoring.monitor import Monitor
from modelops.monitoring.report import MonitoringReport
from modelops.monitoring.segments import SegmentedHealth, SegmentHealth
from modelops.monitoring.settings import MonitorSettings
from modelops.monitoring.values import (
    SEVERITIES,
    STATUSES,
    Alert,
    Degradation,
    DriftCheck,
    ErrorRate,
    Health,
    HealthIssue,
    HealthRules,
    Latency,
    MetricChange,
    Performance,
    Trend,
    Volume,
)
from modelops.monitoring.window import Window
from modelops.monitoring.windows import parse_window

__all__ = [
    "SEVERITIES",
    "STATUSES",
    "Alert",
    "Degradation",
    "DriftCheck",
    "ErrorRate",
    "EstimatedPerformance",
    "Health",
    "HealthIssue",
    "HealthRules",
    "Latency",
    "MetricChange",
    "Monitor",
    "MonitorSettings",
    "MonitoringReport",
    "Performance",
    "SegmentHealth",
    "SegmentedHealth",
    "Trend",
    "Volume",
    "Window",
    "parse_window",
]
