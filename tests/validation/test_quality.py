"""check_quality against hand-computed values, numpy.percentile and scipy.stats.zscore."""

from __future__ import annotations

import json
import math

import attrs
import numpy as np
import pandas as pd
import pytest
import scipy.stats as sps

from modelops.errors import InvalidInput, NotFound
from modelops.validation import ColumnQuality, QualityReport, check_quality
from modelops.validation._quality import WEIGHTS

# 6 rows; row 4 repeats row 1 exactly (the NaN in "x" too).
FRAME = {
    "x": np.array([1.0, np.nan, 3.0, 4.0, np.nan, 100.0]),
    "s": np.array(["a", "b", None, "a", "b", "c"], dtype=object),
    "k": np.array([7, 7, 7, 7, 7, 7]),
    "e": np.array([np.nan] * 6),
    "y": np.array(["p", "n", "n", "n", "n", "n"]),
}


def issues(report):
    return [(i.column, i.check, i.severity, i.count) for i in report.issues]


def test_hand_computed_frame():
    report = check_quality(FRAME, target="y")
    assert report.rows == 6
    assert (report.duplicate_rows, report.duplicate_share) == (1, 1 / 6)

    x = report.column("x")
    assert (x.missing, x.missing_share, x.infinite, x.distinct) == (2, 2 / 6, 0, 4)
    assert (x.min, x.max, x.mean) == (1.0, 100.0, 27.0)
    assert x.std == pytest.approx(np.std([1.0, 3.0, 4.0, 100.0]))
    # quartiles of [1, 3, 4, 100]: 2.5 and 28; fences 2.5 - 1.5*25.5 = -35.75, 28 + 38.25
    assert (x.lower, x.upper) == (-35.75, 66.25)
    assert (x.outliers, x.outlier_share) == (1, 0.25)

    s = report.column("s")
    assert (s.kind, s.missing, s.distinct, s.constant, s.min, s.outliers) == (
        "categorical", 1, 3, False, None, None)
    k = report.column("k")
    assert (k.constant, k.distinct, k.outliers, k.lower) == (True, 1, None, None)
    e = report.column("e")
    assert (e.all_missing, e.constant, e.distinct, e.min, e.max, e.mean, e.std) == (
        True, False, 0, None, None, None, None)
    y = report.column("y")
    assert (y.outliers, y.distinct) == (None, 2)

    cb = report.class_balance
    assert dict(cb.counts) == {"n": 5, "p": 1}
    assert dict(cb.shares) == {"n": 5 / 6, "p": 1 / 6}
    assert (cb.majority, cb.minority, cb.imbalance_ratio, cb.missing) == ("n", "p", 5.0, 0)

    assert issues(report) == [
        (None, "duplicate_rows", "warning", 1),
        ("x", "missing_values", "warning", 2),
        ("x", "outliers", "info", 1),
        ("s", "missing_values", "warning", 1),
        ("k", "constant_column", "warning", None),
        ("e", "all_missing", "warning", 6),
    ]
    assert report.passed


def test_pandas_frame_gives_the_same_report():
    frame = pd.DataFrame(FRAME)
    assert check_quality(frame, target="y") == check_quality(FRAME, target="y")


def test_2d_array_with_column_names():
    array = np.array([[1.0, 2.0], [1.0, 2.0], [3.0, np.nan]])
    report = check_quality(array, columns=["a", "b"])
    assert report.duplicate_rows == 1
    assert report.column("b").missing == 1


