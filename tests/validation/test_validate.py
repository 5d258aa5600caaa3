"""validate(), the result objects, the package's face and its docs page."""

from __future__ import annotations

import json
import pathlib
import re
import subprocess
import sys

import attrs
import numpy as np
import pandas as pd
import pytest

import modelops.validation as validation
from modelops.errors import InvalidInput
from modelops.validation import (
    Issue,
    ValidationResult,
    check_quality,
    infer_schema,
    validate,
)

ROOT = pathlib.Path(__file__).resolve().parents[2]

REFERENCE = {
    "n": np.array([1, 2, 3, 4, 5, 6]),
    "x": np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]),
    "c": np.array(["a", "b", "a", "b", "a", "b"]),
}
NEW = {
    "n": np.array([1.0, np.nan, 3.0, 9.0]),
    "x": np.array([0.1, np.inf, 0.3, 0.3]),
    "c": np.array(["a", "z", "a", "a"]),
    "k": np.array([5, 5, 5, 5]),
}


def checks(result):
    return [(i.column, i.check, i.severity, i.count) for i in result.issues]


def test_validate_against_a_reference_merges_schema_and_quality_issues():
    result = validate(NEW, reference=REFERENCE)
    assert checks(result) == [
        ("n", "nulls", "error", 1),
        ("n", "out_of_range", "warning", 1),
        ("x", "infinite_values", "error", 1),
        ("c", "unseen_categories", "warning", 1),
        ("k", "extra_column", "warning", None),
        # quality: missing values in n and the infinity in x were said by the schema
        ("k", "constant_column", "warning", None),
    ]
    assert not result.passed
    assert result.score == check_quality(NEW).score


def test_validate_with_a_schema_equals_validate_with_its_reference():
    schema = infer_schema(REFERENCE)
    assert validate(NEW, schema=schema) == validate(NEW, reference=REFERENCE)


def test_validate_without_schema_is_the_quality_check():
    result = validate(NEW, target="c")
    quality = check_quality(NEW, target="c")
    assert result.issues == quality.issues and result.score == quality.score


def test_quality_options_pass_through():
    frame = {"v": np.array([0.0] * 20 + [1.0, 2.0, 30.0])}
    iqr = validate(frame)
    z = validate(frame, outlier_method="zscore", z_threshold=4.0)
    assert [i.count for i in iqr.issues if i.check == "outliers"] == [3]
    assert [i.count for i in z.issues if i.check == "outliers"] == [1]
    with pytest.raises(TypeError):
        validate(frame, no_such_option=1)


def test_schema_categoricals_stay_categorical_for_the_quality_checks():
    reference = {"code": np.array([1, 2, 3, 1000])}
    result = validate({"code": np.array([1, 2, 3, 1000])}, reference=reference,
                      categorical=["code"])
    assert result.issues == ()  # 1000 is a code, not an outlier


def test_reference_or_schema_not_both():
    with pytest.raises(InvalidInput) as err:
        validate(NEW, reference=REFERENCE, schema=infer_schema(REFERENCE))
    assert err.value.field == "schema"
    with pytest.raises(InvalidInput) as err:
        validate(NEW, schema={"columns": []})
    assert err.value.field == "schema"


def test_empty_reference_is_named():
    with pytest.raises(InvalidInput, match="frame has no rows") as err:
        validate(NEW, reference={k: v[:0] for k, v in REFERENCE.items()})
    assert err.value.field == "reference"
    with pytest.raises(InvalidInput) as err:
        validate(NEW, reference="not a frame")
    assert err.value.field == "reference"


def test_empty_new_frame_is_one_error_and_score_zero():
    result = validate({k: v[:0] for k, v in REFERENCE.items()}, reference=REFERENCE)
    assert checks(result) == [(None, "empty_frame", "error", 0)]
    assert result.score == 0.0


def test_pandas_frames_throughout():
    result = validate(pd.DataFrame(NEW), reference=pd.DataFrame(REFERENCE))
    assert result == validate(NEW, reference=REFERENCE)


def test_2d_arrays_with_column_names():
    ref = np.array([[1.0, 2.0], [2.0, 3.0]])
    new = np.array([[1.0, 2.0], [9.0, 3.0]])
    result = validate(new, reference=ref, columns=["a", "b"])
    assert checks(result) == [("a", "out_of_range", "warning", 1)]


# --------------------------------------------------------------------------------------------
# the value objects


