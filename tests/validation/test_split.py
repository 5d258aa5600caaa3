"""check_split: leakage, label distribution, column sets."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from modelops.errors import InvalidInput
from modelops.validation import SplitReport, _frame, check_split

TRAIN = {
    "a": np.array([1, 2, 3, 4, 5, 6, 7, 8]),
    "b": np.array(["x", "y", "x", "y", "x", "y", "x", "y"]),
    "y": np.array([0, 0, 0, 0, 0, 0, 1, 1]),
}


def issues(report):
    return [(i.column, i.check, i.severity, i.count) for i in report.issues]


def test_leakage_counts_test_rows_found_in_train():
    test = {"a": np.array([1, 2, 9, 1]), "b": np.array(["x", "x", "x", "x"]),
            "y": np.array([0, 0, 1, 0])}
    report = check_split(TRAIN, test)
    # rows 0 and 3 equal train row 0; row 1 differs in b, row 2 is new
    assert (report.leaked_rows, report.leaked_share) == (2, 0.5)
    assert report.columns_compared == ("a", "b", "y")
    assert issues(report) == [(None, "leakage", "warning", 2)]
    assert report.issues[0].details["share"] == 0.5
    assert report.passed


def test_leakage_over_common_columns_only():
    test = {"a": np.array([1, 2]), "b": np.array(["y", "y"])}
    report = check_split(TRAIN, test)
    assert report.columns_compared == ("a", "b")
    assert report.leaked_rows == 1
    assert issues(report) == [("y", "missing_column", "error", None),
                              (None, "leakage", "warning", 1)]


def test_ints_equal_floats_and_nan_equals_nan():
    train = {"a": np.array([1, 2, 3]), "f": np.array([np.nan, 0.0, 1.5])}
    test = {"a": np.array([1.0, 2.0, 3.0]), "f": np.array([np.nan, -0.0, 2.5])}
    assert check_split(train, test).leaked_rows == 2


def test_mismatched_kinds_are_reported_and_compared_as_text():
    train = {"a": np.array([1, 2, 3])}
    test = {"a": np.array(["1", "5", "3.5"])}
    report = check_split(train, test)
    assert issues(report) == [("a", "type_mismatch", "error", None),
                              (None, "leakage", "warning", 1)]
    assert not report.passed


def test_no_leakage_no_issue():
    test = {"a": np.array([100, 200]), "b": np.array(["x", "y"]), "y": np.array([0, 1])}
    report = check_split(TRAIN, test)
    assert report.leaked_rows == 0 and report.issues == ()


def test_label_shift_by_total_variation_distance():
    test = {"a": np.array([10, 11, 12, 13]), "b": np.array(["x"] * 4),
            "y": np.array([0, 1, 1, 1])}
    report = check_split(TRAIN, test, target="y")
    assert dict(report.train_labels) == {"0": 0.75, "1": 0.25}
    assert dict(report.test_labels) == {"0": 0.25, "1": 0.75}
    assert report.label_tvd == pytest.approx(0.5)
    assert issues(report) == [("y", "label_shift", "warning", None)]
    assert report.issues[0].details["tvd"] == pytest.approx(0.5)


def test_label_shift_threshold_is_strictly_above_0_1():
    train = {"y": np.array([0] * 5 + [1] * 5)}
    test = {"y": np.array([0] * 6 + [1] * 4), "z": np.arange(10)}
    report = check_split(train, test, target="y")
    assert report.label_tvd == pytest.approx(0.1)
    assert [i.check for i in report.issues if i.column == "y"] == []
    test = {"y": np.array([0] * 7 + [1] * 3)}
    report = check_split(train, test, target="y")
    assert report.label_tvd == pytest.approx(0.2)
    assert "label_shift" in [i.check for i in report.issues]


def test_unseen_test_labels():
    train = {"y": np.array(["a", "b", "a", "b"])}
    test = {"y": np.array(["a", "c", "c", "d"])}
    report = check_split(train, test, target="y")
    unseen = [i for i in report.issues if i.check == "unseen_labels"]
    assert [(i.column, i.count) for i in unseen] == [("y", 3)]
    assert unseen[0].details["labels"] == ("c", "d")
    # a = 0.5 vs 0.25, b = 0.5 vs 0, c = 0 vs 0.5, d = 0 vs 0.25: (0.25+0.5+0.5+0.25)/2
    assert report.label_tvd == pytest.approx(0.75)


def test_column_set_mismatch():
    train = {"a": np.array([1, 2]), "b": np.array([3, 4])}
    test = {"b": np.array([9, 9]), "c": np.array([1, 1])}
    assert issues(check_split(train, test)) == [("a", "missing_column", "error", None),
                                                ("c", "extra_column", "warning", None)]
    report = check_split({"a": np.array([1])}, {"c": np.array([1])})
    assert issues(report) == [("a", "missing_column", "error", None),
                              ("c", "extra_column", "warning", None),
                              (None, "no_common_columns", "error", None)]
    assert report.leaked_rows == 0


def test_empty_train_or_test_is_an_error_issue():
    empty = {k: v[:0] for k, v in TRAIN.items()}
    report = check_split(TRAIN, empty, target="y")
    assert issues(report) == [(None, "empty_frame", "error", 0)]
    assert report.issues[0].details == {"frame": "test"}
    assert (report.leaked_rows, report.leaked_share, report.label_tvd) == (0, 0.0, None)
    report = check_split(empty, TRAIN)
    assert report.issues[0].details == {"frame": "train"}


def test_target_must_be_in_both_frames_and_hold_labels():
    with pytest.raises(InvalidInput) as err:
        check_split(TRAIN, {"a": np.array([1])}, target="y")
    assert err.value.field == "target"
    with pytest.raises(InvalidInput) as err:
        check_split({"y": np.array([0.5])}, {"y": np.array([1.0])}, target="y")
    assert err.value.field == "target"


def test_bad_frames_are_named():
    with pytest.raises(InvalidInput) as err:
        check_split(TRAIN, [1, 2, 3])
    assert err.value.field == "test"
    with pytest.raises(InvalidInput) as err:
        check_split({"a": np.array([1, 2]), "b": np.array([1])}, TRAIN)
    assert err.value.field == "train"


def test_pandas_frames_give_the_same_report():
    test = {"a": np.array([1, 2, 9]), "b": np.array(["x", "x", "y"]), "y": np.array([0, 1, 1])}
    assert check_split(pd.DataFrame(TRAIN), pd.DataFrame(test), target="y") == \
        check_split(TRAIN, test, target="y")


def test_forced_hash_collisions_give_the_same_answer(monkeypatch):
    rng = np.random.default_rng(3)
    train = {"a": rng.integers(0, 3, 200), "b": rng.choice(["u", "v"], 200)}
    test = {"a": rng.integers(0, 4, 100), "b": rng.choice(["u", "v", "w"], 100)}
    honest = check_split(train, test)
    monkeypatch.setattr(_frame, "row_hashes", lambda keys, n: np.zeros(n, dtype=np.uint64))
    assert check_split(train, test) == honest
    expected = pd.DataFrame(test).merge(pd.DataFrame(train).drop_duplicates(), how="left",
                                        indicator=True)["_merge"].eq("both").sum()
    assert honest.leaked_rows == expected


def test_report_formats():
    test = {"a": np.array([1, 10]), "b": np.array(["x", "x"]), "y": np.array([0, 1])}
    report = check_split(TRAIN, test, target="y")
    assert isinstance(report, SplitReport)
    data = report.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["leaked_rows"] == 1 and data["train_labels"] == {"0": 0.75, "1": 0.25}
    assert data["columns_compared"] == ["a", "b", "y"]
    assert [row["check"] for row in report.to_table()] == ["leakage", "label_shift"]
    assert set(report.to_table()[0]) == {"severity", "column", "check", "count", "message"}
    text = str(report)
    assert "8 train rows, 2 test rows" in text and "total variation distance 0.250" in text
    assert "label_shift" in text


def test_mixed_object_column_is_refused_naming_it():
    train = {"m": np.array([1, "a"], dtype=object)}
    with pytest.raises(InvalidInput, match="mixes numbers and strings") as err:
        check_split(train, {"m": np.array(["a", "b"])})
    assert "m" in err.value.field
