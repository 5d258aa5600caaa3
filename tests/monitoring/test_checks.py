"""Degradation, drift, volume, latency and error rate, each on a constructed store."""

from __future__ import annotations

import math

import numpy as np
import pytest

from modelops.errors import InvalidInput

from ._data import NOW, H, connect, log_rows, monitor, spread

sk = pytest.importorskip("sklearn.metrics")


def _classifier(ops, accuracy_share=0.8, n=400, model="fraud", version="1.2.0", seed=0):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 2, n)
    pred = np.where(rng.random(n) < accuracy_share, truth, 1 - truth)
    log_rows(ops, model, spread(n, NOW - 24 * H, NOW), pred.tolist(), actuals=truth.tolist(),
             version=version)
    return truth, pred


# -- degradation -------------------------------------------------------------------------------


def test_degradation_against_the_registered_version():
    ops = connect()
    truth, pred = _classifier(ops)
    ops.registry.register("fraud", {"w": 1}, version="1.2.0", flavor="joblib",
                          metrics={"f1": 0.95, "accuracy": 0.81, "loss": 0.2, "AUC": 0.9})
    result = monitor(ops, "fraud", "1.2.0").degradation(window="24h")
    by_metric = {c.metric: c for c in result.changes}
    assert set(by_metric) == {"f1", "accuracy"}          # loss unknown; AUC: no scores logged
    assert result.baseline_source == "registry:fraud/1.2.0" and result.n == len(truth)
    f1 = sk.f1_score(truth, pred)
    assert by_metric["f1"].current == pytest.approx(f1)
    assert by_metric["f1"].worse_by == pytest.approx(0.95 - f1)
    assert by_metric["f1"].degraded is (0.95 - f1 > 0.05)
    acc = sk.accuracy_score(truth, pred)
    assert by_metric["accuracy"].degraded is (0.81 - acc > 0.05)
    assert result.degraded and "f1" in result.degraded_metrics
    # a looser threshold per metric
    loose = monitor(ops, "fraud", "1.2.0").degradation(threshold={"f1": 0.5, "accuracy": 0.5})
    assert not loose.degraded


def test_degradation_defaults_to_the_production_version_and_needs_a_baseline():
    ops = connect()
    _classifier(ops, version="2.0.0")
    mon = monitor(ops, "fraud", None)
    with pytest.raises(InvalidInput, match="baseline"):
        mon.degradation()
    ops.registry.register("fraud", {"w": 1}, version="2.0.0", flavor="joblib",
                          metrics={"accuracy": 0.99})
    with pytest.raises(InvalidInput, match="production"):
        mon.degradation()                                # registered, not in production
    ops.registry.promote("fraud", "2.0.0", stage="production")
    assert mon.degradation().baseline_source == "registry:fraud/2.0.0"
    assert mon.degradation().degraded


def test_degradation_with_a_given_baseline_and_lower_is_better_metrics():
    ops = connect()
    truth = np.linspace(0, 10, 100)
    pred = truth + 1.0
    log_rows(ops, "reg", spread(100, NOW - H, NOW), pred.tolist(), actuals=truth.tolist())
    mon = monitor(ops, "reg")
    result = mon.degradation(baseline={"mae": 0.5, "r2": 0.0}, threshold=0.1, window="1h")
    mae = {c.metric: c for c in result.changes}["mae"]
    assert mae.current == pytest.approx(1.0) and mae.worse_by == pytest.approx(0.5)
    assert mae.degraded and not {c.metric: c for c in result.changes}["r2"].degraded
    better = mon.degradation(baseline={"mae": 2.0}, window="1h")
    assert not better.degraded and better.changes[0].worse_by == pytest.approx(-1.0)
    with pytest.raises(InvalidInput, match="baseline"):
        mon.degradation(baseline={"mae": "low"})


# -- drift -------------------------------------------------------------------------------------


def _drift_store(shift: float, columns=("x", "y"), n=1_500):
    rng = np.random.default_rng(5)
    ops = connect()
    ops.drift.fit_reference("m", {c: rng.normal(0, 1, 5_000) for c in columns})
    features = {c: rng.normal(0, 1, n) for c in columns}
    features[columns[0]] = rng.normal(shift, 1, n)
    log_rows(ops, "m", spread(n, NOW - 24 * H, NOW), ["a"] * n, features=features)
    return ops


def test_input_drift_against_the_reference():
    ops = _drift_store(shift=1.0)
    check = monitor(ops, "m").drift("24h")
    assert check.reference_id == ops.drift.reference("m").profile_id
    assert check.drifted_columns == ["x"] and check.report.share == 0.5
    assert check.report.drifted and check.report.n_current == 1_500
    same = monitor(_drift_store(shift=0.0), "m").drift("24h")
    assert same.drifted_columns == [] and not same.report.drifted


def test_no_reference_gives_a_note_not_an_error():
    ops = connect()
    log_rows(ops, "m", spread(50, NOW - H, NOW), ["a"] * 50)
    check = monitor(ops, "m").drift("1h")
    assert check.report is None and "no reference" in check.note


def test_prediction_drift_against_the_previous_window():
    ops = connect()
    rng = np.random.default_rng(6)
    before = rng.choice(["A", "B"], 2_000, p=[0.8, 0.2]).tolist()
    now = rng.choice(["A", "B"], 2_000, p=[0.2, 0.8]).tolist()
    log_rows(ops, "m", spread(2_000, NOW - 2 * H, NOW - H), before)
    log_rows(ops, "m", spread(2_000, NOW - H, NOW), now)
    check = monitor(ops, "m").drift("1h")
    assert check.prediction_against == "previous window"
    assert check.prediction.drifted and check.prediction.kind == "categorical"
    assert check.report is None                     # no reference: only prediction drift
    steady = connect()
    log_rows(steady, "m", spread(4_000, NOW - 2 * H, NOW), rng.choice(["A", "B"], 4_000,
                                                                     p=[0.5, 0.5]).tolist())
    assert not monitor(steady, "m").drift("1h").prediction.drifted


