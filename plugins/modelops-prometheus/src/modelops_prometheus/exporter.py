"""``PrometheusExporter``: modelops event hooks turned into Prometheus metrics.

Every metric is updated from an event hook, so nothing polls the stores:

=============================================  =========  ==================================
metric                                         type       from
=============================================  =========  ==================================
``modelops_predictions_total{model,version}``  counter    ``modelops_predictions_written``
``modelops_prediction_errors_total{…}``        counter    the same: null predictions and
                                                          metadata with a truthy ``error``
``modelops_prediction_latency_seconds{…}``     histogram  the same: each ``latency_ms``
``modelops_feedback_total{model}``             counter    the same, feedback parts
``modelops_model_metric{model,version,metric}``  gauge    ``modelops_version_registered``
``modelops_model_versions_registered_total``   counter    the same
``modelops_model_stage{model,version,stage}``  gauge      ``modelops_stage_changed``: 1 while
                                                          the version holds the stage (or
                                                          ``@alias``)
``modelops_stage_changes_total{model,action}``  counter   the same
``modelops_drift_detections_total{model}``     counter    ``modelops_drift_detected``
``modelops_drift_share{model}``                gauge      the same: share of drifted features
``modelops_alerts_total{model,severity,kind}``  counter   ``modelops_alert_raised``
``modelops_runs_finished_total{status}``       counter    ``modelops_run_finished``
=============================================  =========  ==================================

``prometheus_client`` is imported on the first event, not when the plugin loads, so an
installed exporter costs ``connect()`` nothing.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import math
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from modelops.hookspecs import hookimpl

#: Latency buckets in seconds: 0.5 ms to 10 s.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                   5.0, 10.0)


class _Metrics:
    """The metric objects of one exporter, made on first use."""

    def __init__(self, registry: Any, namespace: str) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        def kw(name: str, doc: str, labels: tuple[str, ...]) -> dict[str, Any]:
            return {"name": name, "documentation": doc, "labelnames": labels,
                    "namespace": namespace, "registry": registry}

        mv = ("model", "version")
        self.predictions = Counter(**kw("predictions", "Predictions logged and stored.", mv))
        self.errors = Counter(**kw("prediction_errors",
                                   "Stored predictions that failed: a null prediction, or "
                                   "metadata with a truthy 'error'.", mv))
        self.latency = Histogram(**kw("prediction_latency_seconds",
                                      "Logged prediction latency.", mv),
                                 buckets=LATENCY_BUCKETS)
        self.feedback = Counter(**kw("feedback", "Ground-truth feedback records stored.",
                                     ("model",)))
        self.model_metric = Gauge(**kw("model_metric",
                                       "Metrics registered with a model version.",
                                       ("model", "version", "metric")))
        self.registered = Counter(**kw("model_versions_registered",
                                       "Model versions registered.", ("model",)))
        self.stage = Gauge(**kw("model_stage",
                                "1 while a version holds a stage (or @alias).",
                                ("model", "version", "stage")))
        self.stage_changes = Counter(**kw("stage_changes",
                                          "Stage and alias changes (promote, rollback, "
                                          "archive, set_alias, remove_alias).",
                                          ("model", "action")))
        self.drift = Counter(**kw("drift_detections",
                                  "Drift checks that found the dataset, its target or its "
                                  "predictions drifted.", ("model",)))
        self.drift_share = Gauge(**kw("drift_share",
                                      "Share of drifted features in the latest drift "
                                      "detection.", ("model",)))
        self.alerts = Counter(**kw("alerts", "Health alerts raised.",
                                   ("model", "severity", "kind")))
        self.runs = Counter(**kw("runs_finished", "Tracked runs that ended.", ("status",)))


def _scan(line: str) -> tuple[float | None, bool]:
    """(latency in ms or None, whether the prediction failed) of one prediction record.

    The logger writes ``…"prediction":…,"probability":…,"latency_ms":…,"features":{…},
    "metadata":…}`` in this order, with every string JSON-escaped, so the two fields are cut
    out without parsing the features (most of the line); any other shape is parsed whole.
    """
    p = line.find('"prediction":')
    lat = line.find(',"latency_ms":', p)
    feat = line.find(',"features":', lat)
    meta = line.rfind(',"metadata":')
    if p < 0 or lat < 0 or feat < 0 or meta < feat or not line.endswith("}"):
        record = json.loads(line)
        metadata = record.get("metadata")
        failed = record.get("prediction") is None or \
            (isinstance(metadata, dict) and bool(metadata.get("error")))
        value = record.get("latency_ms")
        return (None if value is None else float(value)), failed
    text = line[lat + 14:feat]
    failed = line.startswith("null,", p + 13)
    tail = line[meta + 12:-1]
    if not failed and tail != "null" and '"error"' in tail:
        metadata = json.loads(tail)
        failed = isinstance(metadata, dict) and bool(metadata.get("error"))
    return (None if text == "null" else float(text)), failed


def _failed(table: Any) -> int:
    """Records of an Arrow table of predictions that failed, as ``_scan`` tells them: a null
    prediction, or metadata with a truthy ``error``."""
    failed = table["prediction"].is_null().to_numpy(zero_copy_only=False)
    metadata = table["metadata"].combine_chunks()
    if hasattr(metadata.type, "get_field_index") and metadata.type.get_field_index("error") >= 0:
        flags = metadata.field("error").to_pylist()
        failed |= np.fromiter((bool(f) for f in flags), bool, len(flags))
    return int(failed.sum())


def _parts_of(histogram: Any) -> tuple[Any, Any, Any] | None:
    """A histogram's bucket bounds, bucket counters and sum counter; None for a
    prometheus_client that keeps them otherwise."""
    bounds = getattr(histogram, "_upper_bounds", None)
    buckets = getattr(histogram, "_buckets", None)
    total = getattr(histogram, "_sum", None)
    if bounds is None or buckets is None or total is None or len(bounds) != len(buckets):
        return None
    return bounds, buckets, total


def _observe(histogram: Any, seconds: float, count: int) -> None:
    """``count`` observations of ``seconds``: one bucket's count raised by ``count``, as
    ``count`` calls of ``observe`` would (they walk the bounds and take a lock each), by the
    histogram's own sum and buckets. A prometheus_client without them gets the calls."""
    parts = _parts_of(histogram)
    if count == 1 or parts is None or not math.isfinite(seconds):
        for _ in range(count):
            histogram.observe(seconds)
        return
    bounds, buckets, total = parts
    total.inc(seconds * count)
    buckets[bisect.bisect_left(bounds, seconds)].inc(count)


