"""health(): statuses for constructed scenarios, the rules, and the alert hook."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

import modelops
from modelops import plugins
from modelops.errors import InvalidInput
from modelops.monitoring import SEVERITIES, Alert, Health, HealthIssue, HealthRules

from ._data import NOW, AlertCollector, H, connect, log_rows, monitor, spread

REFERENCE = norm.ppf((np.arange(5_000) + 0.5) / 5_000)


def store(*, per_hour=100, hours=24, last_hour=None, flip_every=0, error_every=0, shift=0.0,
          latency=5.0, feedback=True, reference=True, baseline=True, extra_features=0):
    """A classifier's day: ``per_hour`` predictions each hour (``last_hour`` in the newest),
    accuracy 1 unless every ``flip_every``-th prediction is wrong, every ``error_every``-th
    flagged as an error in metadata, feature ``x`` shifted by ``shift`` reference stds."""
    counts = [per_hour] * (hours - 1) + [per_hour if last_hour is None else last_hour]
    ts = np.concatenate([spread(c, NOW - (hours - h) * H, NOW - (hours - h - 1) * H)
                         for h, c in enumerate(counts)]).astype(np.int64)
    n = len(ts)
    truth = np.arange(n) % 2
    pred = truth.copy()
    if flip_every:
        pred[::flip_every] = 1 - pred[::flip_every]
    rng = np.random.default_rng(0)
    x = norm.ppf((rng.permutation(n) + 0.5) / n) + shift
    features = {"x": x}
    for j in range(extra_features):
        features[f"z{j}"] = norm.ppf((rng.permutation(n) + 0.5) / n)
    meta = [{"error": True} if error_every and i % error_every == 0 else None
            for i in range(n)]
    ops = connect()
    log_rows(ops, "fraud", ts, pred.tolist(), actuals=truth.tolist() if feedback else None,
             latency=[latency] * n, features=features, metadata=meta, version="1.2.0")
    if reference:
        ref = {"x": REFERENCE}
        ref.update({f"z{j}": REFERENCE for j in range(extra_features)})
        ops.drift.fit_reference("fraud", ref)
    if baseline:
        ops.registry.register("fraud", {"w": 1}, version="1.2.0", flavor="joblib",
                              metrics={"accuracy": 0.98, "f1": 0.98})
    return ops


def kinds(health: Health) -> dict[str, str]:
    return {i.kind: i.severity for i in health.issues}


def test_a_healthy_model():
    health = monitor(store(), "fraud", "1.2.0").health("24h")
    assert health.status == "healthy" and health.healthy and health.issues == ()
    assert health.n == 2_400 and health.checked_at == NOW and health.window == "24h"
    assert health.model == "fraud" and health.version == "1.2.0"


def test_degradation_is_high_and_unhealthy():
    health = monitor(store(flip_every=5), "fraud", "1.2.0").health("24h")
    assert health.status == "unhealthy" and kinds(health) == {"degradation": "high"}
    issue = health.issue("degradation")
    assert set(issue.details["metrics"]) == {"accuracy", "f1"}
    assert issue.details["metrics"]["accuracy"]["current"] == pytest.approx(0.8)
    assert "registry:fraud/1.2.0" in issue.message


def test_error_rates_medium_and_high():
    medium = monitor(store(error_every=50), "fraud", "1.2.0").health("24h")
    assert medium.status == "degraded" and kinds(medium) == {"error_rate": "medium"}
    assert medium.issue("error_rate").details["rate"] == pytest.approx(0.02)
    high = monitor(store(error_every=10), "fraud", "1.2.0").health("24h")
    assert high.status == "unhealthy" and kinds(high) == {"error_rate": "high"}


def test_volume_drop_is_medium_and_silence_is_critical():
    low = monitor(store(last_hour=5), "fraud", "1.2.0").health("24h")
    assert kinds(low) == {"volume": "medium"} and low.status == "degraded"
    assert low.issue("volume").details["direction"] == "low"
    zero = monitor(store(last_hour=0), "fraud", "1.2.0").health("24h")
    assert kinds(zero) == {"volume": "critical"} and zero.status == "unhealthy"


def test_dataset_drift_is_high_column_drift_medium():
    dataset = monitor(store(shift=0.5), "fraud", "1.2.0").health("24h")
    assert kinds(dataset) == {"input_drift": "high"}
    assert dataset.issue("input_drift").details["columns"] == ["x"]
    columns = monitor(store(shift=0.5, extra_features=2), "fraud", "1.2.0").health("24h")
    assert kinds(columns) == {"input_drift": "medium"} and columns.status == "degraded"


def test_prediction_drift_inside_the_window_is_medium():
    ops = connect()
    early = ["A"] * 900 + ["B"] * 100
    late = ["A"] * 300 + ["B"] * 700
    log_rows(ops, "m", spread(1_000, NOW - 24 * H, NOW - 12 * H), early)
    log_rows(ops, "m", spread(1_000, NOW - 12 * H, NOW), late)
    health = monitor(ops, "m", None).health("24h")
    issue = health.issue("prediction_drift")
    assert issue.severity == "medium" and issue.details["against"] == "earlier half"


def test_latency_slo_and_informational_issues():
    ops = store(latency=250.0, feedback=False, reference=False, baseline=False)
    health = monitor(ops, "fraud", "1.2.0", latency_slo_ms=200).health("24h")
    assert kinds(health) == {"latency": "medium", "no_feedback": "low", "no_reference": "low"}
    assert health.status == "degraded"
    assert health.issues[0].kind == "latency"             # most severe first
    assert monitor(ops, "fraud", "1.2.0", latency_slo_ms=300).health().status == "healthy"
    unregistered = monitor(store(baseline=False), "fraud", "1.2.0").health()
    assert kinds(unregistered) == {"no_baseline": "low"} and unregistered.healthy


def test_little_feedback_is_not_judged():
    ops = connect()
    log_rows(ops, "m", spread(20, NOW - H, NOW), [0] * 20, actuals=[1] * 20)
    health = monitor(ops, "m", None, baseline={"accuracy": 0.9}).health("1h")
    assert kinds(health)["little_feedback"] == "low" and "degradation" not in kinds(health)
    judged = monitor(ops, "m", None, baseline={"accuracy": 0.9}, min_feedback=10).health("1h")
    assert kinds(judged)["degradation"] == "high"


def test_no_data_is_unhealthy():
    health = monitor(connect(), "ghost", None).health("24h")
    assert health.status == "unhealthy" and kinds(health) == {"no_data": "high"}


def test_issue_and_rules_values_are_validated():
    with pytest.raises(ValueError, match="severity"):
        HealthIssue(severity="urgent", kind="x", message="m")
    with pytest.raises(ValueError, match="degradation_threshold"):
        HealthRules(degradation_threshold=-1)
    with pytest.raises(ValueError, match="volume_window"):
        HealthRules(volume_window="soon")
    assert SEVERITIES == ("low", "medium", "high", "critical")


# -- alerts ------------------------------------------------------------------------------------


@pytest.fixture
def collector():
    plugin = AlertCollector()
    plugins.plugin_manager().register(plugin)
    try:
        yield plugin
    finally:
        plugins.plugin_manager().unregister(plugin)


def test_alerts_fire_for_high_and_critical_issues(collector):
    ops = store(last_hour=0, flip_every=5, error_every=50)
    health = monitor(ops, "fraud", "1.2.0").health("24h")
    assert kinds(health) == {"volume": "critical", "degradation": "high",
                             "error_rate": "medium"}
    assert [(a.kind, a.severity) for a in collector.alerts] == [("volume", "critical"),
                                                                ("degradation", "high")]
    alert = collector.alerts[1]
    assert isinstance(alert, Alert) and alert.model == "fraud" and alert.version == "1.2.0"
    assert alert.raised_at == NOW and alert.message == health.issue("degradation").message
    assert alert.details["baseline_source"] == "registry:fraud/1.2.0"
    assert collector.uris == [ops.store("predictions").uri] * 2


def test_alert_at_and_alert_false(collector):
    ops = store(error_every=50)
    monitor(ops, "fraud", "1.2.0").health()
    assert collector.alerts == []                        # medium only: below "high"
    monitor(ops, "fraud", "1.2.0", alert_at="medium").health()
    assert [a.kind for a in collector.alerts] == ["error_rate"]
    monitor(ops, "fraud", "1.2.0", alert_at="medium").health(alert=False)
    monitor(ops, "fraud", "1.2.0", alert_at=None).health()
    monitor(ops, "fraud", "1.2.0", alert_at="medium").report()     # reports never alert
    assert len(collector.alerts) == 1


def test_a_failing_alert_plugin_does_not_break_health():
    class Broken:
        from modelops import hookimpl

        @hookimpl
        def modelops_alert_raised(self, alert, store_uri):
            raise RuntimeError("pager down")

    plugin = Broken()
    plugins.plugin_manager().register(plugin)
    try:
        with pytest.warns(UserWarning, match="pager down"):
            health = monitor(store(last_hour=0), "fraud", "1.2.0").health()
    finally:
        plugins.plugin_manager().unregister(plugin)
    assert health.status == "unhealthy"


class FeedbackShare:
    """A plugin's check: too small a share of predictions with feedback, with its limit in
    ``rules.extra``; it reads only the window's public computations."""

    @modelops.hookimpl
    def modelops_health_checks(self):
        def feedback_share(window, rules):
            limit = rules.extra.get("min_feedback_share", 0.5)
            share = window.performance.n / len(window) if len(window) else 1.0
            if share < limit:
                yield HealthIssue(severity="high", kind="feedback_share",
                                  message=f"only {share:.0%} of predictions have feedback",
                                  details={"share": share, "limit": limit})

        return [feedback_share]


