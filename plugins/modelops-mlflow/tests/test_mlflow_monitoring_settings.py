"""A model's monitoring settings, stored with the model, on MLflow's registry."""

from __future__ import annotations

import modelops
from modelops.monitoring import MonitorSettings


def test_monitoring_settings_are_kept_with_the_model(sqlite_uri):
    uri = sqlite_uri()
    ops = modelops.connect(uri)
    ops.registry.register("fraud", {"w": 1}, flavor="joblib", metrics={"f1": 0.8})
    ops.set_monitoring("fraud", positive=1, score="confidence", drift_min_rows=500)
    other = modelops.connect(uri)
    assert other.monitoring_settings("fraud") == MonitorSettings(
        positive=1, score="confidence", rules={"drift_min_rows": 500})
    monitor = other.monitor("fraud")
    assert monitor.positive == 1 and monitor.score == "confidence"
    assert monitor.rules.drift_min_rows == 500
