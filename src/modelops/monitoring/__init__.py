"""Production monitoring: performance, trends, degradation, drift, volume, latency, errors,
health with alerts, and reports (``ops.monitor(model)``; see ``docs/monitoring.md``).

``Monitor`` reads a window of logged predictions once and computes every check from it with
numpy; ``Monitor.health()`` turns the checks into issues with severities by ``HealthRules``
and fires the ``modelops_alert_raised`` hook for the severe ones; ``Monitor.report()`` gives a
``MonitoringReport`` as a dict, strict JSON, or a standalone HTML page.
"""

from modelops.monitoring.monitor import Monitor
from modelops.monitoring.report import MonitoringReport
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
from modelops.monitoring.windows import parse_window

__all__ = [
    "SEVERITIES",
    "STATUSES",
    "Alert",
    "Degradation",
    "DriftCheck",
    "ErrorRate",
    "Health",
    "HealthIssue",
    "HealthRules",
    "Latency",
    "MetricChange",
    "Monitor",
    "MonitoringReport",
    "Performance",
    "Trend",
    "Volume",
    "parse_window",
]
