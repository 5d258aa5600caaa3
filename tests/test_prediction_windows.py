"""Reads of a window touch only what the window needs: parts carry their records' time range,
a compacted day is in time order in row groups, and a read skips the parts and row groups
outside the window — with the same rows as reading everything and filtering."""

import numpy as np
import pytest

import modelops
from modelops import InvalidInput
from modelops.predictions.reader import read_predictions

HOUR = 3_600_000
DAY = 24 * HOUR
T0 = 1_790_000_000_000 - 1_790_000_000_000 % DAY  # midnight UTC


class Counted:
    """Counts the files a store's storage reads whole and the bytes it reads by range."""

    def __init__(self, storage):
        self.whole, self.range_bytes = [], {}
        read_bytes, read_range = storage.read_bytes, storage.read_range

        def counted_bytes(rel):
            self.whole.append(rel)
            return read_bytes(rel)

        def counted_range(rel, start, end=None):
            data = read_range(rel, start, end)
            self.range_bytes[rel] = self.range_bytes.get(rel, 0) + len(data)
            return data

        storage.read_bytes, storage.read_range = counted_bytes, counted_range

    def parts(self, kind="predictions"):
        """The parts of ``kind`` read whole."""
        return [p for p in self.whole if ("/part-" in p or "/compact-" in p)
                and ("/feedback/" in p) == (kind == "feedback")]


def log_hours(ops, model="fraud", days=1, per_hour=50, seed=0):
    """``per_hour`` predictions in every hour of ``days`` days from T0, one part per hour;
    feedback for every other one, ten minutes later."""
    rng = np.random.default_rng(seed)
    with ops.predictions.logger(model, version="1.0.0") as log:
        for hour in range(days * 24):
            ts = np.sort(rng.integers(T0 + hour * HOUR, T0 + (hour + 1) * HOUR, per_hour))
            probs = rng.random(per_hour).round(3)
            ids = log.log_batch({"x": rng.normal(size=per_hour).round(3)},
                                np.where(probs > 0.5, "yes", "no").tolist(),
                                probabilities=probs.tolist(), timestamps=ts.tolist())
            log.feedback_batch(ids[::2], ["yes"] * len(ids[::2]),
                               timestamps=(ts[::2] + 600_000).tolist())
            log.flush()


@pytest.fixture(params=["file", "memory"])
def ops(request, tmp_path):
    return modelops.connect(tmp_path / "store" if request.param == "file" else "memory://")


def same_rows(a, b):
    assert a.ids.tolist() == b.ids.tolist()
    assert a.timestamps.tolist() == b.timestamps.tolist()
    assert a.actuals.tolist() == b.actuals.tolist()
    assert np.array_equal(a.probabilities, b.probabilities)
    assert a.features["x"].tolist() == b.features["x"].tolist()


def filtered(table, since, until):
    return table.select((table.timestamps >= since) & (table.timestamps < until))


def test_parts_carry_the_time_range_of_their_records(ops):
    log_hours(ops, per_hour=20)
    parts = ops.predictions.store.list_parts("fraud", "predictions")
    assert len(parts) == 24
    table = ops.predictions.read("fraud", with_feedback=False)
    for part in parts:
        assert T0 <= part.first_ts <= part.last_ts < T0 + DAY
        inside = (table.timestamps >= part.first_ts) & (table.timestamps <= part.last_ts)
        assert inside.sum() == 20  # exactly its hour's records lie in its range
    feedback = ops.predictions.store.list_parts("fraud", "feedback")
    assert all(p.first_ts is not None for p in feedback)


@pytest.mark.parametrize("engine", ["arrow", "python"])
def test_a_window_reads_only_the_parts_that_meet_it(ops, engine):
    log_hours(ops, days=2, per_hour=30)
    store = ops.predictions.store
    everything = read_predictions(store, "fraud", engine=engine)
    counted = Counted(store.storage)
    since, until = T0 + 5 * HOUR + HOUR // 2, T0 + 6 * HOUR + HOUR // 2  # across two parts
    window = read_predictions(store, "fraud", since=since, until=until, engine=engine)
    assert len(counted.parts()) == 2  # of 48 parts
    same_rows(window, filtered(everything, since, until))
    assert window.has_feedback.sum() > 0  # feedback joined as before