def _observe_all(histogram: Any, seconds: np.ndarray) -> None:
    """One observation of each of ``seconds`` (none NaN), as ``observe`` per value would:
    the bucket of each found by one ``searchsorted``, each bucket raised once."""
    parts = _parts_of(histogram)
    if parts is None:
        for value in seconds.tolist():
            histogram.observe(value)
        return
    bounds, buckets, total = parts
    counts = np.bincount(np.searchsorted(bounds, seconds, side="left"), minlength=len(bounds))
    for at in np.flatnonzero(counts).tolist():
        buckets[at].inc(int(counts[at]))
    with np.errstate(invalid="ignore"):     # inf and -inf: NaN, as observe() sums them
        total.inc(float(seconds.sum()))


def _stage_label(field: str, value: str | None) -> str | None:
    """``stage`` changes carry the stage; ``alias:x`` changes carry ``@x`` while held."""
    if value is None:
        return None
    return value if field == "stage" else f"@{value}"


class PrometheusExporter:
    """modelops events as Prometheus metrics in ``registry`` (default: prometheus_client's
    global registry, which ``prometheus_client.start_http_server`` and most frameworks'
    ``/metrics`` endpoints expose). Register an instance as a modelops plugin; the installed
    package registers one for the global registry through its entry point."""

    def __init__(self, registry: Any = None, namespace: str = "modelops") -> None:
        self._registry = registry
        self.namespace = namespace
        self._metrics: _Metrics | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<PrometheusExporter namespace={self.namespace!r}>"

    @property
    def registry(self) -> Any:
        """The ``CollectorRegistry`` the metrics live in."""
        if self._registry is None:
            from prometheus_client import REGISTRY

            self._registry = REGISTRY
        return self._registry

    @property
    def metrics(self) -> _Metrics:
        with self._lock:
            if self._metrics is None:
                self._metrics = _Metrics(self.registry, self.namespace)
            return self._metrics

    def exposition(self) -> str:
        """The metrics in the Prometheus text format, as a scrape returns them."""
        from prometheus_client import generate_latest

        self.metrics  # noqa: B018 - make the metrics so an empty scrape still lists them
        return generate_latest(self.registry).decode()

    def serve(self, port: int = 9464, addr: str = "0.0.0.0") -> tuple[Any, Any]:
        """Serve ``/metrics`` over HTTP from a daemon thread; returns ``(server, thread)``
        (``server.shutdown()`` stops it). Port 0 picks a free one: ``server.server_port``."""
        from prometheus_client import start_http_server

        self.metrics  # noqa: B018
        return start_http_server(port, addr=addr, registry=self.registry)

    # -- hooks ----------------------------------------------------------------------------

    @hookimpl
    def modelops_predictions_written(self, model: str, version: str | None, kind: str,
                                     records: Sequence[str], table: Any,
                                     store_uri: str) -> None:
        m = self.metrics
        if kind == "feedback":
            m.feedback.labels(model).inc(len(records))
            return
        if kind != "predictions":
            return
        v = version or ""
        m.predictions.labels(model, v).inc(len(records))
        errors = m.errors.labels(model, v)
        latency = m.latency.labels(model, v)
        if table is not None:     # a Parquet part: its columns, never its records as JSON
            errors.inc(_failed(table))
            ms = table["latency_ms"].to_numpy()
            _observe_all(latency, ms[~np.isnan(ms)] / 1000.0)
            return
        failed = 0
        run, ms_run = 0, None    # a served batch's records share one latency: observed at once
        for line in records:
            ms, bad = _scan(line)
            failed += bad
            if ms != ms_run or ms != ms:     # NaN never equals itself
                if run:
                    _observe(latency, ms_run / 1000.0, run)
                run, ms_run = 0, ms
            run += ms is not None
        if run:
            _observe(latency, ms_run / 1000.0, run)
        errors.inc(failed)

    @hookimpl
    def modelops_version_registered(self, version: Any, store_uri: str) -> None:
        m = self.metrics
        m.registered.labels(version.name).inc()
        for metric, value in version.metrics.items():
            m.model_metric.labels(version.name, version.version, metric).set(value)
        m.stage.labels(version.name, version.version, version.stage.value).set(1)

    @hookimpl
    def modelops_stage_changed(self, event: Any, store_uri: str) -> None:
        m = self.metrics
        m.stage_changes.labels(event.model, event.action).inc()
        for change in event.changes:
            before = _stage_label(change.field, change.before)
            after = _stage_label(change.field, change.after)
            if before is not None:
                # KeyError: the stage was taken before this exporter started.
                with contextlib.suppress(KeyError):
                    m.stage.remove(event.model, change.version, before)
            if after is not None:
                m.stage.labels(event.model, change.version, after).set(1)

    @hookimpl
    def modelops_drift_detected(self, report: Any, store_uri: str) -> None:
        m = self.metrics
        m.drift.labels(report.name).inc()
        m.drift_share.labels(report.name).set(report.share)

    @hookimpl
    def modelops_alert_raised(self, alert: Any, store_uri: str) -> None:
        self.metrics.alerts.labels(alert.model, alert.severity, alert.kind).inc()

    @hookimpl
    def modelops_run_finished(self, run: Any, store_uri: str) -> None:
        status = run.info.status
        self.metrics.runs.labels(getattr(status, "value", str(status))).inc()
