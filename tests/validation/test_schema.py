"""infer_schema and Schema.validate on small frames with hand-computed expectations."""

from __future__ import annotations

import json

import attrs
import numpy as np
import pandas as pd
import pytest

from modelops.errors import InvalidInput, NotFound
from modelops.validation import ColumnSchema, Schema, ValidationResult, infer_schema

REFERENCE = {
    "age": np.array([20, 30, 40, 50]),
    "score": np.array([0.5, np.nan, 1.5, 2.5]),
    "city": np.array(["paris", "lyon", "paris", "nice"]),
    "member": np.array([True, False, True, True]),
}


def checks(result: ValidationResult) -> list[tuple]:
    return [(i.column, i.check, i.severity, i.count) for i in result.issues]


# --------------------------------------------------------------------------------------------
# inference


def test_infer_schema_records_kind_dtype_nullability_range_and_categories():
    schema = infer_schema(REFERENCE)
    assert schema.names == ("age", "score", "city", "member")
    assert schema.column("age") == ColumnSchema(name="age", kind="numeric", dtype="int",
                                                nullable=False, min=20, max=50)
    assert schema.column("score") == ColumnSchema(name="score", kind="numeric", dtype="float",
                                                  nullable=True, min=0.5, max=2.5)
    assert schema.column("city") == ColumnSchema(name="city", kind="categorical", dtype="str",
                                                 categories=("lyon", "nice", "paris"))
    # booleans are numbers 0/1
    assert schema.column("member") == ColumnSchema(name="member", kind="numeric", dtype="bool",
                                                   min=0, max=1)
    assert type(schema.column("age").min) is int
    assert schema.column("city").allow_new_categories is False


def test_pandas_frame_gives_the_same_schema_as_a_mapping():
    assert infer_schema(pd.DataFrame(REFERENCE)) == infer_schema(REFERENCE)


def test_2d_array_needs_column_names():
    array = np.array([[1.0, 2.0], [3.0, 4.0]])
    schema = infer_schema(array, columns=["a", "b"])
    assert schema.names == ("a", "b")
    assert (schema.column("b").min, schema.column("b").max) == (2.0, 4.0)
    with pytest.raises(InvalidInput) as err:
        infer_schema(array)
    assert err.value.field == "columns"


def test_empty_frame_is_refused_naming_the_frame():
    with pytest.raises(InvalidInput, match="frame has no rows") as err:
        infer_schema({"a": np.array([], dtype=float)})
    assert err.value.field == "frame"
    with pytest.raises(InvalidInput, match="frame has no rows"):
        infer_schema(pd.DataFrame({"a": []}))
    with pytest.raises(InvalidInput, match="frame has no columns") as err:
        infer_schema({})
    assert err.value.field == "frame"


def test_all_missing_column_has_no_range_and_no_categories():
    schema = infer_schema({"x": np.array([np.nan, np.nan]), "s": np.array([None, None]),
                           "ok": np.array([1, 2])})
    x = schema.column("x")
    assert (x.kind, x.dtype, x.nullable, x.min, x.max) == ("numeric", "float", True, None, None)
    s = schema.column("s")
    assert (s.kind, s.nullable, s.categories) == ("categorical", True, None)


def test_infinities_are_left_out_of_the_range():
    schema = infer_schema({"x": np.array([1.0, np.inf, -np.inf, 3.0])})
    assert (schema.column("x").min, schema.column("x").max) == (1.0, 3.0)
    assert schema.column("x").nullable is False
    only_inf = infer_schema({"x": np.array([np.inf, -np.inf])}).column("x")
    assert (only_inf.min, only_inf.max) == (None, None)


def test_constant_column_has_equal_min_and_max():
    col = infer_schema({"c": np.full(5, 7.0)}).column("c")
    assert (col.min, col.max) == (7.0, 7.0)


def test_object_column_mixing_numbers_and_strings_is_refused_naming_the_column():
    with pytest.raises(InvalidInput, match="mixes numbers and strings") as err:
        infer_schema({"ok": np.array([1, 2]), "mixed": np.array([1, "a"], dtype=object)})
    assert "mixed" in err.value.field
    # listed as categorical, its values are labels
    col = infer_schema({"mixed": np.array([1, "a"], dtype=object)},
                       categorical=["mixed"]).column("mixed")
    assert (col.kind, col.dtype, col.categories) == ("categorical", "object", ("1", "a"))


def test_max_categories_limits_recorded_levels():
    frame = {"c": np.array(list("abcde"))}
    assert infer_schema(frame, max_categories=5).column("c").categories == tuple("abcde")
    assert infer_schema(frame, max_categories=4).column("c").categories is None
    assert infer_schema(frame, max_categories=0).column("c").categories is None
    for bad in (-1, 2.5, True, "3"):
        with pytest.raises(InvalidInput) as err:
            infer_schema(frame, max_categories=bad)
        assert err.value.field == "max_categories"


