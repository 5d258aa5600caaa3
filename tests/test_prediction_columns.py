"""Predictions logged as columns (``log_columns``): Parquet parts that read back as the JSON
lines of the same records would, every value checked before any is logged, and the logger's
guarantees (retries, drop policies, spilling) kept for rows as for lines."""

import glob
import math
import time
import warnings

import numpy as np
import pytest
from test_predictions import FlakyStore

import modelops
from modelops import InvalidInput
from modelops.predictions import PredictionLogger
from modelops.predictions import columns as columns_module

N = 1_500   # more than PARQUET_MIN_ROWS: the rows of one call make a Parquet part


def _frame(n: int = N) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    amount = rng.normal(100, 30, n)
    amount[::97] = np.nan
    amount[5] = np.inf
    city = np.array([None if i % 50 == 0 else f"c{i % 7}" for i in range(n)], dtype=object)
    city[3] = "Zürich \"quoted\"\n"
    return {"amount": amount, "count": np.arange(n, dtype=np.int64) - 10,
            "ok": np.arange(n) % 3 == 0, "city": city}


def _predictions(n: int = N) -> tuple[list, list]:
    predictions = [int(i % 2) for i in range(n)]
    probabilities = [None if i % 11 == 0 else (i % 100) / 100 for i in range(n)]
    probabilities[7] = float("inf")
    return predictions, probabilities


def _as_records(frame: dict[str, np.ndarray]) -> list[dict]:
    names = list(frame)
    return [dict(zip(names, row)) for row in zip(*(frame[k].tolist() for k in names))]


def _plain(values) -> list:
    return [None if isinstance(v, float) and math.isnan(v) else v for v in list(values)]


def _same_rows(a, b) -> None:
    for name in ("versions", "predictions", "probabilities", "latency_ms", "metadata"):
        assert _plain(getattr(a, name)) == _plain(getattr(b, name)), name
    assert sorted(a.features) == sorted(b.features)
    for name in a.features:
        assert _plain(a.features[name]) == _plain(b.features[name]), name


def _parts(root, fmt: str) -> list[str]:
    return glob.glob(str(root / "predictions" / "m" / "date=*" / f"*.{fmt}"))


def _arrays(predictions: list, probabilities: list) -> tuple[np.ndarray, np.ndarray]:
    """The predictions and probabilities as a served model gives them: numpy arrays, a
    missing probability as NaN."""
    return np.array(predictions), np.array(probabilities, dtype=np.float64)


@pytest.mark.parametrize("given_as", ["lists", "arrays"])
@pytest.mark.parametrize("engine", ["arrow", "python"])
def test_rows_logged_as_columns_read_back_as_the_same_records_logged_as_lines(tmp_path,
                                                                              engine,
                                                                              given_as):
    pytest.importorskip("pyarrow")
    frame, (predictions, probabilities) = _frame(), _predictions()
    metadata = {"route": "champion", "trace": [{"id": "x"}]}
    as_lines, as_columns = tmp_path / "lines", tmp_path / "columns"
    with modelops.connect(as_lines).predictions.logger("m", version="2") as log:
        log.log_records(_as_records(frame), predictions, probabilities, latency_ms=1.5,
                        metadata=metadata)
    if given_as == "arrays":
        predictions, probabilities = _arrays(predictions, probabilities)
    with modelops.connect(as_columns).predictions.logger("m", version="2") as log:
        ids = log.log_columns(frame, predictions, probabilities, latency_ms=1.5,
                              metadata=metadata)
    assert len(_parts(as_columns, "parquet")) == 1 and not _parts(as_columns, "jsonl")
    assert len(ids) == N == len(set(ids)) and ids == sorted(ids)
    lines = modelops.connect(as_lines).predictions.read("m", engine=engine)
    table = modelops.connect(as_columns).predictions.read("m", engine=engine)
    assert table.ids.tolist() == ids
    _same_rows(table, lines)
    # As the JSON encoding does, NaN and ±inf are stored as nulls.
    assert table.features["amount"][5] != table.features["amount"][5]
    assert math.isnan(table.probabilities[7]) and table.features["city"][0] is None
    assert table.features["city"][3] == "Zürich \"quoted\"\n"


