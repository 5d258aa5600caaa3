"""Exact duplicate rows: against pandas, under forced hash collisions, and at scale."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelops.validation import Schema, _frame, check_quality, check_split, infer_schema


def pandas_duplicates(frame: dict) -> int:
    return int(pd.DataFrame(frame).duplicated().sum())


_FLOATS = st.sampled_from([0.0, -0.0, 1.0, 2.5, np.nan, np.inf, -np.inf])
_STRINGS = st.sampled_from(["a", "b", "", None])
_INTS = st.integers(-2, 2)


@st.composite
def frames(draw):
    n = draw(st.integers(0, 30))
    kinds = draw(st.lists(st.sampled_from(["f", "s", "i", "b"]), min_size=1, max_size=4))
    out = {}
    for j, kind in enumerate(kinds):
        if kind == "f":
            out[f"c{j}"] = np.array(draw(st.lists(_FLOATS, min_size=n, max_size=n)), dtype=float)
        elif kind == "s":
            out[f"c{j}"] = np.array(draw(st.lists(_STRINGS, min_size=n, max_size=n)),
                                    dtype=object)
        elif kind == "i":
            out[f"c{j}"] = np.array(draw(st.lists(_INTS, min_size=n, max_size=n)), dtype=int)
        else:
            out[f"c{j}"] = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)),
                                    dtype=bool)
    return out


@settings(max_examples=150, deadline=None)
@given(frames())
def test_duplicate_rows_match_pandas(frame):
    assert check_quality(frame).duplicate_rows == pandas_duplicates(frame)


@settings(max_examples=50, deadline=None)
@given(frames())
def test_duplicate_rows_survive_forced_collisions(frame):
    cols = [_frame.Column(k, v) for k, v in frame.items()]
    keys = [c.key() for c in cols]
    n = len(cols[0])
    honest = _frame.duplicated_rows(keys, n)
    original = _frame.row_hashes
    try:
        _frame.row_hashes = lambda keys, n: np.zeros(n, dtype=np.uint64)
        collided = _frame.duplicated_rows(keys, n)
    finally:
        _frame.row_hashes = original
    assert np.array_equal(honest, collided)
    assert np.array_equal(honest, pd.DataFrame(frame).duplicated().to_numpy())


def test_duplicates_are_exact_for_large_integers_and_signed_zero():
    big = np.array([2**62, 2**62 + 1, 2**62], dtype=np.int64)
    assert check_quality({"big": big}).duplicate_rows == 1
    assert check_quality({"z": np.array([0.0, -0.0])}).duplicate_rows == 1
    assert check_quality({"u": np.array([2**64 - 1, 2**64 - 2, 2**64 - 1],
                                        dtype=np.uint64)}).duplicate_rows == 1


def test_duplicates_in_mixed_type_frames():
    frame = {"n": np.array([1, 1, 1, 2]), "s": np.array(["a", "a", "b", "a"], dtype=object),
             "o": np.array([None, None, None, None], dtype=object),
             "b": np.array([True, True, True, True])}
    assert check_quality(frame).duplicate_rows == 1
    assert check_quality(pd.DataFrame(frame)).duplicate_rows == 1


def test_forced_categorical_whole_floats_equal_ints_across_frames():
    train = {"c": np.array([1, 2])}
    test = {"c": np.array([1.0, 3.0])}
    assert check_split(train, test, categorical=["c"]).leaked_rows == 1


def test_hundred_thousand_rows_by_fifty_columns():
    rng = np.random.default_rng(0)
    n, m = 100_000, 50
    frame = {f"f{j}": rng.integers(0, 3, n).astype(float) for j in range(m - 5)}
    for j in range(5):
        frame[f"s{j}"] = rng.choice(np.array(["a", "b"], dtype=object), n)
    for col in frame.values():
        col[50_000:55_000] = col[:5_000]
    report = check_quality(frame)
    assert report.rows == n and len(report.columns) == m
    assert report.duplicate_rows >= 5_000
    assert report.duplicate_rows == pandas_duplicates(frame)
    split = check_split({k: v[:50_000] for k, v in frame.items()},
                        {k: v[50_000:] for k, v in frame.items()})
    assert split.leaked_rows >= 5_000


@pytest.mark.parametrize("n", [0, 1, 2])
def test_tiny_frames(n):
    frame = {"a": np.zeros(n)}
    assert check_quality(frame).duplicate_rows == max(0, n - 1)


@settings(max_examples=100, deadline=None)
@given(frames())
def test_a_schema_accepts_its_own_reference_and_survives_json(frame):
    if len(next(iter(frame.values()))) == 0:
        return
    frame = {k: np.where(np.isinf(v), 0.0, v) if v.dtype.kind == "f" else v
             for k, v in frame.items()}
    schema = infer_schema(frame)
    assert schema.validate(frame).issues == ()
    assert Schema.from_dict(json.loads(json.dumps(schema.to_dict()))) == schema