def test_a_window_across_two_days_reads_only_its_hours(ops):
    log_hours(ops, days=2, per_hour=10)
    store = ops.predictions.store
    counted = Counted(store.storage)
    since, until = T0 + 23 * HOUR, T0 + 25 * HOUR  # the last hour of day 1, first of day 2
    window = ops.predictions.read("fraud", since=since, until=until, with_feedback=False)
    assert len(window) == 20
    assert len(counted.parts()) == 2


def test_a_name_that_does_not_spell_a_range_is_read(tmp_path):
    ops = modelops.connect(tmp_path / "store")
    store = ops.predictions.store
    line = b'{"id":"a","ts":%d,"version":"1","prediction":1}\n' % (T0 + 5 * HOUR)
    folder = tmp_path / "store" / "predictions" / "fraud" / "date=2026-09-21"
    folder.mkdir(parents=True)
    day = store.list_parts("fraud", "predictions") or None
    assert day is None
    # A hand-written part, a range the wrong way round, and one that is not a number: each
    # is listed without a range and read whatever the window.
    for name in ("part-00aa.jsonl", "part-00ab_9-1.jsonl", "part-00ac_1-x.jsonl"):
        (folder / name).write_bytes(line)
    parts = store.list_parts("fraud", "predictions")
    assert [(p.first_ts, p.last_ts) for p in parts] == [(None, None)] * 3
    got = ops.predictions.read("fraud", since=T0 + 5 * HOUR, until=T0 + 6 * HOUR)
    assert len(got) == 3 and got.ids.tolist() == ["a", "a", "a"]


@pytest.mark.parametrize("span", [(5, 1), (-1, 3), (1.0, 2), "1-2", (1, 2, 3), (0, 10**16)])
def test_a_bad_span_is_refused(ops, span):
    with pytest.raises(InvalidInput, match="span"):
        ops.predictions.store.write_part("fraud", "predictions", "2026-09-21", b"{}\n",
                                         span=span)
    assert ops.predictions.store.list_parts("fraud", "predictions") == []


def test_compacted_day_is_read_by_row_groups_of_the_window(tmp_path, monkeypatch):
    pytest.importorskip("pyarrow")
    from modelops.predictions import columns

    monkeypatch.setattr(columns, "PARQUET_ROW_GROUP", 1000)
    ops = modelops.connect(tmp_path / "store")
    log_hours(ops, per_hour=500)  # 12,000 predictions: 12 row groups of 1,000
    store = ops.predictions.store
    everything = ops.predictions.read("fraud")
    ops.predictions.compact("fraud", T0)
    (part,) = store.list_parts("fraud", "predictions")
    assert part.fmt == "parquet"
    assert (part.first_ts, part.last_ts) == (everything.timestamps.min(),
                                              everything.timestamps.max())
    counted = Counted(store.storage)
    since, until = T0 + 7 * HOUR, T0 + 8 * HOUR
    window = ops.predictions.read("fraud", since=since, until=until)
    assert counted.parts() == []  # not read whole: by ranges
    (read,) = [n for rel, n in counted.range_bytes.items() if rel.endswith(part.name)]
    assert 0 < read < part.size / 3  # the footer and 1-2 of 12 row groups
    same_rows(window, filtered(everything, since, until))
    # The whole day, after compaction, is the same rows (now in time order).
    after = ops.predictions.read("fraud")
    order = np.argsort(everything.timestamps, kind="stable")
    same_rows(after, everything.select(order))


def test_a_parquet_part_gone_meanwhile_is_a_changed_listing(tmp_path, monkeypatch):
    pytest.importorskip("pyarrow")
    from modelops.predictions.reader import PartsChanged, iter_prediction_batches

    ops = modelops.connect(tmp_path / "store")
    log_hours(ops, per_hour=10)
    ops.predictions.compact("fraud", T0)
    store = ops.predictions.store
    (part,) = store.list_parts("fraud", "predictions")
    gone = type(part)(part.kind, part.day, "compact-00ff.parquet", "parquet", part.size)
    monkeypatch.setattr(store, "list_parts", lambda *a, **k: [gone])
    with pytest.raises(PartsChanged):
        list(iter_prediction_batches(store, "fraud", since=T0, until=T0 + HOUR))
