"""Monitor.estimated_performance and health's estimated_degradation, over logged predictions."""

import math

import numpy as np
import pytest
from sklearn import metrics as skm

from modelops.errors import InvalidInput
from modelops.monitoring import HealthRules

from ._data import NOW, H, connect, log_rows, monitor, spread

D = 24 * H


def calibrated(rng, n, scale):
    """A classifier whose logged probability is the true probability of label 1."""
    x = rng.normal(0, scale, n)
    p = 1 / (1 + np.exp(-2 * x))
    y = (rng.random(n) < p).astype(int)
    return x, p, (p > 0.5).astype(int), y


def store(rng, shift_scale=0.3, n_ref=3000, n_new=2400, feedback_new=False):
    """30 days of labelled history with inputs spread widely, then a day whose inputs crowd
    near the decision boundary (the model is right less often), without feedback."""
    ops = connect()
    x, p, pred, y = calibrated(rng, n_ref, 2.0)
    log_rows(ops, "m", spread(n_ref, NOW - 30 * D, NOW - D), pred.tolist(),
             actuals=y.tolist(), probabilities=p, features={"x": x})
    x, p, pred, y = calibrated(rng, n_new, shift_scale)
    log_rows(ops, "m", spread(n_new, NOW - D, NOW), pred.tolist(),
             actuals=y.tolist() if feedback_new else None, probabilities=p,
             features={"x": x})
    return ops, (x, p, pred, y)


def test_estimated_performance_per_window_against_the_realised():
    rng = np.random.default_rng(0)
    ops, (_x, _p, pred, y) = store(rng, feedback_new=True)
    found = monitor(ops, "m").estimated_performance("24h", every="6h")
    assert found.estimator == "cbpe" and found.task == "classification"
    assert found.n_reference == 3000 and "30d before the window" in found.reference
    assert len(found.starts) == 4 and sum(found.counts) == 2400
    assert found.notes["calibrated"] is False          # the scores were calibrated already
    realised_acc = skm.accuracy_score(y, pred)
    for e in found.estimates["accuracy"]:
        assert e.realised is not None and e.n_realised == 600
        assert e.lower <= e.realised <= e.upper
        assert abs(e.value - realised_acc) < 0.05
    assert found.reference_metrics["accuracy"] - found.latest("accuracy").value > 0.15
    auc = found.estimates["roc_auc"][-1]
    assert abs(auc.value - auc.realised) < 0.05
    plain = found.to_dict()
    assert plain["estimates"]["accuracy"][0]["n"] == 600


def test_health_estimates_when_feedback_is_missing():
    rng = np.random.default_rng(1)
    ops, _ = store(rng)
    health = monitor(ops, "m", baseline={"accuracy": 0.9}).health("24h", alert=False)
    issue = health.issue("estimated_degradation")
    assert issue is not None and issue.severity == "medium"
    assert issue.details["metrics"]["accuracy"]["worse_by"] > 0.15
    assert health.issue("no_feedback") is not None
    # the severity is a setting
    loud = monitor(ops, "m", estimated_severity="high").health("24h", alert=False)
    assert loud.issue("estimated_degradation").severity == "high"
    # and estimation can be switched off
    quiet = monitor(ops, "m", estimation_reference=None).health("24h", alert=False)
    assert quiet.issue("estimated_degradation") is None


def test_false_alarms_and_detection_at_the_default_minimum_of_rows():
    """The rates behind the defaults (docs/estimation.md), on 300-prediction days."""
    found = {}
    for scale in (2.0, 1.0):
        hits = 0
        for seed in range(20):
            ops, _ = store(np.random.default_rng(seed), shift_scale=scale, n_new=300)
            hits += monitor(ops, "m").health("24h", alert=False).issue(
                "estimated_degradation") is not None
        found[scale] = hits
    assert found[2.0] == 0 and found[1.0] == 20
    ops, _ = store(np.random.default_rng(0), shift_scale=0.3, n_new=299)
    assert monitor(ops, "m").health("24h", alert=False).issue("estimated_degradation") is None


def test_no_estimate_without_a_labelled_reference():
    rng = np.random.default_rng(3)
    ops = connect()
    x, p, pred, _y = calibrated(rng, 500, 1.0)
    log_rows(ops, "m", spread(500, NOW - D, NOW), pred.tolist(), probabilities=p,
             features={"x": x})
    m = monitor(ops, "m")
    assert m.health("24h", alert=False).issue("estimated_degradation") is None
    with pytest.raises(InvalidInput, match="reference"):
        m.estimated_performance("24h", every="6h")


def test_a_frame_as_the_reference_and_a_regressor():
    rng = np.random.default_rng(4)
    ops = connect()
    a = rng.normal(0, 1, 3000)
    b = rng.normal(0, 1, 3000)
    pred = 2 * a
    actual = pred + rng.normal(0, 0.2 + np.abs(b))
    reference = {"prediction": pred, "actual": actual, "a": a, "b": b}
    a2, b2 = rng.normal(0, 1, 1200), rng.normal(0, 2, 1200)
    log_rows(ops, "r", spread(1200, NOW - D, NOW), (2 * a2).tolist(), features={"a": a2,
                                                                              "b": b2})
    found = monitor(ops, "r").estimated_performance("24h", every="12h", reference=reference)
    assert found.estimator == "dle" and found.reference == "the given frame"
    mae = found.estimates["mae"][-1]
    expected = np.mean(np.abs(rng.normal(0, 0.2 + np.abs(b2))))
    assert mae.realised is None and math.isclose(mae.value, expected, rel_tol=0.15)
    assert mae.value > found.reference_metrics["mae"]


def test_the_window_must_be_a_multiple_of_every():
    ops = connect()
    with pytest.raises(InvalidInput, match="multiple"):
        monitor(ops, "m").estimated_performance("24h", every="7h")
    with pytest.raises(InvalidInput):
        HealthRules(estimated_severity="loud")


def test_the_report_draws_estimated_and_realised_together():
    rng = np.random.default_rng(5)
    ops, _ = store(rng, feedback_new=True)
    report = monitor(ops, "m").report("24h", trend_window="6h")
    found = report.estimated
    assert found is not None and found.every == "6h" and len(found.starts) == 4
    assert all(e.realised is not None for e in found.estimates["roc_auc"])
    html = report.to_html()
    assert "estimated without labels and realised" in html and "realised 0." in html
    assert report.to_dict()["estimated"]["estimator"] == "cbpe"
    plain = connect()
    assert monitor(plain, "m").report("24h").estimated is None
