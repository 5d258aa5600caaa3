import math

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from modelops import InvalidInput
from modelops.drift.profile import (
    EXACT_LIMIT,
    bucket_bounds,
    bucket_index,
    merge,
    profile_categorical,
    profile_frame,
    profile_numeric,
    profile_partitions,
    quantiles,
    spec_for,
)
from modelops.entities.drift import BucketSpec
from modelops.entities.drift_codec import profile_from_data, profile_to_data

floats = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


def test_moments_agree_with_scipy_and_numpy():
    x = np.random.default_rng(0).lognormal(0, 1, 50_000)
    p = profile_numeric(x)
    assert p.count == 50_000 and p.missing == p.infinite == 0
    assert p.mean == pytest.approx(x.mean(), rel=1e-12)
    assert p.std == pytest.approx(x.std(ddof=1), rel=1e-12)
    assert p.skewness == pytest.approx(scipy.stats.skew(x), rel=1e-9)
    assert p.kurtosis == pytest.approx(scipy.stats.kurtosis(x), rel=1e-9)
    assert (p.min, p.max) == (x.min(), x.max())


def test_missing_and_infinite_values_are_counted_apart():
    x = np.array([1.0, np.nan, np.inf, -np.inf, 2.0, np.nan])
    p = profile_numeric(x)
    assert (p.count, p.missing, p.infinite, p.rows) == (2, 2, 2, 6)
    assert p.mean == 1.5 and p.sample == (1.0, 2.0)
    assert p.missing_share == pytest.approx(2 / 6)


def test_buckets_cover_values_within_their_bounds():
    spec = BucketSpec(3.0, 2.0)
    x = np.array([3.0, 3.0 + 1e-9, 2.5, 10.0, -1e6, 1e6, 3.00001])
    idx = bucket_index((x - spec.center) / spec.scale, spec)
    lo, hi = bucket_bounds(idx, spec)
    assert np.all(lo <= x) and np.all(x <= hi)
    assert np.all((hi - lo) <= 0.021 * np.abs(x - spec.center) + 2e-6 * spec.scale)


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.float64, st.integers(2, 300), elements=floats), st.integers(1, 299))
def test_merge_equals_profile_of_the_union(values, cut):
    cut = min(cut, len(values) - 1)
    spec = spec_for(values)
    whole = profile_numeric(values, spec)
    merged = profile_frame("m", {"x": values[:cut]}, specs={"x": spec})
    rest = profile_frame("m", {"x": values[cut:]}, specs={"x": spec})
    m = merge(merged, rest).columns["x"]
    assert (m.count, m.missing, m.infinite, m.min, m.max) == (
        whole.count, whole.missing, whole.infinite, whole.min, whole.max)
    assert m.buckets == whole.buckets and m.sample == whole.sample
    scale = max(1.0, float(np.abs(values).max()))
    assert m.mean == pytest.approx(whole.mean, abs=1e-9 * scale)
    for attr, power in (("m2", 2), ("m3", 3), ("m4", 4)):
        assert getattr(m, attr) == pytest.approx(getattr(whole, attr), rel=1e-7,
                                                 abs=1e-9 * scale**power * len(values))


def test_merge_of_large_parts_is_exact_for_counts_and_buckets():
    rng = np.random.default_rng(2)
    x = rng.normal(10, 3, 30_000)
    spec = spec_for(x)
    parts = [profile_numeric(p, spec) for p in np.array_split(x, 4)]
    whole = profile_numeric(x, spec)
    from modelops.drift.profile import merge_numeric

    m = parts[0]
    for p in parts[1:]:
        m = merge_numeric(m, p)
    assert m.buckets == whole.buckets and m.count == whole.count and m.sample is None
    assert m.m2 == pytest.approx(whole.m2, rel=1e-12)
    assert m.kurtosis == pytest.approx(scipy.stats.kurtosis(x), rel=1e-9)