def test_calls_of_arrays_and_of_lists_share_a_part_and_read_back_as_lines(tmp_path):
    """One part from calls that gave numpy arrays (float predictions with NaN and ±inf,
    boolean ones, int probabilities) and calls that gave lists: the same records as the JSON
    lines of each."""
    pytest.importorskip("pyarrow")
    frame = _frame(500)
    scores = np.linspace(-1, 1, 500)
    scores[[3, 4, 5]] = [np.nan, np.inf, -np.inf]
    calls = [(scores, np.arange(500) % 2), (scores.tolist(), [0.5] * 500),
             (np.arange(500) > 250, None), (scores, np.arange(500) % 2)]
    as_lines, as_columns = tmp_path / "lines", tmp_path / "columns"
    with modelops.connect(as_lines).predictions.logger("m") as log:
        for predictions, probabilities in calls:
            log.log_records(_as_records(frame), np.asarray(predictions).tolist(),
                            None if probabilities is None else
                            np.asarray(probabilities, dtype=float).tolist())
    with modelops.connect(as_columns).predictions.logger("m") as log:
        for predictions, probabilities in calls:
            log.log_columns(frame, predictions, probabilities)
    assert len(_parts(as_columns, "parquet")) == 1 and not _parts(as_columns, "jsonl")
    table = modelops.connect(as_columns).predictions.read("m", engine="python")
    _same_rows(table, modelops.connect(as_lines).predictions.read("m", engine="python"))
    assert _plain(table.predictions[3:6]) == [None] * 3


@pytest.mark.parametrize("ids", [["a" * 32, "b" * 32], ["a" * 31, "b" * 33],
                                 ["é" * 32, "b" * 32], ["a" * 31 + "é", "b" * 32]])
def test_the_id_column_holds_each_id_as_it_was(ids):
    pa = pytest.importorskip("pyarrow")
    rows = columns_module.Rows(ids, 0, {"x": np.arange(2.0)}, np.arange(2), None, None, None,
                               0)
    assert columns_module.table(pa, [rows], None)["id"].to_pylist() == ids


@pytest.mark.parametrize("bad", [np.array(["a", "b"]), np.array([True, False])])
def test_probabilities_given_as_an_array_must_be_numbers(tmp_path, bad):
    with modelops.connect(tmp_path).predictions.logger("m") as log, \
            pytest.raises(InvalidInput, match="probabilities"):
        log.log_columns({"x": np.arange(2.0)}, np.arange(2), bad)


def test_feedback_joins_rows_logged_as_columns(tmp_path):
    pytest.importorskip("pyarrow")
    ops = modelops.connect(tmp_path)
    with ops.predictions.logger("m", version="1") as log:
        ids = log.log_columns(_frame(), *_predictions())
        log.feedback_batch(ids[:10], [1] * 10)
    table = ops.predictions.read("m")
    assert table.has_feedback.sum() == 10 and table.actuals[:10].tolist() == [1] * 10


def test_duckdb_reads_the_parquet_parts_with_their_day(tmp_path):
    duckdb = pytest.importorskip("duckdb")
    pytest.importorskip("pyarrow")
    with modelops.connect(tmp_path).predictions.logger("m", version="1") as log:
        log.log_columns(_frame(), *_predictions(), latency_ms=2.0)
    assert len(_parts(tmp_path, "parquet")) == 1
    rows = duckdb.sql(
        f"select count(*), sum(features.count), min(version), max(latency_ms), "
        f"count(date) from read_parquet('{tmp_path}/predictions/m/date=*/*.parquet', "
        f"hive_partitioning = true)").fetchall()
    assert rows == [(N, sum(range(-10, N - 10)), "1", 2.0, N)]


@pytest.mark.parametrize("why", ["few rows", "no pyarrow", "mixed types"])
def test_rows_are_written_as_json_lines_when_parquet_does_not_serve(tmp_path, monkeypatch,
                                                                    why):
    frame, (predictions, probabilities) = _frame(), _predictions()
    if why == "few rows":
        frame = {k: v[:20] for k, v in frame.items()}
        predictions, probabilities = predictions[:20], probabilities[:20]
    elif why == "no pyarrow":
        monkeypatch.setattr(columns_module, "arrow", lambda: None)
    else:
        predictions = ["high" if i == 3 else p for i, p in enumerate(predictions)]
    with modelops.connect(tmp_path).predictions.logger("m") as log:
        ids = log.log_columns(frame, predictions, probabilities)
    assert _parts(tmp_path, "jsonl") and not _parts(tmp_path, "parquet")
    table = modelops.connect(tmp_path).predictions.read("m", engine="python")
    assert table.ids.tolist() == ids and _plain(table.predictions) == predictions
    assert _plain(table.features["count"]) == frame["count"].tolist()


