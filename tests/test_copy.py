"""copy_store's drift part: it finds what to copy through the DriftStore interface alone."""

import attrs
import numpy as np

import modelops
from modelops._ids import new_id


def test_drift_is_copied_by_the_names_the_store_lists_hashed_ones_included(tmp_path):
    long_name = "model-" + "é" * 150          # too long for a folder name: stored hashed
    src_uri, dst_uri = f"file://{tmp_path / 'src'}", f"file://{tmp_path / 'dst'}"
    src = modelops.connect(src_uri)
    rng = np.random.default_rng(0)
    for name in ("fraud", long_name):
        src.drift.fit_reference(name, {"x": rng.normal(size=200)})
        report = src.drift.check(name, {"x": rng.normal(1, 1, size=200)})
    src.store("drift").save_report(attrs.evolve(report, name="reports-only",
                                                report_id=new_id()))
    names = sorted(["fraud", long_name, "reports-only"])
    assert src.store("drift").list_names() == names
    first = modelops.copy_store(src_uri, dst_uri, kinds=["drift"])
    assert first.copied == {"profiles": 2, "reports": 3}
    dst = modelops.connect(dst_uri)
    assert dst.store("drift").list_names() == names
    assert dst.drift.reference(long_name).profile_id == src.drift.reference(long_name).profile_id
    again = modelops.copy_store(src_uri, dst_uri, kinds=["drift"])
    assert not any(again.copied.values())
    assert again.skipped == {"profiles": 2, "reports": 3}


def test_prediction_parts_keep_their_time_range_when_copied(tmp_path):
    src_uri, dst_uri = f"file://{tmp_path / 'src'}", f"file://{tmp_path / 'dst'}"
    src = modelops.connect(src_uri)
    t0 = 1_790_000_000_000
    with src.predictions.logger("fraud") as log:
        for hour in range(3):
            log.log_batch({"x": [1.0, 2.0]}, [0, 1],
                          timestamps=[t0 + hour * 3_600_000, t0 + hour * 3_600_000 + 5])
            log.flush()
    copied = modelops.copy_store(src_uri, dst_uri, kinds=["predictions"])
    assert copied.copied == {"parts": 3}

    def ranges(ops):
        return sorted((p.first_ts, p.last_ts)
                      for p in ops.predictions.store.list_parts("fraud", "predictions"))

    dst = modelops.connect(dst_uri)
    assert ranges(dst) == ranges(src) == [(t0 + h * 3_600_000, t0 + h * 3_600_000 + 5)
                                          for h in range(3)]
    window = dst.predictions.read("fraud", since=t0 + 3_600_000, until=t0 + 7_200_000)
    assert window.timestamps.tolist() == [t0 + 3_600_000, t0 + 3_600_000 + 5]


def test_parquet_parts_are_copied_as_they_are(tmp_path):
    import pytest

    pytest.importorskip("pyarrow")
    src_uri, dst_uri = f"file://{tmp_path / 'src'}", f"file://{tmp_path / 'dst'}"
    src = modelops.connect(src_uri)
    with src.predictions.logger("fraud", version="1") as log:
        ids = log.log_columns({"x": np.arange(1_500) * 0.5}, [i % 2 for i in range(1_500)])
        log.feedback(ids[0], 1)
    day = src.predictions.store.list_parts("fraud", "predictions")[0].day
    assert [p.fmt for p in src.predictions.store.list_parts("fraud", "predictions")] == \
        ["parquet"]
    assert modelops.copy_store(src_uri, dst_uri, kinds=["predictions"]).copied == {"parts": 2}
    dst = modelops.connect(dst_uri)
    parts = dst.predictions.store.list_parts("fraud", "predictions")
    assert [(p.fmt, p.day) for p in parts] == [("parquet", day)]
    table = dst.predictions.read("fraud")
    assert table.ids.tolist() == ids and table.features["x"].tolist() == \
        (np.arange(1_500) * 0.5).tolist()
    assert table.actuals[0] == 1
    # Copying again copies nothing.
    assert modelops.copy_store(src_uri, dst_uri, kinds=["predictions"]).copied == {}