def test_score_formula_on_a_constructed_example():
    # 10 rows x 4 columns: 2 missing cells (m), 1 duplicate row (row 9 = row 8), 1 constant
    # column (c), 2 outliers among the 10 finite values of v, 0 among the 8 of m; the target
    # has a minority share of exactly 10%, which is not below 10%: no imbalance penalty.
    frame = {
        "v": np.array([1.0, 2, 3, 4, 5, 6, 7, 8, 1000, 1000]),
        "m": np.array([np.nan, np.nan, 1, 2, 3, 4, 5, 6, 7, 7]),
        "c": np.zeros(10),
        "y": np.array([1, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    }
    report = check_quality(frame, target="y")
    assert report.column("m").outliers == 0
    assert report.column("v").outliers == 2
    assert report.column("c").outliers is None and report.column("y").outliers is None
    assert report.duplicate_rows == 1
    missing, duplicates, constant = 2 / 40, 1 / 10, 1 / 4
    outliers = (2 + 0) / (10 + 8)
    expected = 100 * (1 - (0.35 * missing + 0.20 * duplicates + 0.15 * constant
                           + 0.15 * outliers + 0.15 * 0.0))
    assert report.score == pytest.approx(expected, rel=1e-12)


def test_score_example_from_the_docs():
    # 20 rows x 4 columns (d, c, o, y): 2 missing cells, 1 duplicate row, 1 constant column,
    # 2 outliers among the 20 finite values of "o", and a minority class of 1/20 = 5%.
    o = np.arange(20.0)
    o[[3, 4]] = [500.0, -500.0]
    frame = {
        "d": np.arange(20.0),
        "c": np.ones(20),
        "o": o,
        "y": np.array([1] + [0] * 19),
    }
    frame["d"][[5, 6]] = np.nan
    frame["d"][19] = frame["d"][18]
    frame["o"][19] = frame["o"][18]
    report = check_quality(frame, target="y")
    assert report.column("d").missing == 2
    assert report.duplicate_rows == 1
    assert report.column("o").outliers == 2 and report.column("d").outliers == 0
    assert report.class_balance.minority_share == 0.05
    outliers = 2 / (20 + 18)
    expected = 100 * (1 - (0.35 * 2 / 80 + 0.20 * 1 / 20 + 0.15 * 1 / 4 + 0.15 * outliers
                           + 0.15 * 0.5))
    assert report.score == pytest.approx(expected)
    assert [i.check for i in report.issues if i.column == "y"] == ["class_imbalance"]


def test_docs_score_arithmetic():
    penalty = 0.35 * 2 / 40 + 0.20 * 1 / 10 + 0.15 * 1 / 4 + 0.15 * 1 / 10 + 0.15 * 0.5
    assert 100 * (1 - penalty) == pytest.approx(83.5)
    assert sum(WEIGHTS.values()) == pytest.approx(1.0)


def test_a_clean_frame_scores_100_and_a_worthless_one_0():
    clean = {"a": np.arange(10.0), "b": np.array(list("abcdefghij"))}
    assert check_quality(clean).score == 100.0
    assert check_quality(clean).issues == ()
    worthless = {"a": np.full(4, np.nan), "y": np.array([np.nan] * 4)}
    report = check_quality(worthless, target="y")
    # every cell missing (0.35), duplicates 3/4 (0.15), both columns constant (0.15),
    # no outliers checked (0), no class (0.15)
    assert report.score == pytest.approx(100 * (1 - 0.35 - 0.2 * 0.75 - 0.15 - 0.15))


def test_empty_frame_scores_zero_with_an_issue():
    report = check_quality({"a": np.array([], dtype=float), "b": np.array([], dtype=str)})
    assert report.score == 0.0
    assert issues(report) == [(None, "empty_frame", "error", 0)]
    assert not report.passed
    assert report.column("a").missing_share == 0.0
    assert report.column("a").all_missing is False
    report = check_quality({})
    assert report.score == 0.0 and report.columns == ()
    assert report.issues[0].message == "the frame has no columns"
    report = check_quality(pd.DataFrame({"y": pd.Series([], dtype=object)}), target="y")
    assert report.class_balance.majority is None


def test_infinities_are_an_error_and_left_out_of_the_statistics():
    x = np.array([1.0, 2.0, 3.0, np.inf, -np.inf, np.nan, 4.0])
    report = check_quality({"x": x})
    col = report.column("x")
    assert (col.infinite, col.missing, col.distinct) == (2, 1, 6)
    assert (col.min, col.max, col.mean) == (1.0, 4.0, 2.5)
    assert col.outlier_share == 0.0
    assert [(i.check, i.severity, i.count) for i in report.issues] == [
        ("missing_values", "warning", 1), ("infinite_values", "error", 2)]
    # infinite cells count as missing in the score
    assert report.score == pytest.approx(100 * (1 - 0.35 * 3 / 7))
    only_inf = check_quality({"x": np.array([np.inf, np.inf])}).column("x")
    assert (only_inf.constant, only_inf.min, only_inf.mean, only_inf.outliers) == (
        True, None, None, None)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("k", [0.0, 1.0, 1.5, 3.0])
def test_iqr_fences_match_numpy_percentile(seed, k):
    rng = np.random.default_rng(seed)
    x = rng.standard_t(3, size=501)
    x[rng.integers(0, 501, 20)] = np.nan
    report = check_quality({"x": x}, iqr_k=k)
    finite = x[np.isfinite(x)]
    q1, q3 = np.percentile(finite, [25, 75])
    lower, upper = q1 - k * (q3 - q1), q3 + k * (q3 - q1)
    col = report.column("x")
    assert (col.lower, col.upper) == (lower, upper)
    assert col.outliers == int(((finite < lower) | (finite > upper)).sum())
    assert col.outlier_share == col.outliers / len(finite)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("z", [1.0, 2.0, 3.0])
def test_zscore_outliers_match_scipy(seed, z):
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.normal(size=300), rng.normal(0, 10, size=5)])
    x[[7, 8]] = [np.nan, np.inf]
    report = check_quality({"x": x}, outlier_method="zscore", z_threshold=z)
    finite = x[np.isfinite(x)]
    expected = int((np.abs(sps.zscore(finite)) > z).sum())
    col = report.column("x")
    assert col.outliers == expected
    assert col.mean == pytest.approx(finite.mean(), rel=1e-12)
    assert col.std == pytest.approx(finite.std(ddof=0), rel=1e-12)
    assert col.lower == pytest.approx(finite.mean() - z * finite.std())
    assert report.outlier_method == "zscore"


