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
