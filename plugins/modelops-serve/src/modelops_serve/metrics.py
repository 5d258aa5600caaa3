"""The server's Prometheus metrics, beside ``modelops-prometheus``'s.

``GET /metrics`` returns this server's own metrics, kept in a registry of its own (so several
apps in one process never collide), followed by the ``modelops-prometheus`` exporter's —
predictions and feedback stored, their latency, stages, alerts — which the prediction
logger's writes feed:

=================================================  =========  =============================
metric                                             type       labels
=================================================  =========  =============================
``modelops_serve_requests_total``                  counter    endpoint, status
``modelops_serve_request_seconds``                 histogram  endpoint
``modelops_serve_predictions_total``               counter    model, version, route
``modelops_serve_log_failures_total``              counter    model (a prediction or feedback
                                                              the logger refused; the request
                                                              still succeeded)
``modelops_serve_feedback_joined_total``           counter    model, version
``modelops_serve_live_accuracy``                   gauge      model, version: share of joined
                                                              feedback equal to the prediction
``modelops_serve_reloads_total``                   counter    model
``modelops_serve_version_info``                    gauge      model, version, role (1 while
                                                              served)
=================================================  =========  =============================

With ``--workers N`` each worker counts its own requests (no shared state between workers);
the stored-prediction counters of ``modelops-prometheus`` are fed by each worker's writes.
"""

from __future__ import annotations

import collections
import threading
from typing import Any

from modelops_prometheus import LATENCY_BUCKETS
from modelops_prometheus import exporter as stored_exporter

#: Predictions remembered per worker to join feedback for live accuracy.
RECENT = 100_000


class ServeMetrics:
    """The metrics of one app, and the recent predictions feedback is joined to."""

    def __init__(self, model: str) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.model = model
        self.registry = CollectorRegistry(auto_describe=True)
        ns, reg = "modelops_serve", self.registry
        self.requests = Counter("requests", "HTTP requests by endpoint and status.",
                                ("endpoint", "status"), namespace=ns, registry=reg)
        self.seconds = Histogram("request_seconds", "Time to answer a request.",
                                 ("endpoint",), namespace=ns, registry=reg,
                                 buckets=LATENCY_BUCKETS)
        self.predictions = Counter("predictions", "Predictions served, by version and route.",
                                   ("model", "version", "route"), namespace=ns, registry=reg)
        self.log_failures = Counter("log_failures", "Predictions or feedback the logger "
                                    "refused (the request still succeeded).", ("model",),
                                    namespace=ns, registry=reg)
        self.joined = Counter("feedback_joined", "Feedback joined to a prediction this "
                              "worker served.", ("model", "version"), namespace=ns,
                              registry=reg)
        self.accuracy = Gauge("live_accuracy", "Share of joined feedback equal to the "
                              "prediction.", ("model", "version"), namespace=ns, registry=reg)
        self.reloads = Counter("reloads", "Switches to another version.", ("model",),
                               namespace=ns, registry=reg)
        self.info = Gauge("version_info", "1 for each version served, by role.",
                          ("model", "version", "role"), namespace=ns, registry=reg)
        self.log_failures.labels(model)
        self.reloads.labels(model)
        self._children: dict[tuple[str, int], Any] = {}
        self._timers: dict[str, Any] = {}
        self._recent: collections.OrderedDict[str, tuple[str, Any]] = collections.OrderedDict()
        self._hits: dict[str, list[int]] = {}
        self._lock = threading.Lock()

    def request(self, endpoint: str, status: int, seconds: float) -> None:
        child = self._children.get((endpoint, status))
        if child is None:
            child = self._children[(endpoint, status)] = self.requests.labels(endpoint,
                                                                              str(status))
        child.inc()
        timer = self._timers.get(endpoint)
        if timer is None:
            timer = self._timers[endpoint] = self.seconds.labels(endpoint)
        timer.observe(seconds)

    def served(self, version: str, route: str | None, ids: list[str], predictions: list[Any],
               classifier: bool) -> None:
        self.predictions.labels(self.model, version, route or "").inc(len(predictions))
        if not classifier:
            return
        with self._lock:
            recent = self._recent
            for rid, prediction in zip(ids, predictions):
                recent[rid] = (version, prediction)
            while len(recent) > RECENT:
                recent.popitem(last=False)

    def feedback(self, rid: str, actual: Any) -> None:
        with self._lock:
            seen = self._recent.pop(rid, None)
            if seen is None:
                return
            version, prediction = seen
            hits = self._hits.setdefault(version, [0, 0])
            hits[0] += prediction == actual
            hits[1] += 1
            share = hits[0] / hits[1]
        self.joined.labels(self.model, version).inc()
        self.accuracy.labels(self.model, version).set(share)

    def serving(self, lineup: Any) -> None:
        """Mark the versions of ``lineup`` as served (and no others)."""
        self.info.clear()
        self.info.labels(self.model, lineup.champion.version, "champion").set(1)
        if lineup.challenger is not None:
            self.info.labels(self.model, lineup.challenger.version, "challenger").set(1)

    def exposition(self) -> bytes:
        from prometheus_client import generate_latest

        return generate_latest(self.registry) + stored_exporter.exposition().encode()