def test_forced_categorical_numbers_sort_numerically_and_whole_floats_are_integers():
    col = infer_schema({"code": np.array([10, 2, 1, 2])}, categorical=["code"]).column("code")
    assert (col.kind, col.dtype, col.categories) == ("categorical", "int", ("1", "2", "10"))
    assert (col.min, col.max) == (None, None)
    floats = infer_schema({"code": np.array([1.0, 2.0, np.nan, 2.5])}, categorical=["code"])
    assert floats.column("code").categories == ("1", "2", "2.5")
    assert floats.column("code").nullable


def test_unknown_categorical_name_is_refused():
    with pytest.raises(InvalidInput) as err:
        infer_schema(REFERENCE, categorical=["nope"])
    assert err.value.field == "categorical"


def test_object_bool_column_with_none_is_numeric_and_nullable():
    col = infer_schema({"b": np.array([True, None, False], dtype=object)}).column("b")
    assert (col.kind, col.dtype, col.nullable, col.min, col.max) == (
        "numeric", "bool", True, 0, 1)


def test_pandas_nullable_dtypes_with_na():
    frame = pd.DataFrame({"b": pd.array([True, None, False], dtype="boolean"),
                          "s": pd.array(["x", None, "y"], dtype="string"),
                          "i": pd.array([1, None, 3], dtype="Int64")})
    schema = infer_schema(frame)
    assert schema.column("b") == ColumnSchema(name="b", kind="numeric", dtype="bool",
                                              nullable=True, min=0, max=1)
    assert schema.column("s") == ColumnSchema(name="s", kind="categorical", dtype="str",
                                              nullable=True, categories=("x", "y"))
    assert schema.column("i").nullable and schema.column("i").min == 1


def test_datetime_column_is_refused_naming_it():
    with pytest.raises(InvalidInput) as err:
        infer_schema({"t": np.array(["2024-01-01"], dtype="datetime64[D]")})
    assert "t" in err.value.field


# --------------------------------------------------------------------------------------------
# the value objects and their dict form


def test_schema_round_trips_through_json():
    schema = infer_schema(REFERENCE)
    schema = attrs.evolve(schema, columns=[
        attrs.evolve(c, allow_new_categories=True) if c.name == "city" else c
        for c in schema.columns])
    data = json.loads(json.dumps(schema.to_dict()))
    assert data["version"] == 1
    assert data["columns"][2]["categories"] == ["lyon", "nice", "paris"]
    assert Schema.from_dict(data) == schema
    assert Schema.from_dict(schema.to_dict()) == schema


@pytest.mark.parametrize(("data", "field"), [
    ([], "schema"),
    ({"columns": 3}, "schema.columns"),
    ({"version": 2, "columns": []}, "schema.version"),
    ({"columns": ["x"]}, "schema.columns[0]"),
    ({"columns": [{"name": "a", "kind": "numeric"}]}, "schema.columns[0]"),
    ({"columns": [{"name": "a", "kind": "text", "dtype": "str"}]}, "schema.columns[0]"),
    ({"columns": [{"name": "a", "kind": "numeric", "dtype": "int", "min": 3, "max": 1}]},
     "schema.columns[0]"),
    ({"columns": [{"name": "a", "kind": "numeric", "dtype": "int"},
                  {"name": "a", "kind": "numeric", "dtype": "int"}]}, "schema"),
])
def test_from_dict_refuses_bad_data_naming_where(data, field):
    with pytest.raises(InvalidInput) as err:
        Schema.from_dict(data)
    assert err.value.field == field


def test_from_dict_ignores_unknown_keys():
    schema = Schema.from_dict({"columns": [{"name": "a", "kind": "numeric", "dtype": "int",
                                            "future": 1}], "extra": True})
    assert schema == Schema(columns=[ColumnSchema(name="a", kind="numeric", dtype="int")])


@pytest.mark.parametrize("kwargs", [
    {"name": "", "kind": "numeric", "dtype": "int"},
    {"name": "a", "kind": "numeric", "dtype": "decimal"},
    {"name": "a", "kind": "numeric", "dtype": "int", "min": 1},
    {"name": "a", "kind": "numeric", "dtype": "float", "min": float("nan"), "max": 1.0},
    {"name": "a", "kind": "numeric", "dtype": "float", "min": 0.0, "max": float("inf")},
    {"name": "a", "kind": "numeric", "dtype": "int", "min": True, "max": 2},
    {"name": "a", "kind": "categorical", "dtype": "str", "min": 0, "max": 1},
    {"name": "a", "kind": "numeric", "dtype": "int", "categories": ["x"]},
    {"name": "a", "kind": "categorical", "dtype": "str", "categories": ["x", "x"]},
    {"name": "a", "kind": "categorical", "dtype": "str", "categories": [1]},
    {"name": "a", "kind": "categorical", "dtype": "str", "nullable": "yes"},
])
def test_column_schema_is_validated_on_construction(kwargs):
    with pytest.raises(InvalidInput):
        ColumnSchema(**kwargs)


