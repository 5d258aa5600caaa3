"""Monitoring aggregates over predictions on S3 computed by a Dask cluster equal the
in-process ones: ops.predictions.read(..., engine="dask") on a
dask.distributed.LocalCluster against the test run's S3 server on loopback."""

from __future__ import annotations

import numpy as np
import pytest

import modelops

pytest.importorskip("dask.dataframe")
pytest.importorskip("pyarrow")
distributed = pytest.importorskip("distributed")

HOUR = 3_600_000
DAY0 = 1_790_000_000_000 - 1_790_000_000_000 % (24 * HOUR)  # midnight UTC


@pytest.mark.slow
def test_aggregates_on_a_dask_cluster_equal_the_in_process_ones(s3_uri):
    ops = modelops.connect(s3_uri)
    rng = np.random.default_rng(11)
    for hour in range(0, 48, 2):  # two days, a part every other hour, two versions
        with ops.predictions.logger("fraud", version=f"{1 + hour % 4 // 2}.0.0") as log:
            ts = np.sort(rng.integers(DAY0 + hour * HOUR, DAY0 + (hour + 1) * HOUR, 40))
            probs = rng.random(40).round(3)
            ids = log.log_batch({"x": rng.normal(size=40).round(3)},
                                np.where(probs > 0.5, "yes", "no").tolist(),
                                probabilities=probs.tolist(), timestamps=ts.tolist(),
                                latency_ms=rng.gamma(2, 2, 40).round(2).tolist())
            log.feedback_batch(ids[::2], rng.choice(["yes", "no"], 20).tolist(),
                               timestamps=(ts[::2] + 60_000).tolist())
    ops.predictions.compact("fraud", DAY0)  # a Parquet day and a day of JSON lines
    since, until = DAY0 + 10 * HOUR, DAY0 + 40 * HOUR

    table = ops.predictions.read("fraud", since=since, until=until)
    frame = table.to_pandas()
    frame["correct"] = (frame["prediction"] == frame["actual"]).astype(float)
    expected = frame.groupby("version").agg(
        n=("id", "size"), mean=("probability", "mean"), latency=("latency_ms", "sum"),
        feedback=("actual", "count"), correct=("correct", "sum"))

    with distributed.LocalCluster(processes=False, n_workers=1, threads_per_worker=2,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        lazy = ops.predictions.read("fraud", since=since, until=until, engine="dask")
        lazy = lazy.assign(correct=(lazy["prediction"] == lazy["actual"]).astype(float))
        got = lazy.groupby("version").agg(
            n=("id", "size"), mean=("probability", "mean"), latency=("latency_ms", "sum"),
            feedback=("actual", "count"), correct=("correct", "sum")).compute()
    got = got.sort_index()
    assert list(got.index) == list(expected.index) == ["1.0.0", "2.0.0"]
    assert got["n"].tolist() == expected["n"].tolist()
    assert got["feedback"].tolist() == expected["feedback"].tolist()
    assert got["correct"].tolist() == expected["correct"].tolist()
    assert np.allclose(got["mean"], expected["mean"])
    assert np.allclose(got["latency"], expected["latency"])
    assert expected["n"].sum() == len(table) > 0
