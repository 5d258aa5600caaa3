"""S3 requests grow with batches, not with records (counted on the wire, through botocore's
event hooks; the benchmark reports the same counts with timings)."""

from __future__ import annotations

from modelops_s3.testing import RequestCounter

import modelops


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
