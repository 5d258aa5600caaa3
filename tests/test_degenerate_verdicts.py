"""Verdicts on samples without spread or at a threshold exactly: each once gave a confident
wrong answer, or no answer where one was certain.

- A drop the window's sample shows with no spread at all (every regression error the same
  offset; every f1 resample 0) is certain, not "not judged": it made health say healthy and
  the retraining check not retrain.
- A difference of metric values within float rounding of a threshold meets it (0.85 - 0.80
  is 0.04999999999999993).
- A champion/challenger comparison of two groups without spread is the exact permutation
  test's, not an infinite t from two rows a side; DeLong's test without variance gives no
  p-value; rows logged without a probability are left out of roc_auc and log_loss.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats

import modelops
from modelops.lifecycle import abtest
from modelops.lifecycle.policy import RetrainPolicy
from modelops.monitoring import Monitor
from modelops.registry import MetricImprovement

NOW = 1_800_000_000_000
HOUR = 3_600_000


def _offset_errors(ops, model: str, version: str | None = None) -> None:
    y = np.random.default_rng(0).normal(0, 1, 200)
    with ops.predictions.logger(model, version=version) as log:
        ids = log.log_batch({"x": np.arange(200.0)}, y + 10.0,
                            timestamps=NOW - HOUR + np.arange(200) * 1_000)
        log.feedback_batch(ids, y.tolist(), timestamps=NOW - 1_000 + np.zeros(200, int))


def test_errors_all_of_one_offset_are_a_certain_degradation():
    ops = modelops.connect("memory://")
    _offset_errors(ops, "m")
    monitor = Monitor(ops, "m", now=lambda: NOW, baseline={"mae": 0.1, "rmse": 0.12},
                      task="regression")
    found = monitor.degradation(window="1h")
    assert [(c.metric, c.pvalue, c.degraded) for c in found.changes] == \
        [("mae", 0.0, True), ("rmse", 0.0, True)]
    assert monitor.health("1h").status == "unhealthy"


def test_the_retraining_check_retrains_on_it_and_says_why_it_did_not_otherwise():
    ops = modelops.connect("memory://")
    ops.registry.register("m", {"w": 1}, flavor="joblib", metrics={"mae": 0.1})
    ops.registry.promote("m", "1.0.0")
    ops.set_monitoring("m", task="regression")
    _offset_errors(ops, "m", "1.0.0")
    decision = RetrainPolicy(drift_share=None).evaluate(ops.monitor("m", now=lambda: NOW))
    assert decision.retrain and "mae 10.0" in decision.reasons[0]


def test_an_f1_collapsed_to_zero_is_degraded():
    """The example of docs/monitoring.md: no prediction right, every bootstrap resample's
    f1 0."""
    ops = modelops.connect("memory://")
    labels = np.array(["fraud", "legit"] * 100)
    with ops.predictions.logger("cards") as log:
        ids = log.log_batch({"amount": np.arange(200.0)}, labels[::-1],
                            probabilities=np.linspace(0.5, 1.0, 200),
                            timestamps=NOW - HOUR + np.arange(200) * 1_000)
        log.feedback_batch(ids, labels.tolist(), timestamps=NOW - 1_000 + np.zeros(200, int))
    monitor = Monitor(ops, "cards", now=lambda: NOW, positive="fraud", score="confidence",
                      baseline={"f1": 0.8})
    (change,) = monitor.degradation(window="1h").changes
    assert (change.current, change.pvalue, change.degraded) == (0.0, 0.0, True)
    assert monitor.health("1h").status == "unhealthy"


def test_a_drop_of_exactly_the_threshold_is_not_more_than_it():
    ops = modelops.connect("memory://")
    with ops.predictions.logger("d") as log:
        ids = log.log_batch({"x": np.arange(100.0)}, [1] * 85 + [0] * 15,
                            timestamps=NOW - HOUR + np.arange(100) * 1_000)
        log.feedback_batch(ids, [1] * 100, timestamps=NOW - 1_000 + np.zeros(100, int))
    monitor = Monitor(ops, "d", now=lambda: NOW, baseline={"accuracy": 0.90},
                      degradation_alpha=None)
    (change,) = monitor.degradation(window="1h", threshold=0.05).changes
    assert change.worse_by == 0.90 - 0.85 > 0.05 and not change.degraded
    assert monitor.degradation(window="1h", threshold=0.049).changes[0].degraded


@pytest.mark.parametrize("metric, before, after, needed", [
    ("accuracy", 0.80, 0.85, 0.05), ("mae", 0.30, 0.20, 0.1)])
def test_an_improvement_of_exactly_the_minimum_is_enough(metric, before, after, needed):
    ops = modelops.connect("memory://")
    ops.registry.register("m", {"w": 1}, flavor="joblib", metrics={metric: before})
    ops.registry.register("m", {"w": 2}, flavor="joblib", metrics={metric: after})
    old, new = ops.registry.get_version("m", "1.0.0"), ops.registry.get_version("m", "1.0.1")
    assert MetricImprovement(metric, needed)(new, old).promote
    assert not MetricImprovement(metric, needed * 1.001)(new, old).promote


@pytest.mark.parametrize("n_a, n_b", [(2, 2), (3, 3), (5, 5), (4, 7), (8, 6)])
def test_two_groups_without_spread_get_the_exact_permutation_test(n_a, n_b):
    a, b = np.zeros(n_a), np.ones(n_b)
    found = abtest.welch(a, b)
    exact = stats.permutation_test((a, b), lambda x, y: np.mean(y) - np.mean(x),
                                   permutation_type="independent", n_resamples=math.inf)
    assert found.pvalue == pytest.approx(exact.pvalue, rel=1e-12)
    assert found.statistic == 1.0 and abtest.welch(a, a[:2] + 0).pvalue == 1.0
    assert abtest.welch(np.zeros(30), np.ones(30)).pvalue == 2 / math.comb(60, 30)


def test_delong_without_variance_on_either_side_gives_no_p_value():
    separated = (np.array([True, True, False, False]), np.array([0.9, 0.8, 0.2, 0.1]))
    tied = (np.array([True, True, False, False]), np.full(4, 0.5))
    assert math.isnan(abtest.delong(*separated, *tied)[0].pvalue)
    assert abtest.delong(*separated, *separated)[0].pvalue == 1.0


def _two_versions(ops) -> None:
    ops.registry.register("m", {"w": 1}, flavor="joblib")
    ops.registry.promote("m", "1.0.0")
    ops.registry.register("m", {"w": 2}, flavor="joblib")
    ops.registry.promote("m", "1.0.1", stage="staging")


def test_two_rows_a_side_without_spread_are_no_verdict():
    ops = modelops.connect("memory://")
    _two_versions(ops)
    with ops.router("m", share=0.5) as router:
        seen, i = {"champion": 0, "challenger": 0}, 0
        while min(seen.values()) < 2:
            assignment = router.assign(f"k{i}")
            i += 1
            if seen[assignment.role] < 2:
                pid = router.log(assignment, {"x": 1.0},
                                 3.0 if assignment.role == "champion" else 4.0)
                router.feedback(pid, 3.0)
                seen[assignment.role] += 1
        found = router.evaluate(metric="mae")
    assert (found.verdict, found.n_champion, found.n_challenger) == ("unknown", 2, 2)
    assert found.pvalue == pytest.approx(1 / 3)


def test_a_row_logged_without_a_probability_is_left_out_of_auc_and_log_loss():
    ops = modelops.connect("memory://")
    _two_versions(ops)
    rng = np.random.default_rng(0)
    with ops.router("m", share=0.5) as router, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(2_000):
            assignment = router.assign(f"u{i}")
            y = int(rng.random() < 0.5)
            s = 0.8 * y + 0.2 * rng.random() if assignment.role == "challenger" \
                else rng.random()
            pid = router.log(assignment, {"x": 1.0}, int(s > 0.5),
                             None if i == 7 else float(s))
            router.feedback(pid, y)
        found = {m: router.evaluate(metric=m) for m in ("roc_auc", "log_loss")}
    for metric, evaluation in found.items():
        assert evaluation.verdict == "better" and evaluation.pvalue < 1e-50, metric
        assert evaluation.n_champion + evaluation.n_challenger == 1_999, metric


def test_an_evaluation_counts_what_was_logged_in_its_own_millisecond(monkeypatch):
    """A window ending at now_ms() (exclusive) missed predictions logged in that same
    millisecond: an evaluation right after logging counted 1 and 0 of 2 and 2."""
    import modelops._ids

    ops = modelops.connect("memory://")
    _two_versions(ops)
    monkeypatch.setattr(modelops._ids, "now_ms", lambda: NOW)
    with ops.router("m", share=0.5) as router:
        for i in range(40):
            pid = router.log(router.assign(f"k{i}"), {"x": 1.0}, 1, timestamp=NOW)
            router.feedback(pid, 1, timestamp=NOW)
        found = router.evaluate()
    assert found.n_champion + found.n_challenger == 40