def test_column_schema_converts_numpy_bounds_and_is_frozen():
    col = ColumnSchema(name="a", kind="numeric", dtype="int", min=np.int64(1), max=np.int64(4))
    assert type(col.min) is int and type(col.max) is int
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        col.min = 0


def test_unknown_column_is_not_found():
    with pytest.raises(NotFound):
        infer_schema(REFERENCE).column("nope")


# --------------------------------------------------------------------------------------------
# validation


def test_matching_data_passes_without_issues():
    result = infer_schema(REFERENCE).validate(REFERENCE)
    assert result.issues == () and result.passed
    assert result.errors == () and result.warnings == ()


def test_missing_and_extra_columns():
    schema = infer_schema(REFERENCE)
    frame = {k: v for k, v in REFERENCE.items() if k != "score"}
    frame["new"] = np.zeros(4)
    result = schema.validate(frame)
    assert checks(result) == [("score", "missing_column", "error", None),
                              ("new", "extra_column", "warning", None)]
    assert not result.passed
    assert [i.check for i in result.errors] == ["missing_column"]
    assert [i.check for i in result.warnings] == ["extra_column"]


def test_extra_column_is_not_inspected():
    schema = infer_schema({"a": np.array([1, 2])})
    mixed = np.array([1, "x"], dtype=object)
    result = schema.validate({"a": np.array([1, 2]), "junk": mixed})
    assert checks(result) == [("junk", "extra_column", "warning", None)]


def test_nulls_in_a_column_that_had_none_are_an_error_with_a_count():
    schema = infer_schema(REFERENCE)
    frame = dict(REFERENCE, age=np.array([20.0, np.nan, np.nan, 30.0]),
                 score=np.array([np.nan] * 4), city=np.array(["paris", None, "lyon", "nice"]))
    result = schema.validate(frame)
    assert checks(result) == [("age", "nulls", "error", 2), ("city", "nulls", "error", 1)]
    assert result.issues[0].details["share"] == 0.5


def test_int_column_accepts_whole_floats_and_refuses_fractions():
    schema = infer_schema({"n": np.array([1, 2, 3])})
    assert schema.validate({"n": np.array([1.0, 3.0, 2.0])}).issues == ()
    result = schema.validate({"n": np.array([1.0, 2.5, 3.0, 1.25])})
    assert checks(result) == [("n", "type_mismatch", "error", 2)]
    assert result.issues[0].details["examples"] == (2.5, 1.25)
    # a fraction outside the range is reported as such too
    result = schema.validate({"n": np.array([9.5])})
    assert [i.check for i in result.issues] == ["type_mismatch", "out_of_range"]


def test_float_column_accepts_ints_and_booleans():
    schema = infer_schema({"x": np.array([0.0, 1.0])})
    assert schema.validate({"x": np.array([0, 1])}).passed
    assert schema.validate({"x": np.array([True, False])}).issues == ()


def test_bool_column_accepts_zero_one_numbers_only():
    schema = infer_schema({"b": np.array([True, False])})
    assert schema.validate({"b": np.array([0, 1, 1])}).issues == ()
    assert schema.validate({"b": np.array([0.0, 1.0])}).issues == ()
    result = schema.validate({"b": np.array([0, 2, 3])})
    assert checks(result)[0] == ("b", "type_mismatch", "error", 2)


def test_strings_in_a_numeric_column_and_numbers_in_a_string_column():
    schema = infer_schema(REFERENCE)
    frame = dict(REFERENCE, age=np.array(["a", "b", "c", "d"]), city=np.array([1, 2, 3, 4]))
    result = schema.validate(frame)
    assert checks(result) == [("age", "type_mismatch", "error", None),
                              ("city", "type_mismatch", "error", None)]
    assert result.issues[0].details == {"expected": "int", "actual": "str"}
    assert result.issues[1].details == {"expected": "str", "actual": "int"}


def test_mixed_object_column_in_new_data_is_refused_naming_it():
    schema = infer_schema(REFERENCE)
    frame = dict(REFERENCE, age=np.array([1, "a", 2, 3], dtype=object))
    with pytest.raises(InvalidInput, match="mixes numbers and strings") as err:
        schema.validate(frame)
    assert "age" in err.value.field


