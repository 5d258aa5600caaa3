"""Prediction logging and reading: behaviour, formats, crashes, failing storage, processes."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import warnings

import numpy as np
import pytest
from conftest import python_env

import modelops
from modelops import Conflict, InvalidInput, StoreError, StoreWarning
from modelops.predictions.reader import read_predictions

DAY = 86_400_000
T0 = 1_790_000_000_000 - 1_790_000_000_000 % DAY  # midnight UTC


@pytest.fixture(params=["file", "memory"])
def ops(request, tmp_path):
    return modelops.connect(tmp_path / "store" if request.param == "file" else "memory://")


def test_log_feedback_and_read_back(ops):
    with ops.predictions.logger("fraud", version="1.2.0") as log:
        a = log.log({"age": 41, "country": "DE", "checked": True}, "HIGH", probability=0.95,
                    latency_ms=3.5, timestamp=T0 + 10, metadata={"request": "r1"})
        b = log.log({"age": 22, "country": "FR", "checked": False}, "LOW", timestamp=T0 + 20)
        c = log.log({"age": 35, "country": "DE", "extra": True, "checked": True}, "LOW",
                    id="my-id",
                    timestamp=T0 + DAY + 5)
        log.feedback(a, "LOW", timestamp=T0 + 100)
        log.feedback(a, "HIGH", timestamp=T0 + 200)  # the latest feedback wins
        log.feedback(c, "LOW", timestamp=T0 + DAY + 50)
    assert c == "my-id" and len({a, b, c}) == 3
    for engine in ("arrow", "python"):
        t = read_predictions(ops.predictions.store, "fraud", engine=engine)
        assert t.ids.tolist() == [a, b, c]
        assert t.predictions.tolist() == ["HIGH", "LOW", "LOW"]
        assert t.actuals.tolist() == ["HIGH", None, "LOW"]
        assert t.has_feedback.tolist() == [True, False, True]
        assert t.feedback_timestamps[0] == T0 + 200
        assert t.features["age"].tolist() == [41, 22, 35]
        assert t.features["country"].tolist() == ["DE", "FR", "DE"]
        assert t.features["extra"].tolist() == [None, None, True]  # with gaps: objects
        assert t.features["checked"].dtype == bool
        assert t.probabilities[0] == 0.95 and np.isnan(t.probabilities[1])
        assert t.latency_ms[0] == 3.5 and t.versions.tolist() == ["1.2.0"] * 3
        assert t.metadata[0] == {"request": "r1"} and t.metadata[1] is None
    day1 = ops.predictions.read("fraud", since=T0, until=T0 + DAY)
    assert day1.ids.tolist() == [a, b]
    assert ops.predictions.read("fraud", version="9.9.9").ids.tolist() == []
    assert ops.predictions.recent("fraud", limit=2, days=100_000).ids.tolist() == [c, b]
    assert ops.predictions.models() == ["fraud"]


def test_feedback_joins_alike_in_every_engine_and_batch(tmp_path):
    """Each row gets its id's newest feedback — of equal times the one logged last — in
    Arrow batches of any size as line by line: ids logged twice, feedback out of order, tied,
    for ids never predicted, in another batch than its prediction."""
    ops = modelops.connect(tmp_path / "store")
    rng = np.random.default_rng(7)
    with ops.predictions.logger("m", version="v1", batch_size=50) as log:
        ids = [log.log({"x": float(i)}, "A", timestamp=T0 + i, id=f"p{i % 150}")
               for i in range(200)]                          # p0..p49 twice
        for i in rng.permutation(150):
            if i % 3:
                log.feedback(f"p{i}", f"a{i}", timestamp=T0 + 1_000 + int(i) % 7)
        for i in range(0, 150, 4):                           # a tie: logged last, so it wins
            log.feedback(f"p{i}", f"b{i}", timestamp=T0 + 1_000 + i % 7)
        log.feedback("never-predicted", "z", timestamp=T0 + 1_000)
    want = {}
    for i in range(150):
        if i % 4 == 0:
            want[f"p{i}"] = (f"b{i}", T0 + 1_000 + i % 7)
        elif i % 3:
            want[f"p{i}"] = (f"a{i}", T0 + 1_000 + i % 7)
    tables = [read_predictions(ops.predictions.store, "m", engine="python")] + [
        read_predictions(ops.predictions.store, "m", engine="arrow", batch_bytes=size)
        for size in (1, 2_000, 1 << 20)]
    for table in tables:
        assert table.ids.tolist() == ids
        assert table.actuals.tolist() == [want.get(i, (None,))[0] for i in ids]
        assert [None if np.isnan(t) else int(t) for t in table.feedback_timestamps] == \
            [want.get(i, (None, None))[1] for i in ids]


def test_log_batch_and_feedback_batch(ops):
    features = {"x": np.arange(5.0), "k": np.array(list("abcde"))}
    with ops.predictions.logger("m") as log:
        ids = log.log_batch(features, np.array([0, 1, 0, 1, 1]),
                            probabilities=np.linspace(0, 1, 5),
                            timestamps=[T0 + i for i in range(5)])
        log.feedback_batch(ids[:3], [0, 0, 0])
        with pytest.raises(InvalidInput, match="rows for 2 predictions"):
            log.log_batch(features, [0, 1])
    t = ops.predictions.read("m")
    assert t.ids.tolist() == ids and t.features["k"].tolist() == list("abcde")
    assert t.predictions.tolist() == [0, 1, 0, 1, 1]
    assert t.actuals.tolist() == [0, 0, 0, None, None]
    frame = t.to_pandas()
    assert list(frame["features.x"]) == [0, 1, 2, 3, 4]


def test_hive_partitions_read_by_duckdb(tmp_path):
    duckdb = pytest.importorskip("duckdb")
    ops = modelops.connect(tmp_path)
    with ops.predictions.logger("fraud", version="1") as log:
        for i in range(6):
            rid = log.log({"amount": i * 10.0, "nan": float("nan")}, "HIGH" if i % 2 else "LOW",
                          probability=0.5, timestamp=T0 + (i % 2) * DAY + i)
            log.feedback(rid, "LOW", timestamp=T0 + (i % 2) * DAY + i + 1)
    root = tmp_path / "predictions" / "fraud"
    rows = duckdb.sql(
        f"select date, count(*) as n, sum(features.amount) as total "
        f"from read_json('{root}/date=*/*.jsonl', hive_partitioning = true) "
        f"group by date order by date").fetchall()
    assert [(str(d), n, t) for d, n, t in rows] == [
        ("2026-09-21", 3, 60.0), ("2026-09-22", 3, 90.0)]
    joined = duckdb.sql(
        f"select count(*) from read_json('{root}/date=*/*.jsonl') p "
        f"join read_json('{root}/feedback/date=*/*.jsonl') f using (id)").fetchall()
    assert joined == [(6,)]


def test_nan_and_numpy_values_become_strict_json(tmp_path):
    ops = modelops.connect(tmp_path)
    with ops.predictions.logger("m") as log:
        log.log({"a": np.float64("nan"), "b": np.int64(3), "c": np.array([1, 2])},
                np.float32(0.5), probability=float("inf"), timestamp=T0)
        with pytest.raises(InvalidInput, match="features"):
            log.log({"bad": object()}, 1)
        with pytest.raises(InvalidInput, match="probability"):
            log.log({}, 1, probability="high")
        with pytest.raises(InvalidInput, match="features"):
            log.log([1, 2], 1)
        with pytest.raises(InvalidInput, match="id"):
            log.log({}, 1, id="")
    (part,) = [os.path.join(d, f) for d, _, fs in os.walk(tmp_path / "predictions") for f in fs]
    with open(part) as f:
        record = json.loads(f.read(), parse_constant=lambda c: pytest.fail(c))
    assert record["features"] == {"a": None, "b": 3, "c": [1, 2]}
    assert record["probability"] is None and record["prediction"] == 0.5


def test_bad_options_and_closed_logger(ops):
    for kwargs in ({"drop_policy": "random"}, {"max_buffer": 0}, {"flush_every": -1},
                   {"batch_size": "x"}):
        with pytest.raises(InvalidInput):
            ops.predictions.logger("m", **kwargs)
    with pytest.raises(InvalidInput, match="model"):
        ops.predictions.logger("../escape")
    log = ops.predictions.logger("m")
    log.close()
    with pytest.raises(Conflict, match="closed"):
        log.log({}, 1)


class FlakyStore:
    """Wraps a store; fails writes while ``down`` is set (a fault the store cannot cause)."""

    def __init__(self, store):
        self.store = store
        self.down = threading.Event()
        self.calls = 0

    def write_part(self, *args, **kwargs):
        self.calls += 1
        if self.down.is_set():
            raise StoreError("storage unreachable")
        return self.store.write_part(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.store, name)


def test_storage_failure_is_retried_and_nothing_is_lost(tmp_path):
    ops = modelops.connect(tmp_path)
    flaky = FlakyStore(ops.predictions.store)
    log = modelops.predictions.PredictionLogger(flaky, "m", flush_every=0.05,
                                                max_retry_delay=0.1)
    flaky.down.set()
    ids = [log.log({"i": i}, i, timestamp=T0 + i) for i in range(500)]
    assert not log.flush(timeout=0.5)
    stats = log.stats
    assert stats.pending == 500 and stats.retries >= 1 and "unreachable" in stats.last_error
    flaky.down.clear()
    assert log.flush(timeout=10)
    log.close()
    assert log.stats.written == 500 and log.stats.dropped == 0
    assert ops.predictions.read("m").ids.tolist() == ids


def test_full_buffer_drops_are_counted_and_reported(tmp_path):
    ops = modelops.connect(tmp_path)
    flaky = FlakyStore(ops.predictions.store)
    flaky.down.set()
    log = modelops.predictions.PredictionLogger(flaky, "m", max_buffer=100, batch_size=10,
                                                flush_every=0.05, max_retry_delay=0.05)
    with pytest.warns(RuntimeWarning, match="dropping the oldest"):
        for i in range(150):
            log.log({"i": i}, i, timestamp=T0 + i)
    assert log.stats.dropped == 50 and log.stats.logged == 150
    flaky.down.clear()
    assert log.close(timeout=10)
    got = ops.predictions.read("m").predictions.tolist()
    assert got == list(range(50, 150))  # the newest 100 survive, in order

    newest = modelops.predictions.PredictionLogger(flaky, "n", max_buffer=10, batch_size=10,
                                                   drop_policy="newest")
    flaky.down.set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(15):
            newest.log({"i": i}, i, timestamp=T0 + i)
    assert newest.stats.dropped == 5 and newest.stats.pending <= 10
    flaky.down.clear()
    newest.close(timeout=10)
    assert ops.predictions.read("n").predictions.tolist() == list(range(10))


def test_block_policy_waits_for_room(tmp_path):
    ops = modelops.connect(tmp_path)
    flaky = FlakyStore(ops.predictions.store)
    flaky.down.set()
    log = modelops.predictions.PredictionLogger(flaky, "m", max_buffer=20, batch_size=20,
                                                drop_policy="block", flush_every=0.05,
                                                max_retry_delay=0.05)
    done = threading.Event()

    def producer():
        for i in range(60):
            log.log({"i": i}, i, timestamp=T0 + i)
        done.set()

    threading.Thread(target=producer, daemon=True).start()
    time.sleep(0.5)
    assert not done.is_set()  # blocked while the store is down
    flaky.down.clear()
    assert done.wait(10) and log.close(timeout=10)
    assert ops.predictions.read("m").predictions.tolist() == list(range(60))
    assert log.stats.dropped == 0


def test_the_writer_keeps_its_pace_beside_a_busy_caller(tmp_path):
    """A caller that keeps the GIL but lets go of it for moments — a scikit-learn model
    called with a DataFrame, in a loop — left the writer waiting for the GIL without end:
    nothing written for as long as the loop ran, then the buffer full and records dropped.
    The writer now writes on its schedule, and the buffer stays bounded by it."""
    pd = pytest.importorskip("pandas")
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(200, 4)), columns=list("abcd"))
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(frame, frame["a"] > 0)
    row = frame.head(1)
    ops = modelops.connect(tmp_path / "store")
    with ops.predictions.logger("m", flush_every=0.1) as log:
        start = time.monotonic()
        first_write = None
        while time.monotonic() - start < 1.5:
            log.log(row.iloc[0].to_dict(), int(model.predict_proba(row)[0].argmax()))
            if first_write is None and log.stats.written:
                first_write = time.monotonic() - start
        logged = log.stats.logged
    assert first_write is not None and first_write < 1.0, first_write
    assert log.stats.dropped == 0 and len(ops.predictions.read("m")) == logged


def test_many_threads_log_without_loss(tmp_path):
    ops = modelops.connect(tmp_path)
    log = ops.predictions.logger("m", batch_size=500, flush_every=0.05)

    def work(t):
        for i in range(2000):
            log.log({"t": t}, t * 10_000 + i, timestamp=T0 + i)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    log.close()
    got = ops.predictions.read("m").predictions.tolist()
    assert sorted(got) == sorted(t * 10_000 + i for t in range(8) for i in range(2000))


def test_compaction_and_retention(tmp_path):
    pytest.importorskip("pyarrow")
    ops = modelops.connect(tmp_path)
    with ops.predictions.logger("m", batch_size=7) as log:
        for day in range(3):
            for i in range(20):
                rid = log.log({"x": i}, i, timestamp=T0 + day * DAY + i)
                log.feedback(rid, i % 2, timestamp=T0 + day * DAY + i)
    before = ops.predictions.read("m")
    names = ops.predictions.compact("m", T0)
    assert len(names) == 2 and names[0].endswith(".parquet")
    parts = ops.predictions.store.list_parts("m", "predictions", "2026-09-21", "2026-09-21")
    assert len(parts) == 1 and parts[0].fmt == "parquet"
    after = ops.predictions.read("m")
    assert after.ids.tolist() == before.ids.tolist()
    assert after.actuals.tolist() == before.actuals.tolist()
    py = read_predictions(ops.predictions.store, "m", engine="python")
    assert py.ids.tolist() == before.ids.tolist()
    assert ops.predictions.compact("m", T0 + DAY, fmt="jsonl")
    assert read_predictions(ops.predictions.store, "m").ids.tolist() == before.ids.tolist()
    with pytest.raises(InvalidInput, match="not closed"):
        ops.predictions.compact("m", int(time.time() * 1000))
    assert ops.predictions.delete_before("m", T0 + 2 * DAY) == ["2026-09-21", "2026-09-22"]
    assert len(ops.predictions.read("m")) == 20


def test_interrupted_compaction_never_double_counts(tmp_path):
    ops = modelops.connect(tmp_path)
    with ops.predictions.logger("m", batch_size=5) as log:
        for i in range(20):
            log.log({"x": i}, i, timestamp=T0 + i)
    store = ops.predictions.store
    parts = store.list_parts("m", "predictions")
    folder = tmp_path / "predictions" / "m" / "date=2026-09-21"
    # A compaction that died after writing its data, before its manifest:
    (folder / "compact-0.jsonl").write_text(
        "".join(json.dumps({"id": f"x{i}", "ts": T0, "prediction": -1}) + "\n"
                for i in range(20)))
    assert len(ops.predictions.read("m")) == 20
    # ... and one that died after its manifest, before removing the parts it replaced:
    store.replace_parts("m", "predictions", "2026-09-21",
                        b"".join(store.read_part("m", p) for p in parts), "jsonl", [])
    manifest = next(folder.glob("compacted-*.json"))
    data = json.loads(manifest.read_text())
    data["replaces"] = [p.name for p in parts]
    manifest.write_text(json.dumps(data))
    assert sorted(ops.predictions.read("m").predictions.tolist()) == list(range(20))


@pytest.mark.parametrize("manifest", [
    {"part": "my-notes.jsonl", "replaces": []},           # a file modelops never wrote
    {"part": "compact-99.jsonl", "replaces": []},         # another compaction's part
    {"part": "x"}, [1, 2], {"replaces": 5, "part": "x"}, {"replaces": [], "part": ["a"]},
    {"part": "compact-abc.jsonl", "replaces": ["../../elsewhere.jsonl"]}])
def test_a_compaction_manifest_modelops_did_not_write_is_skipped_and_removes_nothing(
        tmp_path, manifest):
    """A manifest names the part that replaces others. Trusted as it was, one naming a file
    of yours in the day's folder made compact() read it in and remove it; one of another
    shape raised KeyError or TypeError from every read of the day."""
    ops = modelops.connect(tmp_path)
    with ops.predictions.logger("m") as log:
        for i in range(3):
            log.log({"x": i}, i, timestamp=T0 + i)
    folder = tmp_path / "predictions" / "m" / "date=2026-09-21"
    (folder / "my-notes.jsonl").write_text('{"note": "keep me"}\n')
    (folder / "part-notes.txt").write_text("mine too\n")
    (folder / "compacted-abc.json").write_text(json.dumps(manifest))
    with pytest.warns(StoreWarning, match="compacted-abc.json: not a compaction manifest"):
        assert sorted(ops.predictions.read("m").predictions.tolist()) == [0, 1, 2]
    with pytest.warns(StoreWarning):
        ops.predictions.compact("m", "2026-09-21")
    assert (folder / "my-notes.jsonl").read_text() == '{"note": "keep me"}\n'
    assert (folder / "part-notes.txt").read_text() == "mine too\n"
    with pytest.warns(StoreWarning):
        assert sorted(ops.predictions.read("m").predictions.tolist()) == [0, 1, 2]


def test_a_torn_last_line_is_skipped_with_a_warning(tmp_path):
    ops = modelops.connect(tmp_path)
    with ops.predictions.logger("m") as log:
        for i in range(3):
            log.log({"x": i}, i, timestamp=T0 + i)
    (part,) = (tmp_path / "predictions" / "m" / "date=2026-09-21").glob("part-*.jsonl")
    part.write_bytes(part.read_bytes() + b'{"id":"torn","ts":1790000000000,"predi')
    for engine in ("arrow", "python"):
        with pytest.warns(RuntimeWarning, match="skipped 1 unreadable line"):
            table = read_predictions(ops.predictions.store, "m", engine=engine)
        assert table.predictions.tolist() == [0, 1, 2]


KILLED = """
import sys, time, modelops
ops = modelops.connect(sys.argv[1])
log = ops.predictions.logger("m", flush_every=0.05, batch_size=1000)
i = 0
while True:
    log.log({"i": i}, i)
    i += 1
    if i % 5000 == 0:
        log.flush()
        print(i, flush=True)
