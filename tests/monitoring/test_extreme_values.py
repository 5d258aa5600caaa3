"""Values at the edges of floating point through health, estimation and the report: a clear
verdict or a reason, never a raw error, never "healthy" by accident."""

from __future__ import annotations

import numpy as np
import pytest

from modelops.errors import InvalidInput

from ._data import NOW, H, connect, log_rows, monitor, spread


def test_errors_too_large_to_square_leave_estimation_out_of_health():
    """DLE fits the squared errors of its reference; beyond about 1e154 they are inf."""
    ops = connect()
    rng = np.random.default_rng(0)
    reference = spread(500, NOW - 5 * 24 * H, NOW - 4 * 24 * H)
    log_rows(ops, "m", reference, (rng.normal(size=500) * 1e200).tolist(),
             actuals=(rng.normal(size=500) * 1e200).tolist(),
             features={"a": rng.normal(size=500)})
    log_rows(ops, "m", spread(400, NOW - H, NOW), rng.normal(size=400).tolist(),
             features={"a": rng.normal(size=400)})
    watch = monitor(ops, "m", task="regression")
    assert watch.health("1h", alert=False).n == 400
    with pytest.raises(InvalidInput, match="too large to square"):
        watch.estimated_performance("1h")
    assert "<svg" in watch.report("1h").to_html()


def test_a_report_of_one_value_beyond_2_to_the_53_draws_its_charts():
    """Its scatter's axis was the value ± 1, which floats that large cannot tell apart."""
    ops = connect()
    ts = spread(400, NOW - H, NOW)
    log_rows(ops, "m", ts, [1e17] * 400, actuals=[1e17] * 400)
    html = monitor(ops, "m", task="regression").report("2h", trend_window="10m").to_html()
    assert html.count("<svg") >= 2


def test_an_infinitely_worse_metric_is_degraded():
    """Errors beyond a float's range: the bootstrap's spread is NaN, so there is no p-value,
    but no sample explains an infinite error."""
    ops = connect()
    ts = spread(200, NOW - H, NOW)
    log_rows(ops, "m", ts, [1e308] * 200, actuals=[-1e308] * 200)
    watch = monitor(ops, "m", task="regression", baseline={"mae": 1.0, "rmse": 1.0})
    found = watch.degradation(window="1h")
    assert found.degraded and {c.metric for c in found.changes if c.degraded} == {"mae", "rmse"}
    health = watch.health("1h", alert=False)
    assert health.status == "unhealthy"
    assert "degradation" in [i.kind for i in health.issues]


def test_a_registered_metric_that_is_not_finite_is_no_baseline():
    ops = connect()
    ops.registry.register("m", {"w": 1}, flavor="joblib", allow_nonfinite=True,
                          metrics={"accuracy": float("nan")})
    ops.registry.promote("m", "1.0.0")
    ts = spread(200, NOW - H, NOW)
    log_rows(ops, "m", ts, [0] * 200, actuals=[1] * 200)
    health = monitor(ops, "m", task="classification").health("1h", alert=False)
    [issue] = [i for i in health.issues if i.kind == "no_baseline"]
    assert "without finite metrics" in issue.message


def test_a_series_of_more_periods_than_a_day_by_the_minute_is_refused_at_once():
    """Each period is checked on its own: a ten-day window in seconds held 864,000 of them
    (minutes of work, or a 64 GiB allocation, before any answer)."""
    ops = connect()
    log_rows(ops, "m", spread(100, NOW - H, NOW), [0, 1] * 50, actuals=[0, 1] * 50)
    watch = monitor(ops, "m")
    with pytest.raises(InvalidInput, match="trend_window: the window 10d holds 864,000 of 1s"):
        watch.report("10d", trend_window="1s")
    with pytest.raises(InvalidInput, match=r"every: .* more than 1,440"):
        watch.estimated_performance("2d", every="1m")
    assert len(watch.report("1d", trend_window="1m").trend["volume"]) == 1_440