def test_every_value_is_checked_before_any_is_logged(tmp_path):
    ops = modelops.connect(tmp_path)
    good = {"x": np.array([1.0, 2.0])}
    with ops.predictions.logger("m") as log:
        for args, kwargs, field in (
                (([[1.0, 2.0]], [0, 1]), {}, "features"),
                (({"x": [1.0]}, [0, 1]), {}, "features['x']"),
                (({"x": np.ones((2, 2))}, [0, 1]), {}, "features['x']"),
                (({"x": np.array([object(), 1], dtype=object)}, [0, 1]), {},
                 "features['x']"),
                (({1: [1.0, 2.0]}, [0, 1]), {}, "features"),
                ((good, [object(), 1]), {}, "predictions"),
                ((good, "ab"), {}, "predictions"),
                ((good, [0, 1], [0.5]), {}, "probabilities"),
                ((good, [0, 1], [0.5, "high"]), {}, "probabilities"),
                ((good, [0, 1], [0.5, True]), {}, "probabilities"),
                ((good, [0, 1]), {"latency_ms": "slow"}, "latency_ms"),
                ((good, [0, 1]), {"metadata": ["not a mapping"]}, "metadata"),
                ((good, [0, 1]), {"metadata": {"x": object()}}, "metadata")):
            with pytest.raises(InvalidInput) as raised:
                log.log_columns(*args, **kwargs)
            assert raised.value.field == field, (args, kwargs)
        assert log.stats.logged == 0
        assert log.log_columns({"x": np.array([])}, []) == []
    assert len(ops.predictions.read("m")) == 0


def test_rows_wait_out_a_store_outage_and_are_written_once(tmp_path):
    pytest.importorskip("pyarrow")
    ops = modelops.connect(tmp_path)
    flaky = FlakyStore(ops.predictions.store)
    flaky.down.set()
    log = PredictionLogger(flaky, "m", flush_every=0.05, max_retry_delay=0.1)
    ids = log.log_columns(_frame(), *_predictions())
    ids += log.log_records([{"amount": 1.0}], [1])
    assert not log.flush(timeout=0.5)
    assert log.stats.pending == N + 1 and log.stats.retries >= 1
    flaky.down.clear()
    assert log.close(timeout=10)
    assert log.stats.written == N + 1 and log.stats.dropped == 0
    assert ops.predictions.read("m").ids.tolist() == ids
    assert len(_parts(tmp_path, "parquet")) == 1 and len(_parts(tmp_path, "jsonl")) == 1


@pytest.mark.filterwarnings("ignore:modelops. the prediction buffer:RuntimeWarning")
def test_a_full_buffer_drops_whole_calls_of_rows_and_counts_each_record(tmp_path):
    ops = modelops.connect(tmp_path)
    flaky = FlakyStore(ops.predictions.store)
    flaky.down.set()
    log = PredictionLogger(flaky, "m", max_buffer=1_000, flush_every=0.05,
                           max_retry_delay=0.05)
    # The drops are made (and reported) by this call, or by the writer putting back a batch
    # it failed to write: whichever meets the full buffer first.
    calls = [log.log_columns({"i": np.full(100, i)}, [i] * 100) for i in range(15)]
    deadline = time.monotonic() + 10
    while log.stats.retries < 1 and time.monotonic() < deadline:   # what was in flight
        time.sleep(0.01)                                           # is back in the buffer
    assert log.stats.dropped == 500 and log.stats.logged == 1_500
    assert log.stats.pending <= 1_000
    flaky.down.clear()
    assert log.close(timeout=10)
    table = ops.predictions.read("m")
    assert table.ids.tolist() == [rid for ids in calls[5:] for rid in ids]

    # A call with more rows than a batch is split into batches: the oldest are dropped.
    flaky.down.set()
    big = PredictionLogger(flaky, "big", max_buffer=300, batch_size=100, flush_every=0.05,
                           max_retry_delay=0.05)
    ids = big.log_columns({"i": np.arange(1_000)}, np.arange(1_000))
    assert big.stats.dropped == 700
    flaky.down.clear()
    assert big.close(timeout=10)
    table = ops.predictions.read("big")
    assert table.ids.tolist() == ids[700:] and table.predictions.tolist() == list(range(700,
                                                                                    1_000))