def test_merge_refuses_different_specs_and_columns():
    a = profile_frame("m", {"x": np.arange(10.0)})
    b = profile_frame("m", {"x": np.arange(10.0) + 100})
    with pytest.raises(InvalidInput, match="spec"):
        merge(a, b)
    with pytest.raises(InvalidInput, match="different columns"):
        merge(a, profile_frame("m", {"y": np.arange(10.0)}))


def test_quantiles_exact_while_small_and_within_bucket_error_when_large():
    rng = np.random.default_rng(3)
    small = rng.normal(0, 1, EXACT_LIMIT)
    qs = [0.01, 0.25, 0.5, 0.9, 0.999]
    assert quantiles(profile_numeric(small), qs) == pytest.approx(np.quantile(small, qs))
    big = rng.normal(50, 4, 200_000)
    p = profile_numeric(big)
    got, want = np.array(quantiles(p, qs)), np.quantile(big, qs)
    # The documented error: 2 % of the distance from the centre, plus 1e-6 scale.
    assert np.all(np.abs(got - want) <= 0.02 * np.abs(want - p.spec.center) + 1e-6 * 4 + 1e-9)


def test_categorical_counts_with_missing_values_and_mixed_objects():
    p = profile_categorical(np.array(["a", None, "b", float("nan"), "a", 3], dtype=object))
    assert (p.count, p.missing) == (4, 2)
    assert dict(p.frequencies) == {"3": 1, "a": 2, "b": 1}
    u = profile_categorical(np.array(["x", "y", "x"]))
    assert dict(u.frequencies) == {"x": 2, "y": 1} and u.missing == 0


def test_profile_frame_kinds_roles_and_bad_input():
    frame = {"age": np.array([30, 40, 50]), "city": np.array(["a", "b", "a"]),
             "zip": np.array([1, 2, 1]), "label": np.array([0, 1, 1])}
    p = profile_frame("m", frame, categorical=["zip"], target="label")
    assert {c: v.kind for c, v in p.columns.items()} == {
        "age": "numeric", "city": "categorical", "zip": "categorical", "label": "numeric"}
    assert p.columns["label"].binary and p.target == "label" and p.rows == 3
    with pytest.raises(InvalidInput, match="mixes numbers and strings"):
        profile_frame("m", {"bad": np.array([1, "x"], dtype=object)})
    with pytest.raises(InvalidInput, match="no column 'nope'"):
        profile_frame("m", frame, categorical=["nope"])
    with pytest.raises(InvalidInput, match="no column 'y'"):
        profile_frame("m", frame, target="y")
    with pytest.raises(InvalidInput, match="differ in length"):
        profile_frame("m", {"a": np.arange(3), "b": np.arange(4)})


def test_profile_round_trips_through_its_data_form():
    rng = np.random.default_rng(4)
    frame = {"x": rng.normal(size=6000), "small": rng.normal(size=10),
             "empty": np.full(5, np.nan), "c": rng.choice(["u", "v"], 6000)}
    frame["small"] = np.concatenate([frame["small"], np.full(5990, np.nan)])
    frame["empty"] = np.full(6000, np.nan)
    p = profile_frame("m", frame, target="c")
    import json

    again = profile_from_data(json.loads(json.dumps(profile_to_data(p))))
    assert again == p
    assert math.isinf(again.columns["empty"].min)


def test_profiles_of_dask_partitions_merge_to_the_whole():
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"x": rng.normal(3, 2, 40_000), "k": rng.choice(["a", "b", "c"], 40_000)})
    ddf = dd.from_pandas(frame, npartitions=7)
    spec = spec_for(frame["x"].to_numpy())
    parts = (ddf.get_partition(i).compute() for i in range(ddf.npartitions))
    merged = profile_partitions("m", parts, specs={"x": spec})
    whole = profile_frame("m", frame, specs={"x": spec})
    x_m, x_w = merged.columns["x"], whole.columns["x"]
    assert x_m.buckets == x_w.buckets and x_m.count == x_w.count == 40_000
    assert x_m.mean == pytest.approx(x_w.mean, rel=1e-12)
    assert x_m.m4 == pytest.approx(x_w.m4, rel=1e-9)
    assert merged.columns["k"] == whole.columns["k"]
    assert merged.rows == whole.rows


