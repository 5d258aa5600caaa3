"""ops.predictions.read(..., engine="dask"): the same rows, columns, dtypes and feedback as
the in-process read, as a Dask DataFrame over the same parts (its S3 run on a
dask.distributed cluster is in the S3 plugin's tests)."""

import sys

import numpy as np
import pytest

import modelops
from modelops import InvalidInput, MissingDependency

pytest.importorskip("dask.dataframe")
pytest.importorskip("pyarrow")

HOUR = 3_600_000
DAY = 24 * HOUR
T0 = 1_790_000_000_000 - 1_790_000_000_000 % DAY  # midnight UTC


def log_days(ops, days=1, per_hour=20, seed=3):
    """A part an hour; feedback for two of three predictions (some twice: the later wins),
    and a second version for a third of the hours."""
    rng = np.random.default_rng(seed)
    for hour in range(days * 24):
        version = "2.0.0" if hour % 3 == 0 else "1.0.0"
        with ops.predictions.logger("fraud", version=version) as log:
            ts = np.sort(rng.integers(T0 + hour * HOUR, T0 + (hour + 1) * HOUR, per_hour))
            probs = rng.random(per_hour).round(3)
            ids = log.log_batch({"x": rng.normal(size=per_hour).round(3),
                                 "n": rng.integers(0, 9, per_hour),
                                 "c": rng.choice(["a", "b"], per_hour)},
                                np.where(probs > 0.5, "yes", "no").tolist(),
                                probabilities=probs.tolist(), timestamps=ts.tolist(),
                                latency_ms=(probs * 10).tolist())
            chosen = ids[: 2 * per_hour // 3]
            log.feedback_batch(chosen, ["no"] * len(chosen),
                               timestamps=(ts[: len(chosen)] + 60_000).tolist())
            log.feedback_batch(chosen[::2], ["yes"] * len(chosen[::2]),
                               timestamps=(ts[: len(chosen)][::2] + 120_000).tolist())


def check_same(frame, table):
    expected = table.to_pandas().sort_values("id").reset_index(drop=True)
    got = frame.compute().sort_values("id").reset_index(drop=True)
    assert list(got.columns) == list(expected.columns)
    assert dict(got.dtypes) == dict(expected.dtypes)
    assert got["id"].tolist() == expected["id"].tolist()
    for column in expected.columns:
        assert got[column].tolist() == pytest.approx(expected[column].tolist(), nan_ok=True) \
            if expected[column].dtype == np.float64 else \
            got[column].tolist() == expected[column].tolist(), column


@pytest.fixture(params=["file", "memory"])
def ops(request, tmp_path):
    return modelops.connect(tmp_path / "store" if request.param == "file" else "memory://")


@pytest.mark.parametrize(("since", "until", "version"), [
    (None, None, None), (T0 + 5 * HOUR + 1, T0 + 15 * HOUR, "2.0.0")])
def test_a_dask_read_is_the_in_process_read(ops, since, until, version):
    log_days(ops)
    table = ops.predictions.read("fraud", version=version, since=since, until=until)
    frame = ops.predictions.read("fraud", version=version, since=since, until=until,
                                 engine="dask")
    if since is not None:  # a partition for each of the 10 parts that meet the window
        assert ops.predictions.read("fraud", version=version, since=since, until=until,
                                    with_feedback=False, engine="dask").npartitions == 10
    check_same(frame, table)
    assert (frame["actual"].notnull().sum().compute()
            == table.has_feedback.sum() > 0)


def test_without_feedback_and_without_any(ops):
    log_days(ops, days=1, per_hour=5)
    table = ops.predictions.read("fraud", with_feedback=False)
    check_same(ops.predictions.read("fraud", with_feedback=False, engine="dask"), table)
    empty = ops.predictions.read("other", engine="dask").compute()
    assert len(empty) == 0 and "actual" in empty.columns


def test_an_unknown_engine_is_refused(ops):
    with pytest.raises(InvalidInput, match="engine"):
        ops.predictions.read("fraud", engine="spark")


def test_without_dask_the_error_names_the_extra(ops, monkeypatch):
    monkeypatch.setitem(sys.modules, "dask.dataframe", None)
    with pytest.raises(MissingDependency, match="dask"):
        ops.predictions.read("fraud", engine="dask")