def test_all_missing_new_column_is_not_a_type_mismatch():
    schema = infer_schema(REFERENCE)
    frame = dict(REFERENCE, city=np.array([np.nan] * 4), age=np.array([None] * 4))
    assert checks(schema.validate(frame)) == [("age", "nulls", "error", 4),
                                              ("city", "nulls", "error", 4)]


def test_out_of_range_counts_with_examples_and_tolerance():
    schema = infer_schema(REFERENCE)  # age in [20, 50]
    frame = dict(REFERENCE, age=np.array([10, 55, 70, 55]))
    result = schema.validate(frame)
    assert checks(result) == [("age", "out_of_range", "warning", 4)]
    issue = result.issues[0]
    assert issue.details["below"] == 1 and issue.details["above"] == 3
    assert issue.details["examples"] == (10, 55, 70)
    assert (issue.details["lower"], issue.details["upper"]) == (20.0, 50.0)
    assert result.passed  # a warning
    # tolerance 0.2 widens by 0.2 * 30 = 6 on each side: [14, 56]
    result = schema.validate(frame, range_tolerance=0.2)
    assert checks(result) == [("age", "out_of_range", "warning", 2)]
    assert (result.issues[0].details["lower"], result.issues[0].details["upper"]) == (14, 56)
    assert result.issues[0].details["examples"] == (10, 70)


def test_constant_reference_column_flags_any_other_value():
    schema = infer_schema({"c": np.full(4, 5.0)})
    assert schema.validate({"c": np.array([5.0, 5.0])}).issues == ()
    result = schema.validate({"c": np.array([5.0, 5.5])}, range_tolerance=10.0)
    assert checks(result) == [("c", "out_of_range", "warning", 1)]


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf"), "0.1", True])
def test_range_tolerance_is_validated(bad):
    with pytest.raises(InvalidInput) as err:
        infer_schema(REFERENCE).validate(REFERENCE, range_tolerance=bad)
    assert err.value.field == "range_tolerance"


def test_unseen_categories_with_rows_and_categories():
    schema = infer_schema(REFERENCE)
    frame = dict(REFERENCE, city=np.array(["rome", "paris", "oslo", "rome"]))
    result = schema.validate(frame)
    assert checks(result) == [("city", "unseen_categories", "warning", 3)]
    assert result.issues[0].details == {"categories": ("oslo", "rome"), "distinct": 2}
    allowed = attrs.evolve(schema, columns=[
        attrs.evolve(c, allow_new_categories=True) for c in schema.columns])
    assert checks(allowed.validate(frame)) == [("city", "unseen_categories", "info", 3)]
    assert allowed.validate(frame).passed


def test_categories_are_not_checked_when_too_many_to_record():
    schema = infer_schema({"c": np.array(list("abc"))}, max_categories=2)
    assert schema.validate({"c": np.array(["zzz"])}).issues == ()


def test_forced_categorical_codes_match_whole_floats():
    schema = infer_schema({"code": np.array([1, 2, 3])}, categorical=["code"])
    # pandas turns an int column with a missing value into floats: 2.0 is still code "2"
    result = schema.validate({"code": np.array([2.0, 4.0])})
    assert checks(result) == [("code", "unseen_categories", "warning", 1)]
    assert result.issues[0].details["categories"] == ("4",)


def test_infinite_values_are_an_error_and_left_out_of_the_range():
    schema = infer_schema(REFERENCE)
    frame = dict(REFERENCE, score=np.array([np.inf, -np.inf, 1.0, 2.0]))
    result = schema.validate(frame)
    assert checks(result) == [("score", "infinite_values", "error", 2)]


def test_empty_new_frame_is_an_error_not_a_pass():
    schema = infer_schema(REFERENCE)
    empty = {k: v[:0] for k, v in REFERENCE.items()}
    result = schema.validate(empty)
    assert checks(result) == [(None, "empty_frame", "error", 0)]
    assert not result.passed
    result = schema.validate({})
    assert [i.check for i in result.issues] == ["empty_frame"] + ["missing_column"] * 4


def test_validate_a_pandas_frame():
    schema = infer_schema(REFERENCE)
    frame = pd.DataFrame(dict(REFERENCE, age=[20, None, 40, 99]))  # float64 with NaN
    assert checks(schema.validate(frame)) == [("age", "nulls", "error", 1),
                                              ("age", "out_of_range", "warning", 1)]


def test_schema_from_dict_validates_like_the_original():
    schema = infer_schema(REFERENCE)
    copy = Schema.from_dict(json.loads(json.dumps(schema.to_dict())))
    frame = dict(REFERENCE, age=np.array([10, 20, 30, 90]), city=np.array(["x"] * 4))
    assert copy.validate(frame) == schema.validate(frame)
