"""The exporter, scraped: every metric read back from the Prometheus text format."""

import os
import subprocess
import sys
import urllib.request

import numpy as np
import pytest
from modelops_prometheus import LATENCY_BUCKETS, PrometheusExporter
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

import modelops
from modelops import plugins
from modelops.monitoring import Monitor

NOW = 1_800_000_000_000


@pytest.fixture
def exporter():
    exporter = PrometheusExporter(CollectorRegistry())
    plugins.plugin_manager().register(exporter)
    yield exporter
    plugins.plugin_manager().unregister(exporter)


def scrape(text):
    """{(sample name, sorted labels): value} from exposition text."""
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))


def test_predictions_errors_latency_and_feedback(exporter):
    ops = modelops.connect("memory://")
    latencies = [0.3, 0.8, 2.0, 4.0, 7.0, 30.0, 120.0, None, None, 900.0]
    predictions = [1, 0, None, 1, 1, None, 0, 1, 0, 1]
    metadata = [None] * 10
    metadata[3] = {"error": "timeout upstream"}
    with ops.predictions.logger("fraud", version="1.2.0") as log:
        ids = [log.log({"amount": i}, p, latency_ms=lat, metadata=m)
               for i, (p, lat, m) in enumerate(zip(predictions, latencies, metadata))]
        log.feedback_batch(ids[:5], [1, 0, 1, 1, 0])
    ops.predictions.feedback("fraud", ids[5], 1)
    s = scrape(exporter.exposition())
    mv = {"model": "fraud", "version": "1.2.0"}
    assert value(s, "modelops_predictions_total", **mv) == 10
    assert value(s, "modelops_prediction_errors_total", **mv) == 3   # two nulls, one error
    assert value(s, "modelops_feedback_total", model="fraud") == 6
    seen = [x / 1000 for x in latencies if x is not None]
    assert value(s, "modelops_prediction_latency_seconds_count", **mv) == len(seen)
    assert value(s, "modelops_prediction_latency_seconds_sum", **mv) == pytest.approx(sum(seen))
    for bound in LATENCY_BUCKETS:
        le = str(bound)
        assert value(s, "modelops_prediction_latency_seconds_bucket", le=le, **mv) == \
            sum(x <= bound for x in seen), le


def test_model_metrics_stages_and_aliases(exporter):
    ops = modelops.connect("memory://")
    ops.registry.register("fraud", {"w": [1]}, flavor="joblib", metrics={"f1": 0.81,
                                                                         "auc": 0.9})
    s = scrape(exporter.exposition())
    assert value(s, "modelops_model_metric", model="fraud", version="1.0.0", metric="f1") == 0.81
    assert value(s, "modelops_model_stage", model="fraud", version="1.0.0",
                 stage="development") == 1
    ops.registry.promote("fraud", "1.0.0")
    ops.registry.register("fraud", {"w": [2]}, flavor="joblib", metrics={"f1": 0.86})
    ops.registry.promote("fraud", "1.0.1")
    ops.registry.set_alias("fraud", "champion", "1.0.1")
    s = scrape(exporter.exposition())
    stages = {(dict(k[1])["version"], dict(k[1])["stage"]): v for k, v in s.items()
              if k[0] == "modelops_model_stage"}
    assert stages == {("1.0.0", "archived"): 1, ("1.0.1", "production"): 1,
                      ("1.0.1", "@champion"): 1}
    assert value(s, "modelops_stage_changes_total", model="fraud", action="promote") == 2
    assert value(s, "modelops_stage_changes_total", model="fraud", action="set_alias") == 1
    assert value(s, "modelops_model_versions_registered_total", model="fraud") == 2


def test_drift_detections_alerts_and_runs(exporter):
    ops = modelops.connect("memory://")
    rng = np.random.default_rng(3)
    ops.drift.fit_reference("churn", {"a": rng.normal(0, 1, 3_000), "b": rng.normal(0, 1, 3_000)})
    ops.drift.check("churn", {"a": rng.normal(0, 1, 3_000), "b": rng.normal(0, 1, 3_000)})
    report = ops.drift.check("churn", {"a": rng.normal(1, 1, 3_000),
                                       "b": rng.normal(1, 1, 3_000)})
    with ops.predictions.logger("churn") as log:    # 10 of 100 failed: a "high" alert
        log.log_batch({"a": np.ones(100)}, [None] * 10 + [1] * 90,
                      timestamps=NOW - 3_600_000 + np.arange(100) * 1_000)
    Monitor(ops, "churn", now=NOW).health("1h")
    with ops.tracking.start_run(experiment="e"):
        pass
    with pytest.raises(RuntimeError), ops.tracking.start_run(experiment="e"):
        raise RuntimeError("boom")
    s = scrape(exporter.exposition())
    assert value(s, "modelops_drift_detections_total", model="churn") == 1
    assert value(s, "modelops_drift_share", model="churn") == report.share == 1.0
    assert value(s, "modelops_alerts_total", model="churn", severity="high",
                 kind="error_rate") == 1
    assert value(s, "modelops_runs_finished_total", status="FINISHED") == 1
    assert value(s, "modelops_runs_finished_total", status="FAILED") == 1


