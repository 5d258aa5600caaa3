"""The prediction logger against a store that is down: backoff that holds whoever waits, a
close that returns, what it could not write spilled and replayed once, and a buffer bounded
in bytes."""

import glob
import json
import os
import time
import warnings

import pytest
from test_predictions import FlakyStore

import modelops
from modelops import StoreError
from modelops.predictions import PredictionLogger

T0 = 1_790_000_000_000


@pytest.fixture
def down(tmp_path, monkeypatch):
    monkeypatch.setenv("MODELOPS_SPILL_DIR", str(tmp_path / "spill"))
    ops = modelops.connect(tmp_path / "store")
    store = FlakyStore(ops.predictions.store)
    store.down.set()                        # down from the start
    return ops, store


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_caller_waiting_in_flush_does_not_turn_backoff_into_a_busy_loop(down):
    _, store = down
    log = PredictionLogger(store, "m", flush_every=0.05, max_retry_delay=1.0)
    log.log({"x": 1}, 1, timestamp=T0)
    started = time.monotonic()
    assert not log.flush(timeout=3)
    assert time.monotonic() - started >= 2.9
    # Backoff 0.1, 0.2, 0.4, 0.8, 1.0 … s: a handful of tries in 3 s, whoever waits.
    assert store.calls <= 10, store.calls
    store.down.clear()
    assert log.close(timeout=10)


def test_close_returns_while_the_store_is_down_and_spills_what_it_could_not_write(down):
    ops, store = down
    log = PredictionLogger(store, "m", flush_every=0.05, close_timeout=0.5)
    ids = [log.log({"x": i}, i, timestamp=T0 + i) for i in range(5)]
    log.feedback(ids[0], 1, timestamp=T0 + 10)
    started = time.monotonic()
    with pytest.warns(RuntimeWarning, match=r"6 records of 'm' could not be written.*spill"):
        assert log.close() is False
    assert time.monotonic() - started < 5
    assert log.stats.spilled == 6 and log.stats.pending == 0
    (spilled,) = glob.glob(str(os.environ["MODELOPS_SPILL_DIR"] + "/**/*.jsonl"),
                           recursive=True)
    assert ops.predictions.read("m").ids.tolist() == []
    # The next logger of the model writes them first; once, and the spill file goes.
    store.down.clear()
    with PredictionLogger(store, "m") as again:
        newer = again.log({"x": 9}, 9, timestamp=T0 + 100)
    table = ops.predictions.read("m")
    assert table.ids.tolist() == [*ids, newer]
    assert table.actuals.tolist()[0] == 1
    assert not os.path.exists(spilled)


def test_a_replay_interrupted_halfway_writes_nothing_twice(down, monkeypatch):
    ops, store = down
    log = PredictionLogger(store, "m", close_timeout=0.2, batch_size=2)
    ids = [log.log({"x": i}, i, timestamp=T0 + i) for i in range(6)]
    with pytest.warns(RuntimeWarning, match="spill"):
        log.close()
    store.down.clear()
    # A replay that dies after writing some of the spilled parts (the store fails midway):
    real, written = store.store.write_part, []

    def fail_after_one(*args, **kwargs):
        if written:
            raise StoreError("down again")
        written.append(real(*args, **kwargs))
        return written[-1]

    monkeypatch.setattr(store.store, "write_part", fail_after_one)
    first = PredictionLogger(store, "m", close_timeout=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first.close()
    monkeypatch.setattr(store.store, "write_part", real)
    with PredictionLogger(store, "m"), PredictionLogger(store, "m"):
        pass  # two loggers replaying the same file at once
    assert sorted(ops.predictions.read("m").ids.tolist()) == sorted(ids)


def test_the_drop_policy_drops_what_a_closing_logger_could_not_write(down):
    _, store = down
    log = PredictionLogger(store, "m", close_timeout=0.2, unwritten="drop")
    for i in range(3):
        log.log({"x": i}, i, timestamp=T0 + i)
    with pytest.warns(RuntimeWarning, match="3 records of 'm' could not be written.*dropped"):
        assert log.close() is False
    assert log.stats.dropped == 3 and not glob.glob(
        str(os.environ["MODELOPS_SPILL_DIR"] + "/**/*.jsonl"), recursive=True)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_the_buffer_is_bounded_in_bytes(down):
    _, store = down
    log = PredictionLogger(store, "m", max_buffer_bytes=1 << 20, flush_every=60,
                           close_timeout=0.1, unwritten="drop")
    blob = "x" * 4000
    for i in range(1000):  # 4 MB of records
        log.log({"blob": blob}, i, timestamp=T0 + i)
    stats = log.stats
    assert stats.pending * 4000 <= 1 << 20 and stats.dropped >= 1000 - (1 << 20) // 4000
    with pytest.raises(modelops.InvalidInput, match="max_buffer_bytes"):
        log.log({"blob": "x" * (2 << 20)}, 0)
    log.close()


def test_spill_files_of_another_store_are_left_alone(down, tmp_path):
    _, store = down
    log = PredictionLogger(store, "m", close_timeout=0.2)
    log.log({"x": 1}, 1, timestamp=T0)
    with pytest.warns(RuntimeWarning):
        log.close()
    other = modelops.connect(tmp_path / "other")
    with other.predictions.logger("m"):
        pass
    assert len(other.predictions.read("m")) == 0
    (spilled,) = glob.glob(str(os.environ["MODELOPS_SPILL_DIR"] + "/**/*.jsonl"),
                           recursive=True)
    with open(spilled) as f:
        assert json.loads(f.readline())["store"] == store.uri
