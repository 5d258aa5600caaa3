"""Drift per segment: each segment against the same segment of the reference."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import modelops
from modelops.errors import InvalidInput


def frame(rng, n, shift_in=None, shift=0.0):
    region = rng.choice(["north", "south", "east"], n)
    # the regions differ in the reference already: a segment must be compared with itself
    base = np.select([region == "north", region == "south"], [0.0, 3.0], 6.0)
    x = base + rng.normal(0, 1, n)
    if shift_in is not None:
        x = x + shift * (region == shift_in)
    return {"region": region, "x": x, "y": rng.normal(0, 1, n)}


def test_the_drifted_segment_comes_first_and_the_others_hold():
    rng = np.random.default_rng(0)
    ops = modelops.connect("memory://")
    ops.drift.fit_reference("m", frame(rng, 4000))
    found = ops.drift.check("m", frame(rng, 3000, "south", 1.0), segment_by="region",
                            drift_share=0.3)
    assert found.segments[0].segment == "south" and found.segments[0].report.drifted_columns \
        == ["x"]
    assert found.drifted_segments[0] == "south"
    assert found.alpha == pytest.approx(0.025 / 3)      # the drift tests' alpha, Bonferroni
    assert found.segment("north").n_reference > 1000
    assert all("x" not in s.report.drifted_columns for s in found.segments[1:])


def test_small_segments_are_skipped_and_functions_segment_too():
    rng = np.random.default_rng(1)
    ops = modelops.connect("memory://")
    ops.drift.fit_reference("m", frame(rng, 4000))
    current = frame(rng, 400)
    found = ops.drift.check("m", current, segment_by=lambda f: np.where(f["y"] > 1.5, "tail",
                                                                         "body"),
                            min_segment=120)
    assert [s.segment for s in found.segments] == ["body"]
    assert found.skipped[0][0] == "tail" and "fewer than min_segment" in found.skipped[0][1]
    with pytest.raises(InvalidInput, match="no column 'zone'"):
        ops.drift.check("m", current, segment_by="zone")
    with pytest.raises(InvalidInput, match="segment_correction"):
        ops.drift.check("m", current, segment_by="region", segment_correction="holm")


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), shift=st.sampled_from([0.0, 0.1, 0.5]),
       n_ref=st.sampled_from([300, 6000]))
def test_one_segment_gives_the_global_verdict(seed, shift, n_ref):
    rng = np.random.default_rng(seed)
    ops = modelops.connect("memory://")
    reference = frame(rng, n_ref)
    reference["all"] = np.full(n_ref, "one")
    ops.drift.fit_reference("m", reference)
    current = frame(rng, 500, "north", shift)
    current["all"] = np.full(500, "one")
    whole = ops.drift.check("m", current, save=False)
    [single] = ops.drift.check("m", current, segment_by="all", min_segment=1).segments
    assert single.report.drifted == whole.drifted
    assert [(c.column, c.drifted, c.pvalue) for c in single.report.columns] == \
        [(c.column, c.drifted, c.pvalue) for c in whole.columns]
