"""Health: every check of one window turned into issues with severities, and alerts.

The rules (thresholds from ``HealthRules``; defaults in brackets):

==================  ========  ==========================================================
kind                severity  when
==================  ========  ==========================================================
no_data             high      no predictions at all in the window
volume              critical  the newest ``volume_window`` [1h] has no predictions while
                              the windows before it (in the health window) had some
volume              medium    that count is outside median ± k × max(1.4826 × MAD,
                              floor × median, √median) of the windows before [k 3,
                              floor 0.1]
error_rate          high      more than ``error_rate_high`` [5 %] of predictions failed
error_rate          medium    more than ``error_rate_medium`` [1 %]
latency             medium    p99 latency above ``latency_slo_ms`` [no SLO]
degradation         high      a metric worse than the baseline by more than
                              ``degradation_threshold`` [0.05, absolute]
input_drift         high      the dataset drifted against the reference (the share of
                              drifted features reached the report's drift_share, 0.5)
input_drift         medium    some features drifted, the dataset did not
prediction_drift    medium    the predictions' distribution drifted (against the
                              reference's prediction column, else the window's later
                              half against its earlier half)
target_drift        medium    the actuals' distribution drifted against the reference's
                              target column
no_feedback         low       no prediction in the window has feedback
little_feedback     low       fewer than ``min_feedback`` [30] have: not judged
no_baseline         low       no baseline metrics (none given, no registered version
                              with metrics): degradation not checked
no_reference        low       no reference profile: input drift not checked
drift_failed        low       the drift check raised (e.g. a column changed type)
==================  ========  ==========================================================

Status: ``unhealthy`` if any issue is critical or high, ``degraded`` if any is medium,
else ``healthy``. Every issue at or above ``alert_at`` [high] fires
``modelops_alert_raised(alert, store_uri)``, once per ``health()`` call (deduplicating
repeated alerts is the plugin's business).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from modelops.errors import InvalidInput
from modelops.monitoring.values import (
    Alert,
    Degradation,
    DriftCheck,
    ErrorRate,
    Health,
    HealthIssue,
    Latency,
    Performance,
    Volume,
    severity_rank,
)
from modelops.monitoring.windows import parse_window

if TYPE_CHECKING:
    from modelops.monitoring.monitor import Monitor, Rows


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


def _pct(x: float) -> str:
    return f"{x * 100:.3g}%"


def _n(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def assess(monitor: Monitor, rows: Rows, width: int, window: str) -> Assessment:
    """Judge one window's rows (read once) by the monitor's rules."""
    from modelops.monitoring.monitor import _error_rate, _latency, _volume

    rules = monitor.rules
    issues: list[HealthIssue] = []

    def add(severity: str, kind: str, message: str, **details: Any) -> None:
        issues.append(HealthIssue(severity=severity, kind=kind, message=message,
                                  details=details))

    if len(rows) == 0:
        add("high", "no_data", f"no predictions logged in the last {window}")

    # volume: the newest volume_window against the ones before it, inside this window
    step = parse_window(rules.volume_window, "volume_window")
    volume = None
    if len(rows) and step < width:
        volume = _volume(rows.table.timestamps, rows.until, step, width // step - 1, rules)
        if volume.anomaly == "zero":
            add("critical", "volume",
                f"no predictions in the last {volume.window}, against a median of "
                f"{_n(volume.median)} per {volume.window} before", count=0,
                median=volume.median, lower=volume.lower, upper=volume.upper)
        elif volume.anomaly is not None:
            word = "below" if volume.anomaly == "low" else "above"
            add("medium", "volume",
                f"{volume.count:,} predictions in the last {volume.window}, far {word} the "
                f"median of {_n(volume.median)} (expected {_n(max(volume.lower, 0))} to "
                f"{_n(volume.upper)})", count=volume.count, median=volume.median,
                lower=volume.lower, upper=volume.upper, direction=volume.anomaly)

    error_rate = _error_rate(rows)
    if error_rate.n and error_rate.rate > rules.error_rate_medium:
        high = error_rate.rate > rules.error_rate_high
        limit = rules.error_rate_high if high else rules.error_rate_medium
        add("high" if high else "medium", "error_rate",
            f"{_pct(error_rate.rate)} of predictions failed ({error_rate.errors:,} of "
            f"{error_rate.n:,}), above {_pct(limit)}", rate=error_rate.rate,
            errors=error_rate.errors, n=error_rate.n, threshold=limit)

    latency = _latency(rows.table.latency_ms)
    slo = rules.latency_slo_ms
    if slo is not None and latency.n and latency.p99 > slo:
        add("medium", "latency", f"p99 latency {latency.p99:.4g} ms is above the SLO of "
            f"{slo:g} ms", p99=latency.p99, slo_ms=slo)

    performance = monitor._performance(rows)
    degradation = None
    baseline, source = monitor._baseline()
    baseline_note = source
    if len(rows):
        if performance.n == 0:
            add("low", "no_feedback", f"no prediction of the last {window} has feedback: "
                "performance is not measured")
        elif performance.n < rules.min_feedback:
            add("low", "little_feedback", f"only {performance.n} predictions of the last "
                f"{window} have feedback (fewer than {rules.min_feedback}): performance is "
                "not judged", n=performance.n, min_feedback=rules.min_feedback)
        elif baseline is None:
            add("low", "no_baseline", f"no baseline metrics ({source}): degradation is not "
                "checked", reason=source)
        else:
            degradation = monitor._degradation(rows, baseline, source, rules, performance)
            worse = [c for c in degradation.changes if c.degraded]
            if worse:
                parts = [f"{c.metric} {c.current:.4g} against {c.baseline:.4g} (worse by "
                         f"{c.worse_by:.3g}, threshold {c.threshold:g})" for c in worse]
                add("high", "degradation", f"performance degraded against {source}: "
                    + "; ".join(parts), baseline_source=source,
                    metrics={c.metric: {"baseline": c.baseline, "current": c.current,
                                        "worse_by": c.worse_by, "threshold": c.threshold}
                             for c in worse})

    drift = _health_drift(monitor, rows, add)
    issues.sort(key=lambda i: -severity_rank(i.severity))
    health = Health(model=monitor.model, version=monitor.version, status=status_of(issues),
                    issues=tuple(issues), checked_at=rows.until, window=window, n=len(rows))
    return Assessment(health=health, performance=performance, degradation=degradation,
                      baseline_note=baseline_note, drift=drift, volume=volume, latency=latency,
                      error_rate=error_rate)


def _health_drift(monitor: Monitor, rows: Rows, add: Any) -> DriftCheck:
    from modelops.monitoring.monitor import _prediction_drift

    if len(rows) == 0:
        return DriftCheck(note="no predictions in the window", since=rows.since,
                          until=rows.until)
    try:
        drift = monitor._drift(rows, None, "")
        if drift.prediction is None:
            # No prediction column in the reference: the window's later half against its
            # earlier half (health() reads its window once).
            later = rows.table.timestamps >= rows.since + (rows.until - rows.since) // 2
            predictions = rows.table.predictions
            prediction = _prediction_drift(predictions[later], predictions[~later])
            if prediction is not None:
                drift = attrs.evolve(drift, prediction=prediction,
                                     prediction_against="earlier half")
    except InvalidInput as exc:
        add("low", "drift_failed", f"the drift check failed: {exc}", error=str(exc))
        return DriftCheck(note=f"the drift check failed: {exc}", since=rows.since,
                          until=rows.until)
    report = drift.report
    if drift.reference_id is None:
        add("low", "no_reference", f"no reference profile for {monitor.model!r}: input drift "
            "is not checked (fit one with ops.drift.fit_reference)")
    elif report is not None and report.columns:
        drifted = list(report.drifted_columns)
        n = len(report.columns)
        shown = ", ".join(drifted[:10]) + (f" and {len(drifted) - 10} more"
                                           if len(drifted) > 10 else "")
        if report.drifted:
            add("high", "input_drift", f"input drift: {len(drifted)} of {n} features drifted "
                f"({_pct(report.share)}; the dataset counts as drifted from "
                f"{_pct(report.drift_share)}): {shown}", share=report.share, columns=drifted,
                reference_id=drift.reference_id)
        elif drifted:
            add("medium", "input_drift", f"{len(drifted)} of {n} features drifted: {shown} "
                f"(the dataset as a whole did not, share {_pct(report.share)})",
                share=report.share, columns=drifted, reference_id=drift.reference_id)
    if drift.prediction is not None and drift.prediction.drifted:
        c = drift.prediction
        add("medium", "prediction_drift", f"the predictions drifted against the "
            f"{drift.prediction_against}: {c.method} statistic {c.statistic:.3g}"
            + (f", p={c.pvalue:.3g}" if c.pvalue is not None else "")
            + (f", effect {c.effect:.3g}" if c.effect is not None else ""),
            against=drift.prediction_against, method=c.method, statistic=c.statistic,
            pvalue=c.pvalue, effect=c.effect)
    if report is not None and report.target is not None and report.target.drifted:
        c = report.target
        add("medium", "target_drift", f"the actuals ({c.column}) drifted against the "
            f"reference: {c.method} statistic {c.statistic:.3g}", method=c.method,
            statistic=c.statistic, pvalue=c.pvalue, effect=c.effect)
    return drift


def raise_alerts(monitor: Monitor, health: Health) -> list[Alert]:
    """Fire ``modelops_alert_raised`` for each issue at or above the rules' ``alert_at``."""
    if monitor.rules.alert_at is None:
        return []
    floor = severity_rank(monitor.rules.alert_at)
    alerts = [Alert(model=health.model, version=health.version, severity=i.severity,
                    kind=i.kind, message=i.message, details=i.details,
                    raised_at=health.checked_at)
              for i in health.issues if severity_rank(i.severity) >= floor]
    if alerts:
        from modelops.plugins import emit

        store = monitor.client.store("predictions")
        uri = getattr(store, "uri", "") or monitor.client.uri
        for alert in alerts:
            emit("modelops_alert_raised", alert=alert, store_uri=uri)
    return alerts

