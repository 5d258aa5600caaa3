"""Health per segment: the bad region first; one segment is the global verdict."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ._data import NOW, AlertCollector, H, connect, log_rows, monitor, spread


def features(rng, n, shift_in=None, shift=0.0):
    region = rng.choice(["north", "south", "east"], n)
    x = np.select([region == "north", region == "south"], [0.0, 3.0], 6.0) + \
        rng.normal(0, 1, n)
    if shift_in is not None:
        x = x + shift * (region == shift_in)
    return {"region": region, "x": x}


def store(rng, shift_in=None, shift=0.0, wrong_in=None, n=1500):
    ops = connect()
    ops.drift.fit_reference("m", features(rng, 4000))
    f = features(rng, n, shift_in, shift)
    truth = (f["x"] > 3).astype(int)
    pred = truth.copy()
    if wrong_in is not None:
        bad = (f["region"] == wrong_in) & (rng.random(n) < 0.4)
        pred[bad] = 1 - pred[bad]
    log_rows(ops, "m", spread(n, NOW - 24 * H, NOW), pred.tolist(), actuals=truth.tolist(),
             features=f)
    return ops


def test_the_segment_that_degraded_comes_first():
    rng = np.random.default_rng(0)
    ops = store(rng, wrong_in="east")
    collector = AlertCollector()
    from modelops import plugins

    plugins.plugin_manager().register(collector)
    try:
        found = monitor(ops, "m", baseline={"accuracy": 0.99}).health(
            "24h", segment_by="region")
    finally:
        plugins.plugin_manager().unregister(collector)
    assert found.segments[0].segment == "east" and found.status == "unhealthy"
    issue = found.segments[0].health.issue("degradation")
    assert issue.details["segment"] == "east" and issue.message.startswith("[region=east]")
    assert all(s.health.issue("degradation") is None for s in found.segments[1:])
    assert [a.details["segment"] for a in collector.alerts] == ["east"]
    assert found.alpha == 0.025 / 3        # the rules' drift_alpha, Bonferroni
    assert "same segment of the reference" in found.segments[0].note


def test_drift_in_one_segment_against_its_own_reference():
    rng = np.random.default_rng(1)
    ops = store(rng, shift_in="south", shift=1.0)
    found = monitor(ops, "m").health("24h", alert=False, segment_by="region")
    assert found.segments[0].segment == "south"
    assert "x" in found.segments[0].health.issue("input_drift").details["columns"]
    none = monitor(ops, "m").health("24h", alert=False, segment_by="region", min_segment=600)
    assert none.segments == () and all("min_segment" in why for _, why in none.skipped)


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), shift=st.sampled_from([0.0, 0.3, 1.0]))
def test_one_segment_is_the_global_verdict(seed, shift):
    rng = np.random.default_rng(seed)
    ops = store(rng, shift_in="north", shift=shift, n=600)
    m = monitor(ops, "m", baseline={"accuracy": 0.99})
    whole = m.health("24h", alert=False)
    [single] = m.health("24h", alert=False, segment_by=lambda f: np.full(len(f["x"]), "all"),
                        min_segment=1).segments
    assert single.health.status == whole.status
    assert [(i.kind, i.severity) for i in single.health.issues] == \
        [(i.kind, i.severity) for i in whole.issues]


def test_a_segment_is_estimated_from_its_own_labelled_history():
    """A region where the model always did worse is not 'degraded' for being itself; the
    region whose inputs moved to where the model hesitates is."""
    rng = np.random.default_rng(3)
    ops = connect()

    def rows(n, hard_scale):
        region = rng.choice(["easy", "hard"], n)
        x = rng.normal(0, np.where(region == "hard", hard_scale, 3.0), n)
        p = 1 / (1 + np.exp(-2 * x))
        return region, x, p, (p > 0.5).astype(int), (rng.random(n) < p).astype(int)

    region, x, p, pred, y = rows(4000, 0.8)            # "hard" was always near the boundary
    log_rows(ops, "m", spread(4000, NOW - 30 * 24 * H, NOW - 24 * H), pred.tolist(),
             actuals=y.tolist(), probabilities=p, features={"region": region, "x": x})
    region, x, p, pred, y = rows(2000, 0.8)
    x = np.where(region == "easy", rng.normal(0, 0.6, 2000), x)    # easy moves in; hard stays
    p = 1 / (1 + np.exp(-2 * x))
    log_rows(ops, "m", spread(2000, NOW - 24 * H, NOW), (p > 0.5).astype(int).tolist(),
             probabilities=p, features={"region": region, "x": x})
    found = monitor(ops, "m").health("24h", alert=False, segment_by="region")
    assert found.segment("easy").health.issue("estimated_degradation") is not None
    assert found.segment("hard").health.issue("estimated_degradation") is None
    assert "segment easy" in found.segment("easy").health.issue(
        "estimated_degradation").details["reference"]