def test_a_plugin_check_runs_shows_in_health_and_raises_alerts(collector):
    ops = store(feedback=False)
    plugin = FeedbackShare()
    plugins.plugin_manager().register(plugin)
    try:
        health = monitor(ops, "fraud", "1.2.0").health()
        lenient = monitor(ops, "fraud", "1.2.0", extra={"min_feedback_share": 0.0}).health()
        report = monitor(ops, "fraud", "1.2.0").report()
    finally:
        plugins.plugin_manager().unregister(plugin)
    assert kinds(health) == {"feedback_share": "high", "no_feedback": "low"}
    assert health.status == "unhealthy" and health.issues[0].details == {"share": 0.0,
                                                                           "limit": 0.5}
    assert [a.kind for a in collector.alerts] == ["feedback_share"]
    assert kinds(lenient) == {"no_feedback": "low"}
    assert report.health.issue("feedback_share") is not None
    assert kinds(monitor(ops, "fraud", "1.2.0").health()) == {"no_feedback": "low"}


def test_built_in_checks_are_a_table_of_rule_functions():
    from modelops.monitoring import checks

    assert [c.__name__ for c in checks.BUILTIN_CHECKS] == [
        "no_data", "volume", "error_rate", "latency", "performance", "estimated_performance",
        "drift", "multivariate_drift"]
    assert checks.health_checks() == checks.BUILTIN_CHECKS
    window = monitor(store(error_every=50), "fraud", "1.2.0").window("24h")
    found = list(checks.error_rate(window, HealthRules(error_rate_medium=0.01)))
    assert [(i.kind, i.severity) for i in found] == [("error_rate", "medium")]
    assert list(checks.error_rate(window, HealthRules(error_rate_medium=0.05))) == []


def test_a_check_that_gives_something_else_than_issues_is_refused():
    class Wrong:
        @modelops.hookimpl
        def modelops_health_checks(self):
            return [lambda window, rules: ["not an issue"]]

    plugin = Wrong()
    plugins.plugin_manager().register(plugin)
    try:
        with pytest.raises(InvalidInput, match="not a HealthIssue"):
            monitor(store(), "fraud", "1.2.0").health()
    finally:
        plugins.plugin_manager().unregister(plugin)
