"""Degradation is judged on the window's sample: worse than the baseline by more than the
threshold, and by more than chance explains (a bootstrap standard error per metric)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
from sklearn import metrics as skm

from ._data import NOW, H, connect, log_rows, monitor, spread


def window_of(ops, model, truth, pred, probabilities=None):
    n = len(truth)
    log_rows(ops, model, spread(n, NOW - 24 * H, NOW), list(pred), actuals=list(truth),
             probabilities=probabilities)
    return monitor(ops, model).window("24h")


def test_standard_errors_agree_with_the_textbook_and_scipy_bootstrap():
    rng = np.random.default_rng(2)
    n = 400
    truth = rng.integers(0, 2, n)
    score = np.clip(truth * 0.35 + rng.random(n) * 0.65, 0, 1)
    pred = (score > 0.5).astype(int)
    window = window_of(connect(), "m", truth.tolist(), pred.tolist(), score.tolist())
    errors = window.metric_errors
    accuracy = float(np.mean(truth == pred))
    assert errors["accuracy"] == pytest.approx(np.sqrt(accuracy * (1 - accuracy) / n), rel=0.15)
    for name, fn in (("f1", lambda i: skm.f1_score(truth[i], pred[i])),
                     ("roc_auc", lambda i: skm.roc_auc_score(truth[i], score[i]))):
        want = scipy.stats.bootstrap((np.arange(n),), fn, vectorized=False, n_resamples=400,
                                     method="percentile", rng=np.random.default_rng(0))
        assert errors[name] == pytest.approx(want.standard_error, rel=0.2), name


def test_a_clean_window_of_fifty_rows_is_not_called_degraded():
    # Registered accuracy 0.92 and production exactly as good: windows of 50 predictions
    # miss 0.92 by more than 0.05 about one time in ten; the threshold alone called those
    # "degraded" (unhealthy, an alert); the drop must also be significant at 0.01.
    rng = np.random.default_rng(7)
    ops = connect()
    by_threshold = by_rule = 0
    runs = 80
    for k in range(runs):
        truth = rng.integers(0, 2, 50)
        pred = np.where(rng.random(50) < 0.92, truth, 1 - truth)
        window_of(ops, f"m{k}", truth.tolist(), pred.tolist())
        ops.registry.register(f"m{k}", {"w": 1}, version="1.0.0", flavor="joblib",
                              metrics={"accuracy": 0.92})
        by_rule += monitor(ops, f"m{k}").health("24h", alert=False).issue("degradation") \
            is not None
        loose = monitor(ops, f"m{k}", degradation_alpha=None).degradation(window="24h")
        by_threshold += loose.degraded
    assert by_threshold >= 3            # what the threshold alone did
    assert by_rule <= 1


def test_a_real_drop_is_still_degradation_and_says_its_p_value():
    rng = np.random.default_rng(8)
    ops = connect()
    truth = rng.integers(0, 2, 150)
    pred = np.where(rng.random(150) < 0.75, truth, 1 - truth)       # from 0.95 to 0.75
    window_of(ops, "m", truth.tolist(), pred.tolist())
    ops.registry.register("m", {"w": 1}, version="1.0.0", flavor="joblib",
                          metrics={"accuracy": 0.95})
    issue = monitor(ops, "m").health("24h", alert=False).issue("degradation")
    assert issue is not None and issue.severity == "high"
    change = issue.details["metrics"]["accuracy"]
    assert change["pvalue"] < 1e-6 and change["standard_error"] > 0
    assert "p=" in issue.message and "150 predictions with feedback" in issue.message