"""


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.0, 0.02])
def test_sigkill_loses_at_most_the_unflushed_buffer(tmp_path, delay):
    proc = subprocess.Popen([sys.executable, "-c", KILLED, str(tmp_path)],
                            stdout=subprocess.PIPE, text=True, env=python_env())
    for _ in range(3):
        flushed = int(proc.stdout.readline())
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    ops = modelops.connect(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every written file is whole: no torn line
        got = ops.predictions.read("m").predictions.tolist()
    assert len(got) >= flushed
    assert sorted(got) == list(range(len(got)))  # a prefix: nothing lost before the cut


WRITER = """
import sys, modelops
ops = modelops.connect(sys.argv[1])
w = int(sys.argv[2])
with ops.predictions.logger("shared", batch_size=700, flush_every=0.05) as log:
    ids = [log.log({"w": w}, w * 1_000_000 + i) for i in range(20_000)]
    log.feedback_batch(ids[::2], [w] * len(ids[::2]))
"""


@pytest.mark.slow
def test_four_processes_logging_for_one_model_lose_nothing(tmp_path):
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), str(w)],
                              env=python_env()) for w in range(4)]
    for p in procs:
        assert p.wait(timeout=300) == 0
    table = modelops.connect(tmp_path).predictions.read("shared")
    assert sorted(table.predictions.tolist()) == sorted(
        w * 1_000_000 + i for w in range(4) for i in range(20_000))
    assert int(table.has_feedback.sum()) == 4 * 10_000


FORKER = """
import os, sys, modelops
ops = modelops.connect(sys.argv[1])
log = ops.predictions.logger("m", flush_every=60)
log.log({"who": "parent-before"}, 0)
pid = os.fork()
if pid == 0:
    log.log({"who": "child"}, 1)
    log.close()
    os._exit(0)