def test_issue_is_validated_and_frozen():
    issue = Issue(column="a", check="nulls", severity="error", message="m", count=np.int64(2),
                  details={"examples": [1, 2], "nested": {"k": [3]}})
    assert type(issue.count) is int
    assert issue.details == {"examples": (1, 2), "nested": {"k": (3,)}}
    assert issue.to_dict()["details"] == {"examples": [1, 2], "nested": {"k": [3]}}
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        issue.count = 3
    with pytest.raises(TypeError):
        issue.details["x"] = 1
    assert hash(issue) == hash(attrs.evolve(issue))
    for bad in ({"severity": "fatal"}, {"check": ""}, {"count": -1}, {"count": 1.5},
                {"count": True}, {"column": 3}, {"message": None}):
        kwargs = {"check": "c", "severity": "info", "message": "m", **bad}
        with pytest.raises(InvalidInput):
            Issue(**kwargs)


def test_validation_result_formats():
    result = validate(NEW, reference=REFERENCE)
    assert isinstance(result, ValidationResult)
    assert [i.check for i in result.errors] == ["nulls", "infinite_values"]
    assert len(result.warnings) == 4 and result.infos == ()
    data = result.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert (data["passed"], data["errors"], data["warnings"], data["infos"]) == (
        False, 2, 4, 0)
    assert data["issues"][1]["details"]["examples"] == [9]
    table = result.to_table()
    assert table[0] == {"severity": "error", "column": "n", "check": "nulls", "count": 1,
                        "message": "1 missing value in a column that had none"}
    assert len(pd.DataFrame(table)) == len(result.issues)
    lines = str(result).splitlines()
    assert lines[0].startswith("FAILED: 2 errors, 4 warnings, 0 info; quality score ")
    assert lines[1].split() == ["severity", "column", "check", "count", "message"]
    assert lines[3].split()[:4] == ["error", "n", "nulls", "1"]
    assert str(ValidationResult()) == "passed: 0 errors, 0 warnings, 0 info\nno issues"
    with pytest.raises(InvalidInput):
        ValidationResult(issues=["not an issue"])


# --------------------------------------------------------------------------------------------
# the package


def test_every_public_name_is_exported_and_documented():
    for name in validation.__all__:
        obj = getattr(validation, name)
        if callable(obj):
            assert obj.__doc__ and obj.__doc__.strip(), name
    for name in ("infer_schema", "Schema", "ColumnSchema", "ValidationResult", "Issue",
                 "check_quality", "QualityReport", "check_split", "SplitReport", "validate"):
        assert name in validation.__all__
    for cls in (validation.Schema, validation.ValidationResult, validation.QualityReport,
                validation.SplitReport):
        for method in ("to_dict",):
            assert getattr(cls, method).__doc__


def test_import_loads_neither_pandas_nor_scipy():
    code = ("import sys, modelops.validation; "
            "print(','.join(m for m in ('pandas', 'scipy', 'polars') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == ""


def test_checks_load_neither_pandas_nor_scipy():
    code = ("import sys, numpy as np; from modelops.validation import *; "
            "f = {'a': np.array([1.0, 2, 3, 40]), 'b': np.array(['x', 'y', 'x', 'x'])}; "
            "validate(f, reference=f, target='b'); check_split(f, f, target='b'); "
            "check_quality(f, outlier_method='zscore'); "
            "print(','.join(m for m in ('pandas', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == ""


def test_docs_page_examples_run(tmp_path, monkeypatch, capsys):
    page = ROOT / "docs" / "validation.md"
    blocks = re.findall(r"^```python\n(.*?)^```", page.read_text(), re.DOTALL | re.MULTILINE)
    assert blocks
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "docs_validation"}
    for block in blocks:
        exec(compile(block, str(page), "exec"), namespace)
    assert "infinite_values" in capsys.readouterr().out


def test_docs_page_lists_every_check_code():
    page = (ROOT / "docs" / "validation.md").read_text()
    for code in ("empty_frame", "missing_column", "extra_column", "type_mismatch", "nulls",
                 "infinite_values", "out_of_range", "unseen_categories", "duplicate_rows",
                 "missing_values", "all_missing", "constant_column", "outliers",
                 "class_imbalance", "single_class", "no_common_columns", "leakage",
                 "label_shift", "unseen_labels"):
        assert f"`{code}`" in page, code
