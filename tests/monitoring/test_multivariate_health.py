"""Health's multivariate_drift: features that drift together while none drifts alone."""

import numpy as np

from ._data import NOW, H, connect, log_rows, monitor, spread


def frame(rng, n, rho):
    ab = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], n)
    return {"a": ab[:, 0], "b": ab[:, 1], "c": rng.normal(0, 1, n)}


def store(rho):
    rng = np.random.default_rng(0)
    ops = connect()
    ops.drift.fit_reference("m", frame(rng, 5000, 0.9))
    features = frame(rng, 600, rho)
    log_rows(ops, "m", spread(600, NOW - 24 * H, NOW), [0] * 600, features=features)
    return ops


def test_a_correlation_flip_is_a_medium_issue():
    health = monitor(store(-0.9), "m").health("24h", alert=False)
    issue = health.issue("multivariate_drift")
    assert issue is not None and issue.severity == "medium"
    assert issue.details["method"] == "reconstruction"
    assert set(issue.details["columns"][:2]) == {"a", "b"}
    assert health.issue("input_drift") is None


def test_quiet_on_clean_data_and_when_switched_off():
    assert monitor(store(0.9), "m").health("24h", alert=False).issue(
        "multivariate_drift") is None
    off = monitor(store(-0.9), "m", multivariate=()).health("24h", alert=False)
    assert off.issue("multivariate_drift") is None