os.waitpid(pid, 0)
log.log({"who": "parent-after"}, 2)
log.close()
"""


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_fork_child_logs_without_duplicating_the_parents_buffer(tmp_path):
    subprocess.run([sys.executable, "-c", FORKER, str(tmp_path)], check=True, env=python_env(),
                   timeout=120)
    got = modelops.connect(tmp_path).predictions.read("m").predictions.tolist()
    assert sorted(got) == [0, 1, 2]


EXITER = """
import sys, modelops
log = modelops.connect(sys.argv[1]).predictions.logger("m", flush_every=3600)
for i in range(1000):
    log.log({"i": i}, i)
"""


@pytest.mark.slow
def test_interpreter_exit_flushes(tmp_path):
    subprocess.run([sys.executable, "-c", EXITER, str(tmp_path)], check=True, env=python_env(),
                   timeout=120)
    assert len(modelops.connect(tmp_path).predictions.read("m")) == 1000


def test_values_that_change_type_are_read_as_objects(tmp_path):
    ops = modelops.connect(tmp_path)
    with ops.predictions.logger("m") as log:
        log.log({"f": 1}, "a", timestamp=T0, metadata={"error": "timeout"})
        log.log({"f": "s"}, "b", timestamp=T0 + 1, metadata={"error": False})
    table = ops.predictions.read("m")
    assert table.features["f"].tolist() == [1, "s"]
    assert [m["error"] for m in table.metadata] == ["timeout", False]


def test_parts_parsed_together_read_as_each_part_alone(tmp_path):
    # Parts of JSON lines are handed to Arrow a few at a time; parts that do not parse as
    # one input (a value's type changing from part to part, a torn line) fall back on their
    # own, and every row comes back once, in its part's order.
    pytest.importorskip("pyarrow")
    ops = modelops.connect(tmp_path)
    store = ops.predictions.store

    def part(first, rows, value, extra=b""):
        lines = "".join(json.dumps({"id": f"r{i:05d}", "ts": T0 + i, "prediction": value(i),
                                    "features": {"x": i}}) + "\n"
                        for i in range(first, first + rows)).encode()
        store.write_part("m", "predictions", "2026-09-21", lines + extra)

    part(0, 300, lambda i: i)
    part(300, 300, lambda i: i * 0.5)                    # ints, then floats
    part(600, 300, lambda i: None)
    part(900, 300, lambda i: i, extra=b'{"id": "torn", "ts": ')
    part(1200, 300, lambda i: i)
    with pytest.warns(StoreWarning, match="skipped 1 unreadable"):
        arrow = read_predictions(store, "m", engine="arrow", with_feedback=False)
    with pytest.warns(StoreWarning, match="skipped 1 unreadable"):
        python = read_predictions(store, "m", engine="python", with_feedback=False)
    assert sorted(arrow.ids.tolist()) == [f"r{i:05d}" for i in range(1500)]
    order = np.argsort(arrow.timestamps, kind="stable")
    assert (order == np.arange(1500)).all()               # each part's rows in order
    assert arrow.ids.tolist() == python.ids.tolist()
    assert np.array_equal(arrow.features["x"], python.features["x"])
    got = arrow.predictions.tolist()
    assert got[:300] == list(range(300)) and got[300:600] == [i * 0.5 for i in range(300, 600)]
    assert all(v is None or v != v for v in got[600:900])


def _stored_lines(root) -> list[dict]:
    lines = []
    for d, _, files in sorted(os.walk(root / "predictions")):
        for name in sorted(files):
            with open(os.path.join(d, name), "rb") as f:
                data = f.read()
            assert data.isascii()       # the buffer counts characters as bytes
            lines += [json.loads(line, parse_constant=lambda c: pytest.fail(c))
                      for line in data.splitlines()]
    return lines


def test_log_records_writes_what_log_writes_for_each_record(tmp_path):
    records = [{"amount": 12.5, "city": "Zürich", "n": 3, "ok": True},
               {"amount": float("nan"), "city": "b\"\\\n", "n": 2 ** 70, "ok": None},
               {"amount": np.float64(1e-7), "city": "c", "n": np.int64(4), "ok": False},
               {3: "a key that is not a string"}]
    predictions = [1, "high", True, 0.25]
    probabilities = [0.9, np.float32(0.5), None, float("inf")]
    metadata = {"request": "r1", "trace": [{"id": "x"}, {"id": "y"}]}
    one, many = tmp_path / "one", tmp_path / "many"
    with modelops.connect(one).predictions.logger("m", version="2") as log:
        for record, prediction, probability in zip(records, predictions, probabilities):
            log.log(record, prediction, probability, latency_ms=1.5, metadata=metadata)
    with modelops.connect(many).predictions.logger("m", version="2") as log:
        ids = log.log_records(records, predictions, probabilities, latency_ms=1.5,
                              metadata=metadata)
    alone, together = _stored_lines(one), _stored_lines(many)
    assert [line["id"] for line in together] == ids == sorted(ids)
    assert len(set(ids)) == 4 and len({line["ts"] for line in together}) == 1
    for line in alone + together:
        del line["id"], line["ts"]
    assert together == alone
    assert together[1]["features"]["amount"] is None and together[1]["features"]["n"] == 2 ** 70
    read = modelops.connect(many).predictions.read("m")
    assert read.ids.tolist() == ids and read.latency_ms.tolist() == [1.5] * 4


def test_log_records_checks_every_record_before_logging_any(tmp_path):
    ops = modelops.connect(tmp_path)
    with ops.predictions.logger("m") as log:
        good = [{"x": 1.0}, {"x": 2.0}]
        for args, field in ((([{"x": 1.0}, [1, 2]], [0, 1]), "features"),
                            ((good, [0, 1], [0.5, "high"]), "probability"),
                            ((good, [0]), "features"),
                            ((good, [0, 1], [0.5]), "probabilities")):
            with pytest.raises(InvalidInput) as raised:
                log.log_records(*args)
            assert raised.value.field == field
        with pytest.raises(InvalidInput, match="metadata"):
            log.log_records(good, [0, 1], metadata=["not", "a", "mapping"])
        assert log.stats.logged == 0
        assert log.log_records([], []) == []
    assert len(ops.predictions.read("m")) == 0


def test_ids_made_together_are_unique_and_in_order_past_the_per_millisecond_counter():
    from modelops._ids import new_id, new_ids

    ids = [new_id(), *new_ids(10_000), new_id(), *new_ids(3)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(len(i) == 32 and i[12] == "7" and i[16] in "89ab" for i in ids)