def test_outliers_are_not_looked_for_in_flags_booleans_or_the_target():
    frame = {"flag": np.array([0] * 19 + [1]), "b": np.array([False] * 19 + [True]),
             "y": np.array([0] * 18 + [1, 5]),
             "three": np.array([0] * 18 + [1, 50])}
    report = check_quality(frame, target="y")
    assert report.column("flag").outliers is None
    assert report.column("b").outliers is None
    assert report.column("y").outliers is None
    assert report.column("three").outliers == 2


def test_huge_values_do_not_overflow():
    x = np.array([1e308, -1e308, 1e308, 0.0, 5.0, -1e308])
    for method in ("iqr", "zscore"):
        col = check_quality({"x": x}, outlier_method=method).column("x")
        assert math.isfinite(col.mean) and math.isfinite(col.std)
        assert col.outliers == 0


def test_booleans_are_numeric_zero_one():
    col = check_quality({"b": np.array([True, False, True, True])}).column("b")
    assert (col.kind, col.dtype, col.min, col.max, col.mean) == (
        "numeric", "bool", 0.0, 1.0, 0.75)


def test_mixed_object_column_is_refused_naming_it():
    with pytest.raises(InvalidInput, match="mixes numbers and strings") as err:
        check_quality({"m": np.array([1, "a", None], dtype=object)})
    assert "m" in err.value.field
    report = check_quality({"m": np.array([1, "a", None], dtype=object)}, categorical=["m"])
    assert report.column("m").distinct == 2


def test_class_imbalance_threshold_is_strictly_below_ten_percent():
    at = check_quality({"y": np.array([1] + [0] * 9)}, target="y")
    assert at.class_balance.minority_share == 0.1
    assert [i.check for i in at.issues if i.column == "y"] == []
    below = check_quality({"y": np.array([1] + [0] * 10)}, target="y")
    found = [i for i in below.issues if i.column == "y"]
    assert [(i.check, i.severity, i.count) for i in found] == [("class_imbalance", "warning", 1)]
    assert found[0].details["imbalance_ratio"] == 10.0
    assert found[0].details["minority"] == "1"


def test_single_class_and_labels_with_missing():
    report = check_quality({"y": np.array(["a", "a", None], dtype=object)}, target="y")
    cb = report.class_balance
    assert (dict(cb.counts), cb.missing, cb.imbalance_ratio) == ({"a": 2}, 1, 1.0)
    assert [i.check for i in report.issues] == ["duplicate_rows", "missing_values",
                                                "constant_column", "single_class"]


def test_numeric_target_labels_and_order():
    report = check_quality({"y": np.array([10.0, 2.0, 2.0, np.nan, 10.0, 1.0])}, target="y")
    assert list(report.class_balance.counts) == ["1", "2", "10"]
    assert report.class_balance.missing == 1
    with pytest.raises(InvalidInput) as err:
        check_quality({"y": np.array([0.5, 1.0])}, target="y")
    assert err.value.field == "target"
    with pytest.raises(InvalidInput) as err:
        check_quality({"y": np.array([0.0, np.inf])}, target="y")
    assert err.value.field == "target"


def test_unknown_target_is_refused():
    with pytest.raises(InvalidInput) as err:
        check_quality(FRAME, target="nope")
    assert err.value.field == "target"


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"outlier_method": "mad"}, "outlier_method"),
    ({"iqr_k": -1}, "iqr_k"),
    ({"iqr_k": float("nan")}, "iqr_k"),
    ({"z_threshold": 0}, "z_threshold"),
    ({"z_threshold": "3"}, "z_threshold"),
    ({"categorical": ["nope"]}, "categorical"),
])
def test_bad_arguments_are_refused(kwargs, field):
    with pytest.raises(InvalidInput) as err:
        check_quality(FRAME, **kwargs)
    assert err.value.field == field


def test_report_formats():
    report = check_quality(FRAME, target="y")
    data = report.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["rows"] == 6 and data["duplicate_rows"] == 1 and data["passed"] is True
    assert data["columns"][0]["name"] == "x"
    assert data["class_balance"]["shares"] == {"n": 5 / 6, "p": 1 / 6}
    assert data["issues"][0] == {"column": None, "check": "duplicate_rows",
                                 "severity": "warning", "message": "1 row repeats an earlier "
                                 "row (16.7%)", "count": 1, "details": {"share": 1 / 6}}
    table = report.to_table()
    assert [row["name"] for row in table] == ["x", "s", "k", "e", "y"]
    assert table[0] == report.column("x").to_dict()
    assert set(table[0]) == {a.name for a in attrs.fields(ColumnQuality)}
    text = str(report)
    assert text.startswith("quality score ")
    assert "duplicate_rows" in text and "classes of 'y'" in text
    assert isinstance(report, QualityReport)
    with pytest.raises(NotFound):
        report.column("nope")