def test_kept_samples_are_stored_packed_and_old_lists_still_read():
    import base64
    import json

    x = np.random.default_rng(9).normal(size=3000)
    p = profile_frame("m", {"x": x})
    data = profile_to_data(p)
    column = data["columns"]["x"]
    # base64 of float64: a JSON list of thousands of floats per column made reading a
    # profile slower than checking against it
    assert isinstance(column["sample_f64"], str) and "sample" not in column
    assert profile_from_data(json.loads(json.dumps(data))) == p
    old = json.loads(json.dumps(data))
    old["columns"]["x"].pop("sample_f64")
    old["columns"]["x"]["sample"] = sorted(x.tolist())
    assert profile_from_data(old) == p
    short = base64.b64encode(np.sort(x)[:10].astype("<f8").tobytes()).decode()
    for bad, match in (("not base64!", "base64"), ("AAAA", "whole float64"),
                       (short, "keeps 10 values but counts 3000")):
        broken = json.loads(json.dumps(data))
        broken["columns"]["x"]["sample_f64"] = bad
        with pytest.raises(InvalidInput, match=match):
            profile_from_data(broken)


# -- profiling by chunks (a frame of any length in bounded memory) --------------------------


@pytest.mark.parametrize("kind", ["normal", "with_missing", "mostly_missing", "integers"])
def test_a_column_profiled_by_chunks_equals_it_profiled_whole(monkeypatch, kind):
    from modelops.drift import profile as profile_module

    rng = np.random.default_rng(7)
    x = rng.normal(3, 2, 12_345)
    if kind == "with_missing":
        x[rng.random(len(x)) < 0.1] = np.nan
        x[:3] = [np.inf, -np.inf, np.inf]
    elif kind == "mostly_missing":  # few enough finite values to keep them all
        x[rng.random(len(x)) < 0.9] = np.nan
    elif kind == "integers":
        x = rng.poisson(4, len(x))
    whole = profile_numeric(x)
    monkeypatch.setattr(profile_module, "CHUNK_ROWS", 1000)
    chunked = profile_numeric(x)
    for field in ("count", "missing", "infinite", "min", "max", "binary", "integer",
                  "buckets", "sample"):
        assert getattr(chunked, field) == getattr(whole, field), field
    for field in ("mean", "m2", "m3", "m4"):
        assert getattr(chunked, field) == pytest.approx(getattr(whole, field), rel=1e-9,
                                                        abs=1e-9), field
    assert chunked.spec.center == pytest.approx(whole.spec.center, rel=1e-12)
    assert chunked.spec.scale == pytest.approx(whole.spec.scale, rel=1e-12)
    # And against numpy and scipy directly.
    finite = np.asarray(x, dtype=float)[np.isfinite(np.asarray(x, dtype=float))]
    assert chunked.mean == pytest.approx(finite.mean(), rel=1e-12)
    assert chunked.std == pytest.approx(finite.std(ddof=1), rel=1e-9)
    if len(finite) > 2 and finite.std() > 0:
        assert chunked.skewness == pytest.approx(scipy.stats.skew(finite), rel=1e-6, abs=1e-9)


def test_categories_counted_by_chunks_equal_a_whole_count(monkeypatch):
    from modelops.drift import profile as profile_module

    rng = np.random.default_rng(8)
    levels = np.array(["a", "b", None, "c", float("nan")], dtype=object)
    values = levels[rng.integers(0, len(levels), 5_000)]
    whole = profile_categorical(values)
    monkeypatch.setattr(profile_module, "CHUNK_ROWS", 700)
    chunked = profile_categorical(values)
    assert chunked == whole
    assert sum(chunked.frequencies.values()) + chunked.missing == len(values)
    fixed = profile_categorical(values[values != None].astype(str))  # noqa: E711
    assert sum(fixed.frequencies.values()) == int((values != None).sum())  # noqa: E711
