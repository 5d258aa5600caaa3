"""S3 requests grow with batches, not with records (counted on the wire, through botocore's
event hooks; the benchmark reports the same counts with timings)."""

from __future__ import annotations

from modelops_s3.testing import RequestCounter

import modelops

HOUR = 3_600_000
DAY0 = 1_790_000_000_000 - 1_790_000_000_000 % (24 * HOUR)  # midnight UTC


def test_metric_points_cost_requests_per_batch(s3_uri):
    ops = modelops.connect(s3_uri)
    fs = ops.store("tracking").storage.fs

    def log(points: int) -> int:
        with RequestCounter(fs) as requests, ops.tracking.start_run(experiment="e") as run:
            for i in range(points):
                run.log_metric("loss", 1 / (i + 1), step=i)
        assert len(ops.tracking.get_metric_history(run.run_id, "loss")) == points
        return requests.total

    few, many = log(100), log(60_000)
    assert many < 3 * few, (few, many)  # 600 times the points, a few more batches
    assert many < 80


def test_predictions_cost_a_request_per_part(s3_uri):
    ops = modelops.connect(s3_uri)
    fs = ops.store("predictions").storage.fs
    with RequestCounter(fs) as requests, \
            ops.predictions.logger("fraud", batch_size=10_000, flush_every=60) as log:
        for i in range(40_000):
            log.log({"x": i}, i % 2, timestamp=1_790_000_000_000 + i)
    parts = ops.store("predictions").list_parts("fraud", "predictions")
    assert requests.total == requests.counts["PutObject"] == len(parts) <= 8
    assert sum(p.size for p in parts) > 40_000 * 50
    assert len(ops.predictions.read("fraud", since=0)) == 40_000


def test_a_register_costs_the_same_however_many_versions_exist(s3_uri, tmp_path):
    ops = modelops.connect(s3_uri)
    fs = ops.store("registry").storage.fs
    path = tmp_path / "model.txt"
    costs = []
    for n in range(6):
        path.write_text(str(n))
        with RequestCounter(fs) as requests:
            ops.registry.register("fraud", str(path))
        costs.append(requests.total)
    assert max(costs[1:]) <= costs[1] + 1, costs


def _log_day(ops, per_hour: int) -> None:
    """A day of predictions, ``per_hour`` an hour, one part per hour."""
    with ops.predictions.logger("fraud", flush_every=60) as log:
        for hour in range(24):
            start = DAY0 + hour * HOUR
            log.log_batch({"x": list(range(per_hour)), "s": ["a" * 20] * per_hour},
                          [i % 2 for i in range(per_hour)],
                          probabilities=[i / per_hour for i in range(per_hour)],
                          timestamps=[start + i * (HOUR // per_hour) for i in range(per_hour)])
            log.flush()


def _window(ops):
    return ops.predictions.read("fraud", since=DAY0 + 9 * HOUR, until=DAY0 + 10 * HOUR,
                                with_feedback=False)


def test_a_window_fetches_only_the_parts_that_meet_it(s3_uri):
    ops = modelops.connect(s3_uri)
    store = ops.store("predictions")
    _log_day(ops, per_hour=500)
    parts = store.list_parts("fraud", "predictions")
    day_bytes = sum(p.size for p in parts)
    with RequestCounter(store.storage.fs) as requests:
        window = _window(ops)
    assert len(window) == 500 and window.timestamps.min() == DAY0 + 9 * HOUR
    # One part of the day's 24 downloaded; listing the day is the only other request.
    assert requests.counts["GetObject"] == 1, requests.counts
    assert requests.received["GetObject"] <= day_bytes / 20, (requests.received, day_bytes)


def test_a_window_of_a_compacted_day_fetches_its_row_groups(s3_uri, monkeypatch):
    import pytest

    pytest.importorskip("pyarrow")
    from modelops.predictions import columns

    monkeypatch.setattr(columns, "PARQUET_ROW_GROUP", 1_000)
    ops = modelops.connect(s3_uri)
    store = ops.store("predictions")
    _log_day(ops, per_hour=1_000)  # 24,000 rows: 24 row groups of an hour each
    whole = ops.predictions.read("fraud", with_feedback=False)
    ops.predictions.compact("fraud", DAY0)
    (part,) = store.list_parts("fraud", "predictions")
    with RequestCounter(store.storage.fs) as requests:
        window = _window(ops)
    inside = (whole.timestamps >= DAY0 + 9 * HOUR) & (whole.timestamps < DAY0 + 10 * HOUR)
    assert window.ids.tolist() == whole.ids[inside].tolist()
    # Ranged GETs of the footer (Arrow reads the file's last 64 KB at once) and one row
    # group's columns, not the whole file.
    assert requests.received["GetObject"] < part.size / 4, (requests.received, part.size)
