"""A model's monitoring settings, stored with the model, on S3 (through moto's server)."""

from __future__ import annotations

import modelops
from modelops.monitoring import MonitorSettings


def test_monitoring_settings_are_kept_with_the_model(s3_uri):
    ops = modelops.connect(s3_uri)
    ops.registry.register("fraud", {"w": 1}, flavor="joblib", metrics={"f1": 0.8})
    ops.set_monitoring("fraud", positive="fraud", task="classification", latency_slo_ms=200)
    other = modelops.connect(s3_uri)            # another client (another machine)
    assert other.monitoring_settings("fraud") == MonitorSettings(
        task="classification", positive="fraud", rules={"latency_slo_ms": 200})
    monitor = other.monitor("fraud")
    assert monitor.positive == "fraud" and monitor.rules.latency_slo_ms == 200