@pytest.mark.parametrize("given_as", ["lists", "arrays"])
def test_rows_a_closing_logger_cannot_write_are_spilled_and_written_by_the_next(tmp_path,
                                                                                monkeypatch,
                                                                                given_as):
    monkeypatch.setenv("MODELOPS_SPILL_DIR", str(tmp_path / "spill"))
    ops = modelops.connect(tmp_path / "store")
    flaky = FlakyStore(ops.predictions.store)
    flaky.down.set()
    log = PredictionLogger(flaky, "m", version="3", flush_every=0.05, close_timeout=0.3)
    frame, (predictions, probabilities) = _frame(50), _predictions(50)
    given = _arrays(predictions, probabilities) if given_as == "arrays" else \
        (predictions, probabilities)
    ids = log.log_columns(frame, *given, latency_ms=4.0)
    with pytest.warns(RuntimeWarning, match=r"50 records of 'm' could not be written.*spill"):
        assert log.close() is False
    assert log.stats.spilled == 50
    flaky.down.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        PredictionLogger(flaky, "m").close()
    table = ops.predictions.read("m")
    assert table.ids.tolist() == ids and set(table.versions) == {"3"}
    assert _plain(table.predictions) == predictions
    assert _plain(table.probabilities) == [p if p is not None and math.isfinite(p) else None
                                           for p in probabilities]   # ±inf stored as null
    assert _plain(table.features["count"]) == frame["count"].tolist()
    assert not glob.glob(str(tmp_path / "spill" / "**" / "*.jsonl"), recursive=True)


def test_listeners_get_the_table_of_a_parquet_part(tmp_path):
    pytest.importorskip("pyarrow")
    from modelops import plugins
    from modelops.hookspecs import hookimpl

    seen = []

    class Listener:
        @hookimpl
        def modelops_predictions_written(self, kind, records, table):
            seen.append((kind, len(records), table, records[3]))

    listener = Listener()
    plugins.manager().register(listener)
    try:
        with modelops.connect(tmp_path).predictions.logger("m", version="1") as log:
            ids = log.log_columns(_frame(), *_predictions(), latency_ms=3.0)
    finally:
        plugins.manager().unregister(listener)
    ((kind, count, table, line),) = seen
    assert kind == "predictions" and count == N and table.num_rows == N
    assert table.column("id").to_pylist() == ids
    # The records, should a listener read them, are the lines of the same rows.
    import json

    record = json.loads(line)
    assert record["id"] == ids[3] and record["latency_ms"] == 3.0
    assert list(record) == ["id", "ts", "version", "prediction", "probability",
                            "latency_ms", "features", "metadata"]


def test_what_the_caller_changes_after_the_call_is_not_what_was_logged(tmp_path):
    pytest.importorskip("pyarrow")
    ops = modelops.connect(tmp_path)
    frame, (predictions, probabilities) = _frame(), _predictions()
    sent = {k: v.copy() for k, v in frame.items()}
    metadata = {"route": "a", "tags": ["x"]}
    predictions, probabilities = _arrays(predictions, probabilities)
    with ops.predictions.logger("m") as log:
        ids = log.log_columns(frame, predictions, probabilities, metadata=metadata)
        first = list(ids)
        # A caller that reuses its buffers, and extends the list of ids it was given:
        for column in frame.values():
            column[:] = column[::-1]
        predictions[:] = 9
        probabilities[:] = 0.0
        metadata["tags"].append("changed")
        ids += ["not", "logged"]
    table = ops.predictions.read("m")
    assert table.ids.tolist() == first and table.predictions.tolist() == [i % 2 for i in
                                                                            range(N)]
    assert table.probabilities[1] == 0.01
    assert _plain(table.features["count"]) == sent["count"].tolist()
    assert table.metadata[0] == {"route": "a", "tags": ["x"]}


def test_a_day_of_parquet_and_json_parts_compacts_to_the_same_records(tmp_path):
    pa = pytest.importorskip("pyarrow")
    from modelops._ids import new_ids
    from modelops.predictions.columns import Rows, parquet_bytes, table

    ops = modelops.connect(tmp_path)
    day, t0 = "2026-09-21", 1_789_948_800_000 + 3_600_000
    frame, (predictions, probabilities) = _frame(), _predictions()
    # A part as the writer stores rows logged as columns, that day, beside JSON lines.
    rows = Rows(new_ids(N), t0, frame, predictions, probabilities, 2.0, None, 0)
    ops.predictions.store.write_part("m", "predictions", day,
                                     parquet_bytes(table(pa, [rows], "1")),
                                     span=(t0, t0), fmt="parquet")
    with ops.predictions.logger("m", version="1") as log:
        log.log({"amount": 1.0}, 1, timestamp=t0 + 5)
    before = ops.predictions.read("m")
    assert len(before) == N + 1
    ops.predictions.compact("m", day)
    (part,) = ops.predictions.store.list_parts("m", "predictions")
    assert part.fmt == "parquet" and part.name.startswith("compact-")
    after = ops.predictions.read("m")
    order = np.argsort(before.timestamps, kind="stable")
    assert after.ids.tolist() == before.ids[order].tolist()
    for name in ("predictions", "probabilities", "latency_ms"):
        assert _plain(getattr(after, name)) == _plain(getattr(before, name)[order]), name
    for name in frame:
        assert _plain(after.features[name]) == _plain(before.features[name][order]), name
