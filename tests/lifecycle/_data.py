"""Building a model in production with a day of logged traffic, for the lifecycle tests."""

from __future__ import annotations

from typing import Any

import numpy as np

H = 3_600_000
FEATURES = ("x1", "x2", "x3", "x4")


def now_hour() -> int:
    """A fixed "now" near the real clock (versions are stamped with the real time)."""
    from modelops._ids import now_ms

    return now_ms() // H * H


def production_model(ops: Any, model: str = "fraud", accuracy: float = 0.95,
                     seed: int = 0, fitted: Any = None) -> str:
    """Register a model (a stand-in unless ``fitted`` is given) with its metrics, promote
    it, and profile its inputs."""
    rng = np.random.default_rng(seed)
    version = ops.registry.register(model, {"weights": [0.5, -1.0]} if fitted is None
                                    else fitted, flavor="joblib",
                                    metrics={"accuracy": accuracy})
    ops.registry.promote(model, version.version)
    ops.drift.fit_reference(model, {f: rng.normal(0, 1, 3_000) for f in FEATURES})
    return version.version


def traffic(ops: Any, now: int, *, model: str = "fraud", version: str = "1.0.0",
            n: int = 1_200, hours: int = 24, shifted: int = 0, accuracy: float = 0.95,
            feedback: float = 1.0, seed: int = 1, last_hour: int | None = None) -> None:
    """``n`` predictions spread over the last ``hours`` before ``now`` (``last_hour`` of them
    in the newest hour when given): features ``x1..x4``, the first ``shifted`` of them moved
    by one standard deviation; labels right with probability ``accuracy``; a share
    ``feedback`` of them with ground truth."""
    rng = np.random.default_rng(seed)
    if last_hour is None:
        stamps = now - hours * H + np.arange(n) * (hours * H // n)
    else:
        early = np.arange(n - last_hour) * ((hours - 1) * H // (n - last_hour))
        stamps = np.concatenate([now - hours * H + early,
                                 now - H + np.arange(last_hour) * (H // last_hour)])
    features = {f: rng.normal(1.0 if i < shifted else 0.0, 1, n)
                for i, f in enumerate(FEATURES)}
    truth = rng.integers(0, 2, n)
    right = rng.random(n) < accuracy
    predictions = np.where(right, truth, 1 - truth)
    with ops.predictions.logger(model, version=version) as log:
        ids = log.log_batch(features, predictions.tolist(), timestamps=stamps.tolist())
        keep = np.flatnonzero(rng.random(n) < feedback)
        log.feedback_batch([ids[i] for i in keep], truth[keep].tolist(),
                           timestamps=(stamps[keep] + 1).tolist())
