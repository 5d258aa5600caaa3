"""Building prediction stores for the monitoring tests: explicit timestamps, a fixed now."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

import modelops
from modelops.monitoring import Monitor

H = 3_600_000
NOW = 1_800_000_000_000          # 2027-01-15 08:00 UTC: the monitors' fixed "now"


def connect() -> Any:
    return modelops.connect("memory://")


def log_rows(ops: Any, model: str, timestamps: Sequence[int], predictions: Sequence[Any], *,
             actuals: Sequence[Any] | None = None, probabilities: Sequence[float] | None = None,
             latency: Sequence[float | None] | None = None,
             features: dict[str, Any] | None = None,
             metadata: Sequence[dict[str, Any] | None] | None = None,
             version: str = "1.0.0") -> list[str]:
    """Log one prediction per timestamp; feedback (1 ms later) where ``actuals`` is not None."""
    n = len(timestamps)
    if features is None:
        features = {"x": np.zeros(n)}
    with ops.predictions.logger(model, version=version) as log:
        ids = log.log_batch(features, list(predictions), probabilities=probabilities,
                            latency_ms=latency, timestamps=[int(t) for t in timestamps],
                            metadata=metadata)
        if actuals is not None:
            keep = [i for i in range(n) if actuals[i] is not None]
            log.feedback_batch([ids[i] for i in keep], [actuals[i] for i in keep],
                               timestamps=[int(timestamps[i]) + 1 for i in keep])
    return ids


def spread(n: int, since: int, until: int) -> np.ndarray:
    """``n`` timestamps spread evenly over ``[since, until)``."""
    return since + (np.arange(n) * (until - since)) // n


def monitor(ops: Any, model: str, version: str | None = "1.0.0", **options: Any) -> Monitor:
    return Monitor(ops, model, version, now=lambda: NOW, **options)


class AlertCollector:
    """A plugin recording every alert raised."""

    def __init__(self) -> None:
        self.alerts: list[Any] = []
        self.uris: list[str] = []

    @modelops.hookimpl
    def modelops_alert_raised(self, alert: Any, store_uri: str) -> None:
        self.alerts.append(alert)
        self.uris.append(store_uri)