def test_prediction_drift_against_the_reference_prediction_column():
    rng = np.random.default_rng(7)
    ops = connect()
    ops.drift.fit_reference("m", {"x": rng.normal(0, 1, 3_000),
                                  "label": rng.choice(["A", "B"], 3_000, p=[0.9, 0.1])},
                            prediction="label")
    log_rows(ops, "m", spread(2_000, NOW - H, NOW),
             rng.choice(["A", "B"], 2_000, p=[0.4, 0.6]).tolist(),
             features={"x": rng.normal(0, 1, 2_000)})
    check = monitor(ops, "m").drift("1h")
    assert check.prediction_against == "reference" and check.prediction.drifted
    assert [c.column for c in check.report.columns] == ["x"]


# -- volume ------------------------------------------------------------------------------------


def _volume_store(last: int, per_hour=100, hours=24):
    ops = connect()
    ts = np.concatenate([spread(per_hour, NOW - (h + 1) * H, NOW - h * H)
                         for h in range(1, hours + 1)] +
                        [spread(last, NOW - H, NOW)] if last else
                        [spread(per_hour, NOW - (h + 1) * H, NOW - h * H)
                         for h in range(1, hours + 1)])
    log_rows(ops, "m", ts, ["a"] * len(ts))
    return ops


def test_volume_of_a_window_with_five_percent_of_normal_traffic():
    volume = monitor(_volume_store(last=5), "m").volume("1h", history=24)
    assert volume.count == 5 and volume.history == (100,) * 24 and volume.median == 100
    assert volume.anomaly == "low" and volume.enough_history
    # the band: median ± 3 × max(1.4826 × MAD, 0.1 × median, √median) = 100 ± 30
    assert volume.lower == pytest.approx(70) and volume.upper == pytest.approx(130)


def test_volume_zero_high_and_normal_windows():
    assert monitor(_volume_store(last=0), "m").volume("1h").anomaly == "zero"
    assert monitor(_volume_store(last=250), "m").volume("1h").anomaly == "high"
    assert monitor(_volume_store(last=110), "m").volume("1h").anomaly is None


def test_volume_ignores_the_time_before_the_first_prediction():
    ops = connect()
    ts = np.concatenate([spread(100, NOW - (h + 1) * H, NOW - h * H) for h in range(0, 2)])
    log_rows(ops, "m", ts, ["a"] * len(ts))
    volume = monitor(ops, "m").volume("1h", history=24)
    assert volume.history == (100,) and not volume.enough_history and volume.anomaly is None


# -- latency and errors ------------------------------------------------------------------------


def test_latency_percentiles_equal_numpy():
    rng = np.random.default_rng(8)
    lat = rng.gamma(2.0, 15.0, 500)
    given = [None if i % 10 == 0 else float(v) for i, v in enumerate(lat)]
    ops = connect()
    log_rows(ops, "m", spread(500, NOW - H, NOW), ["a"] * 500, latency=given)
    latency = monitor(ops, "m").latency("1h")
    present = np.array([v for v in given if v is not None])
    assert latency.n == len(present) == 450
    for q, value in ((50, latency.p50), (90, latency.p90), (95, latency.p95),
                     (99, latency.p99)):
        assert value == pytest.approx(np.percentile(present, q), rel=1e-12)
    assert latency.max == present.max() and latency.mean == pytest.approx(present.mean())
    empty = monitor(connect(), "m").latency("1h")
    assert empty.n == 0 and math.isnan(empty.p99)


def test_error_rate_counts_null_predictions_and_flagged_metadata():
    ops = connect()
    preds: list = ["a"] * 100
    meta: list = [None] * 100
    for i in (3, 50, 97):
        preds[i] = None
    for i in (10, 11):
        meta[i] = {"error": "timeout"}
    meta[12] = {"error": "", "region": "eu"}              # falsy: not an error
    meta[13] = {"region": "eu"}
    log_rows(ops, "m", spread(100, NOW - H, NOW), preds, metadata=meta)
    rate = monitor(ops, "m").error_rate("1h")
    assert (rate.n, rate.errors, rate.null_predictions, rate.flagged) == (100, 5, 3, 2)
    assert rate.rate == pytest.approx(0.05)
    assert math.isnan(monitor(connect(), "m").error_rate("1h").rate)


def test_target_drift_uses_the_actuals_and_only_when_there_is_feedback():
    rng = np.random.default_rng(9)
    ops = connect()
    ops.drift.fit_reference("m", {"x": rng.normal(0, 1, 3_000),
                                  "y": rng.choice(["no", "yes"], 3_000, p=[0.9, 0.1])},
                            target="y")
    log_rows(ops, "m", spread(1_000, NOW - H, NOW), ["no"] * 1_000,
             actuals=rng.choice(["no", "yes"], 1_000, p=[0.5, 0.5]).tolist(),
             features={"x": rng.normal(0, 1, 1_000)})
    check = monitor(ops, "m").drift("1h")
    assert check.report.target.column == "y" and check.report.target.drifted
    health = monitor(ops, "m").health("1h")
    assert health.issue("target_drift").severity == "medium"
    quiet = connect()
    quiet.drift.save_reference(ops.drift.reference("m"))
    log_rows(quiet, "m", spread(100, NOW - H, NOW), ["no"] * 100,
             features={"x": rng.normal(0, 1, 100)})
    assert monitor(quiet, "m").drift("1h").report.target is None     # no feedback: not checked
