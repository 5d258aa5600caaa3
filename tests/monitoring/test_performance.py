"""Performance, trends and windows, checked against scikit-learn and numpy on the same arrays."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelops.errors import InvalidInput
from modelops.metrics import grouped as M
from modelops.monitoring import parse_window
from modelops.monitoring.monitor import _grouped_percentiles

from ._data import NOW, H, connect, log_rows, monitor, spread

sk = pytest.importorskip("sklearn.metrics")


# -- windows ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "ms"), [("30m", 30 * 60_000), ("1h", H), ("24h", 24 * H),
                                          ("7d", 7 * 24 * H), ("90s", 90_000),
                                          ("2w", 14 * 24 * H), (dt.timedelta(hours=2), 2 * H),
                                          ("1.5h", 90 * 60_000), (" 500 ms ", 500)])
def test_parse_window(text, ms):
    assert parse_window(text) == ms


@pytest.mark.parametrize("bad", ["", "1", "h", "0h", "-1h", "1.5.1h", "1y", "24 hours", 3600,
                                 None, dt.timedelta(0), "0.0001s"])
def test_parse_window_refuses(bad):
    with pytest.raises(InvalidInput, match="window"):
        parse_window(bad)


def test_window_boundaries_are_since_inclusive_until_exclusive():
    ops = connect()
    ts = [NOW - 24 * H - 1, NOW - 24 * H, NOW - 1, NOW]
    log_rows(ops, "m", ts, ["a", "b", "c", "d"])
    table = monitor(ops, "m").read("24h")
    assert sorted(table.predictions.tolist()) == ["b", "c"]
    with pytest.raises(InvalidInput, match="window"):
        monitor(ops, "m").performance("yesterday")


# -- classification ----------------------------------------------------------------------------


def _binary_store(n=600, seed=0):
    rng = np.random.default_rng(seed)
    ts = spread(n, NOW - 24 * H, NOW)
    truth = rng.integers(0, 2, n)
    pred = np.where(rng.random(n) < 0.8, truth, 1 - truth)
    prob = np.clip(truth * 0.3 + rng.random(n) * 0.7, 0, 1).round(2)   # ties on purpose
    fb = rng.random(n) < 0.6
    actuals = [int(t) if f else None for t, f in zip(truth, fb)]
    ops = connect()
    log_rows(ops, "clf", ts, pred.tolist(), actuals=actuals, probabilities=prob.tolist())
    return ops, ts, truth, pred, prob, fb


def test_binary_metrics_equal_sklearn():
    ops, _ts, truth, pred, prob, fb = _binary_store()
    perf = monitor(ops, "clf").performance("24h")
    y, p, s = truth[fb], pred[fb], prob[fb]
    assert perf.task == "classification" and perf.n == fb.sum()
    assert perf.average == "binary" and perf.positive == 1 and perf.labels == (0, 1)
    m = perf.metrics
    assert m["accuracy"] == pytest.approx(sk.accuracy_score(y, p), abs=1e-12)
    assert m["precision"] == pytest.approx(sk.precision_score(y, p), abs=1e-12)
    assert m["recall"] == pytest.approx(sk.recall_score(y, p), abs=1e-12)
    assert m["f1"] == pytest.approx(sk.f1_score(y, p), abs=1e-12)
    assert m["roc_auc"] == pytest.approx(sk.roc_auc_score(y, s), abs=1e-12)


def test_string_labels_with_positive_and_confidence_scores():
    rng = np.random.default_rng(1)
    n = 400
    truth = rng.choice(["fraud", "legit"], n, p=[0.3, 0.7])
    pred = np.where(rng.random(n) < 0.75, truth, np.where(truth == "fraud", "legit", "fraud"))
    confidence = rng.uniform(0.5, 1.0, n).round(3)          # probability of the predicted label
    ops = connect()
    log_rows(ops, "s", spread(n, NOW - 2 * H, NOW), pred.tolist(), actuals=truth.tolist(),
             probabilities=confidence.tolist())
    perf = monitor(ops, "s", positive="fraud", score="confidence").performance("2h")
    m = perf.metrics
    assert perf.average == "binary" and perf.positive == "fraud"
    assert m["precision"] == pytest.approx(sk.precision_score(truth, pred, pos_label="fraud"))
    assert m["recall"] == pytest.approx(sk.recall_score(truth, pred, pos_label="fraud"))
    assert m["f1"] == pytest.approx(sk.f1_score(truth, pred, pos_label="fraud"))
    score = np.where(pred == "fraud", confidence, 1 - confidence)
    assert m["roc_auc"] == pytest.approx(sk.roc_auc_score(truth == "fraud", score))
    # Without a positive label, string labels get macro averages and no ROC AUC.
    macro = monitor(ops, "s").performance("2h")
    assert macro.average == "macro" and "roc_auc" not in macro.metrics
    assert macro.metrics["f1"] == pytest.approx(sk.f1_score(truth, pred, average="macro"))


def test_multiclass_macro_equals_sklearn():
    rng = np.random.default_rng(2)
    n = 500
    truth = rng.choice(["a", "b", "c", "d"], n)
    pred = np.where(rng.random(n) < 0.6, truth, rng.choice(["a", "b", "c", "e"], n))
    ops = connect()
    log_rows(ops, "mc", spread(n, NOW - H, NOW), pred.tolist(), actuals=truth.tolist())
    perf = monitor(ops, "mc").performance("1h")
    assert perf.average == "macro" and perf.labels == ("a", "b", "c", "d", "e")
    for name, fn in (("precision", sk.precision_score), ("recall", sk.recall_score),
                     ("f1", sk.f1_score)):
        expected = fn(truth, pred, average="macro", zero_division=0)
        assert perf.metrics[name] == pytest.approx(expected, abs=1e-12), name
    assert perf.metrics["accuracy"] == pytest.approx(sk.accuracy_score(truth, pred))


def test_regression_metrics_equal_sklearn_and_task_override():
    rng = np.random.default_rng(3)
    n = 300
    truth = rng.normal(50, 10, n)
    pred = truth + rng.normal(0, 3, n)
    ops = connect()
    log_rows(ops, "reg", spread(n, NOW - H, NOW), pred.tolist(), actuals=truth.tolist())
    perf = monitor(ops, "reg").performance("1h")
    assert perf.task == "regression"
    assert perf.metrics["mae"] == pytest.approx(sk.mean_absolute_error(truth, pred))
    assert perf.metrics["rmse"] == pytest.approx(math.sqrt(sk.mean_squared_error(truth, pred)))
    assert perf.metrics["r2"] == pytest.approx(sk.r2_score(truth, pred))
    # whole numbers with few values look like classes; task= says otherwise
    counts = connect()
    log_rows(counts, "cnt", spread(50, NOW - H, NOW), [i % 3 for i in range(50)],
             actuals=[(i + 1) % 3 for i in range(50)])
    assert monitor(counts, "cnt").performance("1h").task == "classification"
    forced = monitor(counts, "cnt", task="regression").performance("1h")
    y, p = [(i + 1) % 3 for i in range(50)], [i % 3 for i in range(50)]
    assert forced.task == "regression"
    assert forced.metrics["mae"] == pytest.approx(sk.mean_absolute_error(y, p))


def test_no_feedback_gives_empty_metrics_and_null_predictions_are_left_out():
    ops = connect()
    log_rows(ops, "m", spread(10, NOW - H, NOW), ["a"] * 8 + [None, None],
             actuals=[None] * 8 + ["a", "b"])
    perf = monitor(ops, "m").performance("1h")
    assert perf.n == 0 and perf.metrics == {}


def test_monitor_refuses_bad_options():
    ops = connect()
    with pytest.raises(InvalidInput, match="task"):
        monitor(ops, "m", task="ranking")
    with pytest.raises(InvalidInput, match="score"):
        monitor(ops, "m", score="logit")
    with pytest.raises(InvalidInput, match="latency_slo"):
        monitor(ops, "m", latency_slo=10)
    with pytest.raises(InvalidInput, match="alert_at"):
        monitor(ops, "m", alert_at="urgent")


# -- trends ------------------------------------------------------------------------------------


def test_trend_counts_and_metrics_per_window_equal_sklearn():
    ops, ts, truth, pred, prob, fb = _binary_store(n=900, seed=4)
    mon = monitor(ops, "clf")
    start = NOW - 6 * H
    window = (ts - start) // H
    inside = ts >= start
    for metric, fn in (("accuracy", sk.accuracy_score), ("f1", sk.f1_score),
                       ("roc_auc", sk.roc_auc_score)):
        trend = mon.trend("1h", periods=6, metric=metric)
        assert trend.starts == tuple(start + i * H for i in range(6))
        assert trend.counts == tuple(np.bincount(window[inside], minlength=6).tolist())
        assert trend.feedback == tuple(np.bincount(window[inside & fb], minlength=6).tolist())
        for i in range(6):
            rows = inside & fb & (window == i)
            second = prob[rows] if metric == "roc_auc" else pred[rows]
            assert trend.values[i] == pytest.approx(fn(truth[rows], second), abs=1e-12)


def test_trend_of_volume_latency_and_unknown_metrics():
    ops = connect()
    ts = np.array([NOW - 3 * H + 5, NOW - 3 * H + 6, NOW - H + 1])
    log_rows(ops, "m", ts, ["a", "b", "a"], latency=[1.0, 3.0, 10.0])
    mon = monitor(ops, "m")
    assert mon.trend("1h", periods=3, metric="volume").values == (2, 0, 1)
    p99 = mon.trend("1h", periods=3, metric="latency_p99").values
    assert p99[0] == pytest.approx(np.percentile([1.0, 3.0], 99)) and math.isnan(p99[1])
    assert mon.trend("1h", periods=3).metric == "volume"      # no feedback: no task
    with pytest.raises(InvalidInput, match="metric"):
        mon.trend("1h", metric="bleu")
    with pytest.raises(InvalidInput, match="periods"):
        mon.trend("1h", periods=0)


# -- the vectorised kernels against sklearn, on random data ----------------------------------


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_grouped_classification_equals_sklearn_per_group(data):
    n = data.draw(st.integers(1, 60))
    k = data.draw(st.integers(1, 4))
    groups = data.draw(st.integers(1, 4))
    true = np.array(data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    pred = np.array(data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    g = np.array(data.draw(st.lists(st.integers(0, groups - 1), min_size=n, max_size=n)))
    scores = np.array(data.draw(st.lists(st.sampled_from([0.1, 0.2, 0.5, 0.7, 0.9]),
                                         min_size=n, max_size=n)))
    positive = 1 if k == 2 else None
    out = M.classification(true, pred, k, positive, g, groups, scores if k == 2 else None)
    for i in range(groups):
        rows = g == i
        if not rows.any():
            assert math.isnan(out["accuracy"][i])
            continue
        y, p = true[rows], pred[rows]
        assert out["accuracy"][i] == pytest.approx(sk.accuracy_score(y, p))
        if positive is not None:
            kw = {"pos_label": 1, "zero_division": 0, "labels": [0, 1]}
            assert out["f1"][i] == pytest.approx(sk.f1_score(y, p, **kw))
            assert out["precision"][i] == pytest.approx(sk.precision_score(y, p, **kw))
            if len(set(y.tolist())) == 2:
                auc = sk.roc_auc_score(y == 1, scores[rows])
                assert out["roc_auc"][i] == pytest.approx(auc)
            else:
                assert math.isnan(out["roc_auc"][i])
        else:
            kw = {"average": "macro", "zero_division": 0}
            assert out["f1"][i] == pytest.approx(sk.f1_score(y, p, **kw))
            assert out["recall"][i] == pytest.approx(sk.recall_score(y, p, **kw))


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_grouped_regression_and_percentiles_equal_sklearn_numpy(data):
    n = data.draw(st.integers(1, 50))
    groups = data.draw(st.integers(1, 3))
    floats = st.floats(-100, 100, allow_nan=False).map(lambda x: round(x, 2))
    y = np.array(data.draw(st.lists(floats, min_size=n, max_size=n)))
    p = np.array(data.draw(st.lists(floats, min_size=n, max_size=n)))
    g = np.array(data.draw(st.lists(st.integers(0, groups - 1), min_size=n, max_size=n)))
    out = M.regression(y, p, g, groups)
    pct = _grouped_percentiles(p, g, groups, [50, 99])
    for i in range(groups):
        rows = g == i
        if not rows.any():
            assert math.isnan(out["mae"][i]) and math.isnan(pct[0][i])
            continue
        assert out["mae"][i] == pytest.approx(sk.mean_absolute_error(y[rows], p[rows]))
        assert out["rmse"][i] == pytest.approx(
            math.sqrt(sk.mean_squared_error(y[rows], p[rows])))
        if rows.sum() >= 2:
            assert out["r2"][i] == pytest.approx(sk.r2_score(y[rows], p[rows]), abs=1e-9)
        assert pct[0][i] == pytest.approx(np.percentile(p[rows], 50))
        assert pct[1][i] == pytest.approx(np.percentile(p[rows], 99))