def test_scraped_over_http(exporter):
    ops = modelops.connect("memory://")
    with ops.predictions.logger("fraud", version="2.0.0") as log:
        log.log_batch({"x": np.arange(25)}, [0] * 25, latency_ms=np.full(25, 3.0))
    server, thread = exporter.serve(0, addr="127.0.0.1")
    try:
        url = f"http://127.0.0.1:{server.server_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain")
            text = response.read().decode()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    s = scrape(text)
    assert value(s, "modelops_predictions_total", model="fraud", version="2.0.0") == 25
    assert value(s, "modelops_prediction_latency_seconds_bucket", model="fraud",
                 version="2.0.0", le="0.0025") == 0
    assert value(s, "modelops_prediction_latency_seconds_bucket", model="fraud",
                 version="2.0.0", le="0.005") == 25


def test_an_empty_scrape_lists_the_metric_families(exporter):
    names = {f.name for f in text_string_to_metric_families(exporter.exposition())}
    assert {"modelops_predictions", "modelops_prediction_latency_seconds",
            "modelops_model_metric", "modelops_drift_detections", "modelops_alerts"} <= names


def test_the_entry_point_registers_the_global_exporter(monkeypatch):
    import modelops_prometheus

    monkeypatch.delenv("MODELOPS_PLUGINS", raising=False)
    plugins.reset()
    try:
        assert plugins.plugin_manager().get_plugin("prometheus") is modelops_prometheus.exporter
    finally:
        plugins.reset()
    monkeypatch.setenv("MODELOPS_PLUGINS", "none")
    try:
        assert plugins.plugin_manager().get_plugin("prometheus") is None
    finally:
        plugins.reset()


def test_connect_does_not_import_prometheus_client():
    code = ("import sys, modelops; ops = modelops.connect('memory://'); "
            "ops.tracking.list_experiments(); print('prometheus_client' in sys.modules)")
    env = dict(os.environ)
    env.pop("MODELOPS_PLUGINS", None)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=env).stdout.strip()
    assert out == "False"


def test_records_are_read_like_json_whatever_they_hold(exporter):
    """The fast reading of latency and failure agrees with json.loads on awkward records."""
    import json

    from modelops_prometheus.exporter import _scan

    ops = modelops.connect("memory://")
    cases = [
        ({"metadata": {"error": "x"}, "a": 1}, 1, 2.5, None),          # a feature "metadata"
        ({"a": ',"metadata":{"error":1}}'}, None, None, None),         # tricky text in a value
        ({"a": 1}, "ok", 7.0, {"error": ""}),                          # an empty error
        ({"a": 1}, "ok", None, {"note": "error", "error": True}),
        ({"a": 1}, {"label": None}, 1e-3, None),                       # a structured prediction
    ]
    with ops.predictions.logger("scan") as log:
        for i, (features, prediction, latency, metadata) in enumerate(cases):
            log.log(features, prediction, latency_ms=latency, metadata=metadata,
                    id=f'weird "id" {i}, "prediction":null')
    lines = [line for part in ops.store("predictions").list_parts("scan", "predictions")
             for line in ops.store("predictions").read_part("scan", part).decode().splitlines()]
    assert len(lines) == len(cases)
    for line in lines:
        record = json.loads(line)
        meta = record["metadata"]
        expected = (record["latency_ms"],
                    record["prediction"] is None or (isinstance(meta, dict) and
                                                     bool(meta.get("error"))))
        assert _scan(line) == expected, line
    assert _scan('{"latency_ms": 4, "prediction": null}') == (4.0, True)   # another shape


