"""Health: every check of one window turned into issues with severities, and alerts.

The checks are the rule functions of ``modelops.monitoring.checks`` (where the rules are
listed), then those plugins add through the ``modelops_health_checks`` hook.

Status: ``unhealthy`` if any issue is critical or high, ``degraded`` if any is medium,
else ``healthy``. Every issue at or above ``alert_at`` [high] fires
``modelops_alert_raised(alert, store_uri)``, once per ``health()`` call (deduplicating
repeated alerts is the plugin's business).
"""

from __future__ import annotations

import attrs

from modelops.entities.monitoring import Alert, HealthIssue, severity_rank
from modelops.errors import InvalidInput
from modelops.monitoring.checks import health_checks
from modelops.monitoring.values import (
    Degradation,
    DriftCheck,
    ErrorRate,
    Health,
    Latency,
    Performance,
    Volume,
)
from modelops.monitoring.window import Window
from modelops.monitoring.windows import parse_window


@attrs.frozen(kw_only=True)
class Assessment:
    """Health and every part it was judged from (what ``report()`` shows)."""

    health: Health
    performance: Performance
    degradation: Degradation | None
    baseline_note: str
    drift: DriftCheck
    volume: Volume | None
    latency: Latency
    error_rate: ErrorRate


def status_of(issues: tuple[HealthIssue, ...] | list[HealthIssue]) -> str:
    worst = max((severity_rank(i.severity) for i in issues), default=-1)
    if worst >= severity_rank("high"):
        return "unhealthy"
    if worst == severity_rank("medium"):
        return "degraded"
    return "healthy"


def assess(window: Window) -> Assessment:
    """Run every health check on one window (read once) by the monitor's rules."""
    monitor = window.monitor
    rules = monitor.rules
    issues: list[HealthIssue] = []
    for check in health_checks():
        for issue in check(window, rules) or ():
            if not isinstance(issue, HealthIssue):
                name = getattr(check, "__name__", type(check).__name__)
                raise InvalidInput(f"the health check {name} gave {type(issue).__name__}, "
                                   "not a HealthIssue", field="check")
            issues.append(issue)
    issues.sort(key=lambda i: -severity_rank(i.severity))
    health = Health(model=monitor.model, version=monitor.version, status=status_of(issues),
                    issues=tuple(issues), checked_at=window.until, window=window.label,
                    n=len(window))
    return Assessment(health=health, performance=window.performance,
                      degradation=window.degradation(rules), baseline_note=window.baseline[1],
                      drift=window.drift,
                      volume=window.volume(parse_window(rules.volume_window, "volume_window")),
                      latency=window.latency, error_rate=window.error_rate)


def raise_alerts(window: Window, health: Health) -> list[Alert]:
    """Fire ``modelops_alert_raised`` for each issue at or above the rules' ``alert_at``."""
    rules = window.monitor.rules
    if rules.alert_at is None:
        return []
    floor = severity_rank(rules.alert_at)
    alerts = [Alert(model=health.model, version=health.version, severity=i.severity,
                    kind=i.kind, message=i.message, details=i.details,
                    raised_at=health.checked_at)
              for i in health.issues if severity_rank(i.severity) >= floor]
    if alerts:
        from modelops.plugins import emit

        client = window.monitor.client
        store = client.store("predictions")
        uri = getattr(store, "uri", "") or client.uri
        for alert in alerts:
            emit("modelops_alert_raised", alert=alert, store_uri=uri)
    return alerts
