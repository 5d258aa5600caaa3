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