def test_a_run_of_equal_latencies_is_counted_as_one_observe_per_record_would():
    """Served batches share a latency: observed at once, the exposition is what one
    observe() per record gives — bucket edges, NaN and a value past the last bound too."""
    from modelops_prometheus.exporter import _observe
    from prometheus_client import Histogram, generate_latest

    values = [0.0005] * 7 + [0.003] * 40 + [0.01] + [0.25] * 3 + [float("nan")] * 2 + \
        [60.0] * 5 + [0.003] * 2
    registries = CollectorRegistry(), CollectorRegistry()
    bulk, single = (Histogram("lat", "latency", registry=r, buckets=LATENCY_BUCKETS)
                    for r in registries)
    for v in values:
        single.observe(v)
    start = 0
    for i in range(1, len(values) + 1):
        if i == len(values) or values[i] != values[start] or values[i] != values[i]:
            _observe(bulk, values[start], i - start)
            start = i
    got, expected = (scrape(generate_latest(r).decode()) for r in registries)
    assert set(got) == set(expected)
    for key, number in expected.items():
        assert got[key] == pytest.approx(number, nan_ok=True) or \
            (np.isnan(number) and np.isnan(got[key])), key


def test_a_parts_latencies_observed_at_once_are_what_one_observe_per_value_gives():
    """A Parquet part's latencies go into the histogram in one pass (one searchsorted, each
    bucket raised once): the exposition equals one observe() per value, bucket edges, values
    past the last bound and ±inf included."""
    from modelops_prometheus.exporter import _observe_all
    from prometheus_client import Histogram, generate_latest

    edges = [b for b in LATENCY_BUCKETS if np.isfinite(b)]
    values = np.array(edges * 3 + [0.0, -1.0, 1e-9, 60.0, 1e6, np.inf, -np.inf] +
                      list(np.random.default_rng(5).lognormal(-4, 2, 5_000)))
    registries = CollectorRegistry(), CollectorRegistry()
    bulk, single = (Histogram("lat", "latency", registry=r, buckets=LATENCY_BUCKETS)
                    for r in registries)
    for v in values.tolist():
        single.observe(v)
    _observe_all(bulk, values)
    got, expected = (scrape(generate_latest(r).decode()) for r in registries)
    assert set(got) == set(expected)
    for key, number in expected.items():
        assert got[key] == pytest.approx(number, nan_ok=True) or \
            (np.isnan(number) and np.isnan(got[key])), key


def test_a_parquet_part_counts_as_its_records_as_json_lines_would(exporter):
    """Rows logged as columns reach the exporter as one Arrow table: counted, failed and
    timed exactly as the same records logged one JSON line each."""
    pytest.importorskip("pyarrow")
    ops = modelops.connect("memory://")
    rng = np.random.default_rng(3)
    calls = []
    for i in range(12):
        predictions = [None if (i * 150 + j) % 37 == 0 else j % 2 for j in range(150)]
        latency = [0.3, 2.0, 45.0, 900.0][i % 4] if i % 5 else None
        metadata = {"error": "upstream"} if i == 4 else {"route": "a"} if i % 2 else None
        calls.append((rng.normal(size=150), predictions, latency, metadata))
    with ops.predictions.logger("cols", version="1") as log:
        for x, predictions, latency, metadata in calls:
            log.log_columns({"x": x}, predictions, latency_ms=latency, metadata=metadata)
    with ops.predictions.logger("lines", version="1") as log:
        for x, predictions, latency, metadata in calls:
            log.log_records([{"x": v} for v in x.tolist()], predictions, latency_ms=latency,
                            metadata=metadata)
    store = ops.store("predictions")
    assert [p.fmt for p in store.list_parts("cols", "predictions")] == ["parquet"]
    assert {p.fmt for p in store.list_parts("lines", "predictions")} == {"jsonl"}
    samples = scrape(exporter.exposition())
    of = {model: {(name, tuple(kv for kv in labels if kv[0] != "model")): number
                  for (name, labels), number in samples.items()
                  if ("model", model) in labels and not name.endswith("_created")}
          for model in ("cols", "lines")}
    assert of["cols"] == pytest.approx(of["lines"]) and len(of["cols"]) > 10
    assert value(samples, "modelops_predictions_total", model="cols", version="1") == 1_800
    failed = sum(p is None for _, ps, _, _ in calls for p in ps) + \
        sum(p is not None for p in calls[4][1])
    assert value(samples, "modelops_prediction_errors_total", model="cols",
                 version="1") == failed
