"""Tests of modelops.query: the MLflow-style filter language, ordering and paging."""

from __future__ import annotations

import functools
import math
import os
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelops.entities.tracking import Metric, Page, Run, RunData, RunInfo
from modelops.errors import FilterSyntaxError, InvalidInput
from modelops.query import (
    ATTRIBUTES,
    MAX_RESULTS,
    Comparison,
    Filter,
    OrderBy,
    decode_page_token,
    encode_page_token,
    parse_filter,
    parse_order_by,
    query_fingerprint,
    search,
    sort_runs,
)

NAN = float("nan")
INF = float("inf")


def make_run(
    run_id: str = "r1",
    *,
    metrics: dict[str, float] | None = None,
    params: dict[str, str] | None = None,
    tags: dict[str, str] | None = None,
    name: str | None = None,
    status: str = "FINISHED",
    start_time: int = 0,
    end_time: int | None = None,
    lifecycle_stage: str = "active",
    user: str = "alice",
    experiment_id: str = "0",
    artifact_uri: str = "file:///tmp/a",
    parent_run_id: str | None = None,
) -> Run:
    info = RunInfo(
        run_id=run_id,
        experiment_id=experiment_id,
        run_name=name or f"name-{run_id}",
        status=status,
        start_time=start_time,
        end_time=end_time,
        lifecycle_stage=lifecycle_stage,
        artifact_uri=artifact_uri,
        user=user,
        parent_run_id=parent_run_id,
    )
    latest = {k: Metric(k, v, 1000, 3) for k, v in (metrics or {}).items()}
    return Run(info, RunData(latest=latest, params=params or {}, tags=tags or {}))


def matches(text: str, run: Run) -> bool:
    f = parse_filter(text)
    assert f is not None
    return f.matches(run)


def ids(runs: list[Run] | tuple[Run, ...]) -> list[str]:
    return [r.run_id for r in runs]


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize("text", [None, "", "   ", "\n\t "])
def test_blank_filter_is_none(text):
    assert parse_filter(text) is None


def test_non_string_filter_is_refused():
    with pytest.raises(InvalidInput):
        parse_filter(42)  # type: ignore[arg-type]


def test_mlflow_example_and():
    f = parse_filter("metrics.rmse < 1 and params.model = 'tree'")
    assert f == Filter((Comparison("metrics", "rmse", "<", 1.0),
                        Comparison("params", "model", "=", "tree")))
    assert f.text == "metrics.rmse < 1 and params.model = 'tree'"
    assert isinstance(f.clauses[0].value, float)


def test_mlflow_example_quoted_tag_key():
    f = parse_filter("tags.\"mlflow.runName\" = 'x'")
    assert f.clauses == (Comparison("tags", "mlflow.runName", "=", "x"),)


def test_mlflow_example_status():
    assert parse_filter("attributes.status = 'FINISHED'").clauses == (
        Comparison("attributes", "status", "=", "FINISHED"),)


def test_mlflow_example_like_ilike_in():
    assert parse_filter("params.model LIKE 'rand%'").clauses == (
        Comparison("params", "model", "LIKE", "rand%"),)
    assert parse_filter("tags.t ILIKE '%FOO%'").clauses == (
        Comparison("tags", "t", "ILIKE", "%FOO%"),)
    assert parse_filter("params.x IN ('1', '2')").clauses == (
        Comparison("params", "x", "IN", ("1", "2")),)
    assert parse_filter("params.x NOT IN ('1')").clauses == (
        Comparison("params", "x", "NOT IN", ("1",)),)


@pytest.mark.parametrize(("prefix", "kind"), [
    ("metrics", "metrics"), ("metric", "metrics"), ("params", "params"), ("param", "params"),
    ("tags", "tags"), ("tag", "tags"), ("METRICS", "metrics"), ("Params", "params"),
])
def test_prefix_aliases(prefix, kind):
    value = "1" if kind == "metrics" else "'1'"
    assert parse_filter(f"{prefix}.k = {value}").clauses[0].kind == kind


@pytest.mark.parametrize("prefix", ["attributes", "attribute", "attr", "run"])
def test_attribute_prefix_aliases(prefix):
    assert parse_filter(f"{prefix}.run_id = 'a'").clauses == (
        Comparison("attributes", "run_id", "=", "a"),)


@pytest.mark.parametrize(("written", "canonical"), [
    ("name", "run_name"), ("run_name", "run_name"), ("user_id", "user"), ("user", "user"),
    ("status", "status"), ("experiment_id", "experiment_id"), ("artifact_uri", "artifact_uri"),
    ("lifecycle_stage", "lifecycle_stage"), ("parent_run_id", "parent_run_id"),
    ("run_id", "run_id"), ("`name`", "run_name"),
])
def test_attribute_names_canonicalised(written, canonical):
    f = parse_filter(f"attributes.{written} = 'x'")
    assert f.clauses[0].key == canonical


@pytest.mark.parametrize("written", ["start_time", "end_time", "created"])
def test_numeric_attributes(written):
    f = parse_filter(f"attributes.{written} >= 100")
    assert f.clauses[0].value == 100.0
    assert f.clauses[0].key in ("start_time", "end_time")


def test_bare_attribute_names():
    assert parse_filter("status = 'FINISHED' and start_time > 5").clauses == (
        Comparison("attributes", "status", "=", "FINISHED"),
        Comparison("attributes", "start_time", ">", 5.0),
    )


@pytest.mark.parametrize(("text", "key"), [
    ("metrics.train/loss < 1", "train/loss"),
    ("metrics.a.b < 1", "a.b"),
    ("metrics.a-b_c.d/e9 < 1", "a-b_c.d/e9"),
    ("metrics.`my metric` < 1", "my metric"),
    ('metrics."my metric" < 1', "my metric"),
    ("metrics.`a=b > c` < 1", "a=b > c"),
    ("metrics.`back\\`tick` < 1", "back`tick"),
    ('metrics."dq\\"x" < 1', 'dq"x'),
    ("metrics.`slash\\\\` < 1", "slash\\"),
    ("metrics.x<1", "x"),
    ("metrics.loss>=-1", "loss"),
])
def test_keys(text, key):
    assert parse_filter(text).clauses[0].key == key


def test_quoted_param_key():
    assert parse_filter('params."learning rate" = \'0.1\'').clauses == (
        Comparison("params", "learning rate", "=", "0.1"),)


@pytest.mark.parametrize(("literal", "value"), [
    ("1", 1.0), ("0", 0.0), ("-3", -3.0), ("+2", 2.0), ("0.5", 0.5), (".5", 0.5), ("5.", 5.0),
    ("1e3", 1000.0), ("1E-3", 0.001), ("-2.5e+2", -250.0), ("inf", INF), ("-inf", -INF),
    ("Infinity", INF),
])
def test_numbers(literal, value):
    assert parse_filter(f"metrics.m > {literal}").clauses[0].value == value


def test_nan_literal():
    assert math.isnan(parse_filter("metrics.m != nan").clauses[0].value)


@pytest.mark.parametrize(("literal", "value"), [
    ("'abc'", "abc"), ('"abc"', "abc"), ("''", ""), ("'it\\'s'", "it's"),
    ('"say \\"hi\\""', 'say "hi"'), ("'a\"b'", 'a"b'), ('"a\'b"', "a'b"),
    ("'back\\\\slash'", "back\\slash"), ("'keep\\n'", "keep\\n"), ("'a b  c'", "a b  c"),
    ("'AND or ('", "AND or ("),
])
def test_strings(literal, value):
    assert parse_filter(f"params.p = {literal}").clauses[0].value == value


@pytest.mark.parametrize("text", [
    "metrics.a > 1 and params.b like 'x' and tags.c ilike 'y' and params.d in ('z')",
    "metrics.a > 1 AND params.b LIKE 'x' AND tags.c ILIKE 'y' AND params.d IN ('z')",
    "metrics.a > 1 AnD params.b LiKe 'x' aNd tags.c IlIkE 'y' and params.d In ('z')",
])
def test_keywords_case_insensitive(text):
    ops = [c.op for c in parse_filter(text).clauses]
    assert ops == [">", "LIKE", "ILIKE", "IN"]


@pytest.mark.parametrize("text", [
    "params.d not in ('z')", "params.d NOT   IN ('z')", "params.d Not In('z')",
])
def test_not_in_spellings(text):
    assert parse_filter(text).clauses[0].op == "NOT IN"


def test_whitespace_is_free():
    f = parse_filter("  metrics.a>1   AND\tparams.b='x'\n and params.c IN(  'p' ,'q'  )  ")
    assert f == parse_filter("metrics.a > 1 AND params.b = 'x' AND params.c IN ('p', 'q')")


def test_canonical_str():
    f = parse_filter(
        "metric.rmse<1 and param.`learning rate`='0.1' and attr.name like 'a\\'b%' "
        "and run.status in ('FINISHED', 'FAILED') and metrics.x != nan and metrics.y > 1.5e-7"
    )
    assert str(f) == (
        "metrics.rmse < 1 AND params.`learning rate` = '0.1' AND attributes.run_name LIKE "
        "'a\\'b%' AND attributes.status IN ('FINISHED', 'FAILED') AND metrics.x != nan AND "
        "metrics.y > 1.5e-07"
    )
    assert parse_filter(str(f)) == f
    assert str(Comparison("metrics", "m", ">", 1e20)) == "metrics.m > 1e+20"
    assert str(OrderBy("metrics", "a b", False)) == "metrics.`a b` DESC"


def test_filter_equality_ignores_text_and_hashes():
    a = parse_filter("metrics.a > 1")
    b = parse_filter("metric.a>1.0")
    assert a == b and hash(a) == hash(b)
    assert a.text != b.text
    assert parse_filter("metrics.a > 1") != parse_filter("metrics.a >= 1")
    assert Filter((Comparison("metrics", "a", ">", 1),)).text == "metrics.a > 1"


def test_nan_comparisons_are_equal():
    assert Comparison("metrics", "a", "=", NAN) == Comparison("metrics", "a", "=", NAN)
    assert hash(Comparison("metrics", "a", "=", NAN)) == hash(Comparison("metrics", "a", "=",
                                                                         NAN))
    assert Comparison("metrics", "a", "=", NAN) != Comparison("metrics", "a", "=", 1.0)


def test_parse_is_cached():
    text = "metrics.cached > 0.25"
    assert parse_filter(text) is parse_filter(text)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"kind": "metric", "key": "a", "op": "=", "value": 1.0}, "Comparison.kind"),
    ({"kind": "metrics", "key": "", "op": "=", "value": 1.0}, "Comparison.key"),
    ({"kind": "attributes", "key": "name", "op": "=", "value": "x"}, "Comparison.key"),
    ({"kind": "metrics", "key": "a", "op": "LIKE", "value": "x"}, "Comparison.op"),
    ({"kind": "params", "key": "a", "op": "<", "value": "x"}, "Comparison.op"),
    ({"kind": "params", "key": "a", "op": "==", "value": "x"}, "Comparison.op"),
    ({"kind": "metrics", "key": "a", "op": "=", "value": "1"}, "Comparison.value"),
    ({"kind": "metrics", "key": "a", "op": "=", "value": True}, "Comparison.value"),
    ({"kind": "params", "key": "a", "op": "=", "value": 1.0}, "Comparison.value"),
    ({"kind": "params", "key": "a", "op": "IN", "value": "ab"}, "Comparison.value"),
    ({"kind": "params", "key": "a", "op": "IN", "value": ()}, "Comparison.value"),
    ({"kind": "params", "key": "a", "op": "IN", "value": ("a", 1)}, "Comparison.value"),
    ({"kind": "attributes", "key": "start_time", "op": "=", "value": "1"}, "Comparison.value"),
])
def test_comparison_validates(kwargs, field):
    with pytest.raises(InvalidInput) as info:
        Comparison(**kwargs)
    assert info.value.field == field


def test_comparison_normalises_values():
    assert Comparison("metrics", "a", "<", 3).value == 3.0
    assert isinstance(Comparison("metrics", "a", "<", 3).value, float)
    assert Comparison("params", "a", "IN", ["x", "y"]).value == ("x", "y")


def test_filter_rejects_non_comparisons():
    with pytest.raises(InvalidInput):
        Filter(("metrics.a > 1",))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- parse errors


@pytest.mark.parametrize(("text", "position", "fragment"), [
    ("metrics.f1 >> 0.9", 11, "comparison operator"),
    ("metrics.f1 =! 0.9", 11, "comparison operator"),
    ("metrics.f1 <> 0.9", 11, "comparison operator"),
    ("metrics.f1 == 0.9", 11, "comparison operator"),
    ("metrics.f1 > 'x'", 13, "number"),
    ('metrics.f1 > "x"', 13, "number"),
    ("metrics.f1 > abc", 13, "expected a number"),
    ("metrics.f1 >", 12, "end of the filter"),
    ("metrics.f1", 10, "comparison operator"),
    ("metrics.f1 is 3", 11, "comparison operator"),
    ("params.a = 'abc", 11, "unterminated"),
    ('params.a = "abc', 11, "unterminated"),
    ("params.a = 'ab\\'", 11, "unterminated"),
    ("params.`abc = 'x'", 7, "unterminated"),
    ("metrics.a > 1 foo", 14, "expected AND"),
    ("metrics.a > 1 and metrics.b < 2 )", 32, "expected AND"),
    ("metrics.a > 1.2.3", 15, "expected AND"),
    ("metrics.a > 1x", 13, "expected AND"),
    ("metrics.a > 1 , metrics.b < 1", 14, "expected AND"),
    ("metrics.a > 1 andmetrics.b < 1", 14, "expected AND"),
    ("metrics.a > 1 or metrics.b < 2", 14, "OR is not supported"),
    ("metrics.a > 1 OR metrics.b < 2", 14, "OR is not supported"),
    ("metrics.a > 1 || metrics.b < 2", 14, "OR is not supported"),
    ("(metrics.a > 1)", 0, "OR is not supported"),
    ("metrics.a > 1 and (metrics.b < 2 or metrics.c < 3)", 18, "OR is not supported"),
    ("metrics.a > 1 and", 17, "comparison after AND"),
    ("metrics.a > 1 and  ", 19, "comparison after AND"),
    ("and metrics.a > 1", 0, "expected an identifier"),
    ("params.n = 200", 11, "quoted"),
    ("params.n = tree", 11, "quoted string"),
    ("tags.n != 1.5", 10, "quoted"),
    ("attributes.run_id = 7", 20, "quoted"),
    ("params.a < 'x'", 9, "compares strings"),
    ("tags.a >= 'x'", 7, "compares strings"),
    ("attributes.status > 'A'", 18, "compares strings"),
    ("metrics.a LIKE '%'", 10, "compares numbers"),
    ("metrics.a IN (1)", 10, "compares numbers"),
    ("attributes.start_time ILIKE '1%'", 22, "compares numbers"),
    ("attributes.end_time = '1'", 22, "number"),
    ("attributes.foo = 'x'", 11, "unknown attribute"),
    ("attributes.`bad name` = 'x'", 11, "unknown attribute"),
    ("foo = 'x'", 0, "unknown attribute"),
    ("foo.bar = 'x'", 0, "unknown prefix"),
    ("metrics > 1", 7, "expected '.' and a key"),
    ("metrics. > 1", 8, "expected a key"),
    ("metrics.`` > 1", 8, "empty"),
    ("'metrics.a' > 1", 0, "expected an identifier"),
    ("= 1", 0, "expected an identifier"),
    ("params.x IN 'a'", 12, "parenthesised list"),
    ("params.x IN ()", 13, "at least one"),
    ("params.x IN ('a' 'b')", 17, "expected ',' or ')'"),
    ("params.x IN ('a',)", 17, "quoted string"),
    ("params.x IN ('a', 2)", 18, "quoted"),
    ("params.x IN ('a'", 16, "expected ',' or ')'"),
    ("params.x NOT LIKE 'a'", 13, "expected IN after NOT"),
    ("params.x NOT", 12, "expected IN after NOT"),
    ("params.x LIKES 'a'", 9, "comparison operator"),
])
def test_syntax_errors(text, position, fragment):
    with pytest.raises(FilterSyntaxError) as info:
        parse_filter(text)
    error = info.value
    assert error.position == position, str(error)
    assert error.text == text
    message = str(error)
    assert fragment in message
    assert text in message
    assert "\n  " + " " * position + "^" in message
    assert isinstance(error, InvalidInput) and isinstance(error, ValueError)


def test_unknown_attribute_lists_valid_ones():
    with pytest.raises(FilterSyntaxError) as info:
        parse_filter("attributes.nope = 'x'")
    for name in ATTRIBUTES:
        assert name in str(info.value)


# --------------------------------------------------------------------------- evaluation


RUN = make_run(
    "r1",
    metrics={"f1": 0.8, "loss": -0.5, "train/loss": 2.0, "my metric": 3.0, "bad": NAN,
             "big": INF},
    params={"model": "RandomForest", "n": "200", "lr": "0.1", "a.b": "dotted",
            "learning rate": "0.01", "odd": "50%_off", "empty": ""},
    tags={"t": "foo bar", "mlflow.runName": "x", "multi": "line1\nline2"},
    name="my-run",
    status="FINISHED",
    start_time=1000,
    end_time=2000,
    user="alice",
    experiment_id="7",
    artifact_uri="s3://bucket/7/r1",
)


@pytest.mark.parametrize(("op", "value", "expected"), [
    ("=", "0.8", True), ("=", "0.7", False),
    ("!=", "0.8", False), ("!=", "0.7", True),
    ("<", "0.9", True), ("<", "0.8", False),
    ("<=", "0.8", True), ("<=", "0.79", False),
    (">", "0.7", True), (">", "0.8", False),
    (">=", "0.8", True), (">=", "0.81", False),
])
def test_metric_operators(op, value, expected):
    assert matches(f"metrics.f1 {op} {value}", RUN) is expected


def test_metric_special_keys_and_values():
    assert matches("metrics.loss < 0", RUN)
    assert matches("metrics.loss = -5e-1", RUN)
    assert matches("metrics.train/loss = 2", RUN)
    assert matches("metrics.`my metric` = 3", RUN)
    assert matches("metrics.big > 1e308", RUN)
    assert matches("metrics.big = inf", RUN)


@pytest.mark.parametrize(("op", "expected"), [
    ("=", False), ("!=", True), ("<", False), ("<=", False), (">", False), (">=", False),
])
@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf"])
def test_nan_metric_semantics(op, expected, value):
    assert matches(f"metrics.bad {op} {value}", RUN) is expected


@pytest.mark.parametrize(("clause", "expected"), [
    ("params.model = 'RandomForest'", True),
    ("params.model = 'randomforest'", False),
    ("params.model != 'RandomForest'", False),
    ("params.model != 'tree'", True),
    ("params.n = '200'", True),
    ("params.n = '200.0'", False),
    ("params.model LIKE 'Random%'", True),
    ("params.model LIKE 'random%'", False),
    ("params.model LIKE '%Forest'", True),
    ("params.model LIKE '%dom%'", True),
    ("params.model LIKE 'Random'", False),
    ("params.model LIKE 'R_ndomForest'", True),
    ("params.model LIKE 'R_domForest'", False),
    ("params.model LIKE '%'", True),
    ("params.model ILIKE 'random%'", True),
    ("params.model ILIKE '%FOREST'", True),
    ("params.model ILIKE 'tree%'", False),
    ("params.model IN ('tree', 'RandomForest')", True),
    ("params.model IN ('tree', 'randomforest')", False),
    ("params.model NOT IN ('tree', 'svm')", True),
    ("params.model NOT IN ('RandomForest')", False),
    ("params.lr LIKE '0.1'", True),
    ("params.lr LIKE '0_1'", True),
    ("params.n LIKE '2.0'", False),  # '.' is literal, not a regex wildcard
    ("params.odd LIKE '50\\%%'", True),
    ("params.odd LIKE '50\\%\\_off'", True),
    ("params.model LIKE 'Random\\%'", False),
    ("params.a.b = 'dotted'", True),
    ("params.`learning rate` = '0.01'", True),
    ("params.empty = ''", True),
    ("params.empty LIKE '%'", True),
    ("params.empty != 'x'", True),
])
def test_param_operators(clause, expected):
    assert matches(clause, RUN) is expected


@pytest.mark.parametrize(("clause", "expected"), [
    ("tags.t = 'foo bar'", True),
    ("tags.t != 'foo bar'", False),
    ("tags.t != 'foo'", True),
    ("tags.t LIKE 'foo%'", True),
    ("tags.t LIKE 'FOO%'", False),
    ("tags.t ILIKE '%FOO%'", True),
    ("tags.t ILIKE '%BAZ%'", False),
    ("tags.t IN ('foo bar')", True),
    ("tags.t NOT IN ('foo bar')", False),
    ("tags.\"mlflow.runName\" = 'x'", True),
    ("tags.mlflow.runName = 'x'", True),
    ("tags.multi LIKE 'line1%line2'", True),
    ("tags.multi LIKE 'line1_line2'", True),
])
def test_tag_operators(clause, expected):
    assert matches(clause, RUN) is expected


@pytest.mark.parametrize(("clause", "expected"), [
    ("attributes.status = 'FINISHED'", True),
    ("attributes.status != 'FINISHED'", False),
    ("attributes.status IN ('FAILED', 'FINISHED')", True),
    ("attributes.status NOT IN ('FAILED', 'KILLED')", True),
    ("attributes.status LIKE 'FIN%'", True),
    ("attributes.status = 'finished'", False),
    ("attributes.status ILIKE 'finished'", True),
    ("attributes.lifecycle_stage = 'active'", True),
    ("attributes.lifecycle_stage = 'deleted'", False),
    ("attributes.run_id = 'r1'", True),
    ("attributes.run_id IN ('r0', 'r1')", True),
    ("attributes.run_id NOT IN ('r1')", False),
    ("attributes.run_name = 'my-run'", True),
    ("attributes.name LIKE 'my-%'", True),
    ("run.name ILIKE 'MY-RUN'", True),
    ("attributes.user = 'alice'", True),
    ("attributes.user_id != 'bob'", True),
    ("attributes.experiment_id = '7'", True),
    ("attributes.artifact_uri LIKE 's3://%'", True),
    ("attributes.start_time = 1000", True),
    ("attributes.start_time != 1000", False),
    ("attributes.start_time > 999", True),
    ("attributes.start_time >= 1000", True),
    ("attributes.start_time < 1000", False),
    ("attributes.start_time <= 1e3", True),
    ("attributes.created = 1000", True),
    ("attributes.end_time = 2000", True),
    ("attributes.end_time > 1500.5", True),
    ("attributes.end_time < 1500", False),
    ("status = 'FINISHED' and start_time >= 1000 and name = 'my-run'", True),
])
def test_attribute_operators(clause, expected):
    assert matches(clause, RUN) is expected


def test_status_and_stage_values():
    failed = make_run("r2", status="FAILED", lifecycle_stage="deleted")
    assert matches("attributes.status = 'FAILED'", failed)
    assert matches("attributes.lifecycle_stage = 'deleted'", failed)
    assert not matches("attributes.lifecycle_stage = 'active'", failed)


@pytest.mark.parametrize("clause", [
    "metrics.nope = 1", "metrics.nope != 1", "metrics.nope < 1", "metrics.nope <= 1",
    "metrics.nope > 1", "metrics.nope >= 1", "metrics.nope != nan",
    "params.nope = 'x'", "params.nope != 'x'", "params.nope LIKE '%'",
    "params.nope ILIKE '%'", "params.nope IN ('x')", "params.nope NOT IN ('x')",
    "tags.nope = 'x'", "tags.nope != 'x'", "tags.nope LIKE '%'", "tags.nope NOT IN ('x')",
    "attributes.end_time != 5", "attributes.end_time > 0", "attributes.end_time < 1e20",
    "attributes.parent_run_id != 'p'", "attributes.parent_run_id LIKE '%'",
    "attributes.parent_run_id NOT IN ('p')",
])
def test_missing_key_never_matches(clause):
    run = make_run("r3", metrics={"m": 1.0}, params={"p": "x"}, tags={"t": "x"})
    assert not matches(clause, run)


def test_parent_run_id_present():
    child = make_run("c", parent_run_id="p")
    assert matches("attributes.parent_run_id = 'p'", child)
    assert matches("attributes.parent_run_id != 'q'", child)


def test_and_requires_every_clause():
    assert matches("metrics.f1 > 0.5 and params.model LIKE 'Rand%' and tags.t ILIKE 'FOO%'",
                   RUN)
    assert not matches("metrics.f1 > 0.5 and params.model LIKE 'tree%'", RUN)
    assert not matches("metrics.f1 > 0.9 and params.model LIKE 'Rand%'", RUN)


def test_metric_evaluation_uses_latest_point():
    run = Run(
        RunInfo(run_id="r", experiment_id="0", run_name="r"),
        RunData(latest={"m": Metric("m", 0.25, 5, 10)}),
    )
    assert matches("metrics.m = 0.25", run)


def test_select_and_comparison_matches():
    runs = [make_run(f"r{i}", metrics={"m": float(i)}) for i in range(5)]
    f = parse_filter("metrics.m >= 1 and metrics.m < 4")
    assert ids(f.select(runs)) == ["r1", "r2", "r3"]
    assert f.clauses[0].matches(runs[1]) and not f.clauses[0].matches(runs[0])
    assert ids(parse_filter("metrics.m > 2").select(runs)) == ["r3", "r4"]


# --------------------------------------------------------------------------- order_by


@pytest.mark.parametrize(("clause", "expected"), [
    ("metrics.f1 DESC", OrderBy("metrics", "f1", False)),
    ("metrics.f1 desc", OrderBy("metrics", "f1", False)),
    ("params.n ASC", OrderBy("params", "n", True)),
    ("attributes.start_time", OrderBy("attributes", "start_time", True)),
    ("  tag.t   Desc  ", OrderBy("tags", "t", False)),
    ("name", OrderBy("attributes", "run_name", True)),
    ("start_time DESC", OrderBy("attributes", "start_time", False)),
    ("run_id", OrderBy("attributes", "run_id", True)),
    ("metrics.`my metric` DESC", OrderBy("metrics", "my metric", False)),
    ('params."learning rate"', OrderBy("params", "learning rate", True)),
    ("metrics.train/loss", OrderBy("metrics", "train/loss", True)),
    ("attr.name", OrderBy("attributes", "run_name", True)),
])
def test_parse_order_by(clause, expected):
    assert parse_order_by([clause]) == (expected,)


def test_parse_order_by_none_and_many():
    assert parse_order_by(None) == ()
    assert parse_order_by([]) == ()
    assert parse_order_by(["metrics.a", "params.b DESC"]) == (
        OrderBy("metrics", "a"), OrderBy("params", "b", False))


@pytest.mark.parametrize(("clause", "position", "fragment"), [
    ("metrics.f1 DOWN", 11, "expected ASC, DESC"),
    ("metrics.f1 DESC extra", 16, "end of the clause"),
    ("", 0, "empty"),
    ("   ", 3, "empty"),
    ("nope", 0, "unknown attribute"),
    ("attributes.nope DESC", 11, "unknown attribute"),
    ("foo.bar", 0, "unknown prefix"),
    ("metrics.", 8, "expected a key"),
    ("metrics", 7, "expected '.' and a key"),
    ("metrics.`a DESC", 8, "unterminated"),
    ("metrics.a > 1", 10, "expected ASC, DESC"),
])
def test_order_by_errors(clause, position, fragment):
    with pytest.raises(FilterSyntaxError) as info:
        parse_order_by(["metrics.ok", clause])
    assert info.value.position == position, str(info.value)
    assert info.value.text == clause
    assert fragment in str(info.value)


def test_order_by_non_string_refused():
    with pytest.raises(InvalidInput) as info:
        parse_order_by(["metrics.a", 3])  # type: ignore[list-item]
    assert info.value.field == "order_by[1]"


def test_order_by_validates():
    with pytest.raises(InvalidInput):
        OrderBy("metric", "a")
    with pytest.raises(InvalidInput):
        OrderBy("attributes", "nope")
    with pytest.raises(InvalidInput):
        OrderBy("metrics", "a", "yes")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- sorting


def metric_runs() -> list[Run]:
    return [
        make_run("a", metrics={"m": 2.0}, start_time=1),
        make_run("b", metrics={}, start_time=2),
        make_run("c", metrics={"m": NAN}, start_time=3),
        make_run("d", metrics={"m": -1.0}, start_time=4),
        make_run("e", metrics={"m": 5.0}, start_time=5),
        make_run("f", metrics={"m": INF}, start_time=6),
        make_run("g", metrics={"m": -INF}, start_time=7),
    ]


def test_sort_metric_ascending_nan_then_missing_last():
    assert ids(sort_runs(metric_runs(), parse_order_by(["metrics.m ASC"]))) == [
        "g", "d", "a", "e", "f", "c", "b"]


def test_sort_metric_descending_nan_then_missing_last():
    assert ids(sort_runs(metric_runs(), parse_order_by(["metrics.m DESC"]))) == [
        "f", "e", "a", "d", "g", "c", "b"]


def test_sort_params_as_strings_missing_last():
    runs = [
        make_run("a", params={"p": "b"}),
        make_run("b", params={"p": "10"}),
        make_run("c"),
        make_run("d", params={"p": "9"}),
    ]
    assert ids(sort_runs(runs, parse_order_by(["params.p"]))) == ["b", "d", "a", "c"]
    assert ids(sort_runs(runs, parse_order_by(["params.p DESC"]))) == ["a", "d", "b", "c"]


def test_sort_tags_and_attributes():
    runs = [
        make_run("a", tags={"t": "y"}, name="zeta", end_time=None, status="FAILED"),
        make_run("b", tags={"t": "x"}, name="alpha", end_time=5, status="FINISHED"),
        make_run("c", name="mid", end_time=3, status="KILLED"),
    ]
    assert ids(sort_runs(runs, parse_order_by(["tags.t"]))) == ["b", "a", "c"]
    assert ids(sort_runs(runs, parse_order_by(["name"]))) == ["b", "c", "a"]
    assert ids(sort_runs(runs, parse_order_by(["attributes.name DESC"]))) == ["a", "c", "b"]
    assert ids(sort_runs(runs, parse_order_by(["end_time DESC"]))) == ["b", "c", "a"]
    assert ids(sort_runs(runs, parse_order_by(["end_time"]))) == ["c", "b", "a"]
    assert ids(sort_runs(runs, parse_order_by(["status"]))) == ["a", "b", "c"]


def test_default_order_is_start_time_desc_then_run_id():
    runs = [
        make_run("b", start_time=10),
        make_run("a", start_time=10),
        make_run("c", start_time=30),
        make_run("d", start_time=20),
    ]
    assert ids(sort_runs(runs, ())) == ["c", "d", "a", "b"]
    assert ids(sort_runs(runs, None)) == ["c", "d", "a", "b"]  # type: ignore[arg-type]


def test_ties_broken_by_default_order():
    runs = [
        make_run("b", metrics={"m": 1.0}, start_time=10),
        make_run("a", metrics={"m": 1.0}, start_time=10),
        make_run("c", metrics={"m": 1.0}, start_time=30),
        make_run("z", metrics={"m": 0.0}, start_time=0),
        make_run("y", start_time=50),
        make_run("x", start_time=50),
    ]
    order = parse_order_by(["metrics.m DESC"])
    assert ids(sort_runs(runs, order)) == ["c", "a", "b", "z", "x", "y"]
    order = parse_order_by(["metrics.m"])
    assert ids(sort_runs(runs, order)) == ["z", "c", "a", "b", "x", "y"]


def test_multi_key_order():
    runs = [
        make_run("a", params={"g": "1"}, metrics={"m": 1.0}),
        make_run("b", params={"g": "2"}, metrics={"m": 5.0}),
        make_run("c", params={"g": "1"}, metrics={"m": 3.0}),
        make_run("d", params={"g": "2"}, metrics={"m": 4.0}),
        make_run("e", metrics={"m": 9.0}),
    ]
    order = parse_order_by(["params.g DESC", "metrics.m ASC"])
    assert ids(sort_runs(runs, order)) == ["d", "b", "a", "c", "e"]


def test_sort_does_not_mutate_input():
    runs = metric_runs()
    before = ids(runs)
    sort_runs(runs, parse_order_by(["metrics.m"]))
    assert ids(runs) == before
    assert ids(sort_runs(iter(runs), ())) == ["g", "f", "e", "d", "c", "b", "a"]


# --------------------------------------------------------------------------- paging


def many_runs(n: int = 25) -> list[Run]:
    return [
        make_run(f"run{i:02d}", metrics={"m": float(i % 7)}, params={"p": str(i % 3)},
                 start_time=1000 + (i * 37) % 11)
        for i in range(n)
    ]


@pytest.mark.parametrize("order", [(), ("metrics.m DESC",), ("params.p", "metrics.m")])
def test_paging_returns_every_run_once(order):
    runs = many_runs(25)
    order_by = parse_order_by(order)
    seen: list[Run] = []
    token = None
    sizes = []
    for _ in range(10):
        page = search(runs, None, order_by, 10, token)
        assert isinstance(page, Page)
        seen.extend(page.items)
        sizes.append(len(page.items))
        token = page.token
        if token is None:
            break
    assert sizes == [10, 10, 5]
    assert ids(seen) == ids(sort_runs(runs, order_by))
    assert sorted(ids(seen)) == sorted(ids(runs))


def test_paging_with_filter():
    runs = many_runs(25)
    f = parse_filter("metrics.m >= 3")
    expected = ids(sort_runs(f.select(runs), ()))
    first = search(runs, f, (), 4, None)
    second = search(runs, f, (), 4, first.token)
    rest = search(runs, f, (), 50_000, second.token)
    assert ids(first.items + second.items + rest.items) == expected
    assert rest.token is None


def test_exact_fit_page_has_no_token():
    runs = many_runs(20)
    page = search(runs, None, (), 10, None)
    last = search(runs, None, (), 10, page.token)
    assert len(last.items) == 10 and last.token is None
    assert search(runs, None, (), 20, None).token is None


def test_empty_result():
    page = search([], parse_filter("metrics.m > 0"), (), 10, None)
    assert page.items == () and page.token is None


def test_empty_token_means_first_page():
    runs = many_runs(5)
    assert search(runs, None, (), 2, "").items == search(runs, None, (), 2, None).items


def test_token_past_the_end_gives_empty_page():
    fp = query_fingerprint(None, ())
    page = search(many_runs(5), None, (), 3, encode_page_token(99, fp))
    assert page.items == () and page.token is None


def test_token_from_another_query_is_refused():
    runs = many_runs(25)
    f = parse_filter("metrics.m > 1")
    order = parse_order_by(["metrics.m DESC"])
    token = search(runs, f, order, 5, None).token
    assert token is not None
    with pytest.raises(InvalidInput) as info:
        search(runs, parse_filter("metrics.m > 2"), order, 5, token)
    assert info.value.field == "page_token"
    assert "page_token" in str(info.value)
    with pytest.raises(InvalidInput, match="page_token"):
        search(runs, f, parse_order_by(["metrics.m ASC"]), 5, token)
    with pytest.raises(InvalidInput, match="page_token"):
        search(runs, None, order, 5, token)
    # an equivalent spelling of the same query is the same query
    same = parse_filter("metric.m>1.0")
    assert len(search(runs, same, order, 5, token).items) == 5


@pytest.mark.parametrize("token", [
    "garbage!", "not base64 at all", "AAAA", "e30", "eyJvIjotMSwicSI6IngifQ", "%%%",
    "eyJvIjoxfQ", "bnVsbA", "W10",
])
def test_malformed_tokens_are_refused(token):
    with pytest.raises(InvalidInput) as info:
        search(many_runs(3), None, (), 2, token)
    assert info.value.field == "page_token"


def test_token_round_trip():
    fp = query_fingerprint(parse_filter("metrics.a > 1"), parse_order_by(["params.b"]))
    token = encode_page_token(1234, fp)
    assert decode_page_token(token, fp) == 1234
    assert all(c.isalnum() or c in "-_" for c in token)
    with pytest.raises(InvalidInput, match="page_token"):
        decode_page_token(token, query_fingerprint(None, ()))
    with pytest.raises(InvalidInput):
        encode_page_token(-1, fp)
    with pytest.raises(InvalidInput, match="page_token"):
        decode_page_token(None, fp)  # type: ignore[arg-type]


def test_fingerprint_is_short_and_query_specific():
    a = query_fingerprint(parse_filter("metrics.a > 1"), ())
    assert a == query_fingerprint(parse_filter("metrics.a>1"), [])
    assert len(a) <= 16
    assert a != query_fingerprint(parse_filter("metrics.a > 2"), ())
    assert a != query_fingerprint(parse_filter("metrics.a > 1"), parse_order_by(["name"]))
    assert query_fingerprint(None, ()) != query_fingerprint(
        None, parse_order_by(["name"]))


@pytest.mark.parametrize("max_results", [0, -1, MAX_RESULTS + 1, 1.5, "10", True, None])
def test_max_results_bounds(max_results):
    with pytest.raises(InvalidInput) as info:
        search(many_runs(3), None, (), max_results, None)
    assert info.value.field == "max_results"


def test_max_results_limits_accepted():
    runs = many_runs(3)
    assert len(search(runs, None, (), 1, None).items) == 1
    assert len(search(runs, None, (), MAX_RESULTS, None).items) == 3


# --------------------------------------------------------------------------- import


def test_import_does_not_load_numpy():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    code = "import sys, modelops.query; assert 'numpy' not in sys.modules, 'numpy imported'"
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


# --------------------------------------------------------------------------- properties


_bare_keys = st.text(alphabet="abcxyz019_-./", min_size=1, max_size=8)
_any_keys = st.text(min_size=1, max_size=8)
_keys = st.one_of(_bare_keys, _any_keys)
_strings = st.text(max_size=8)


def _comparisons() -> st.SearchStrategy[Comparison]:
    metric = st.builds(
        Comparison, st.just("metrics"), _keys, st.sampled_from(["=", "!=", "<", "<=", ">", ">="]),
        st.floats(allow_nan=True, allow_infinity=True),
    )
    numeric_attr = st.builds(
        Comparison, st.just("attributes"), st.sampled_from(["start_time", "end_time"]),
        st.sampled_from(["=", "!=", "<", ">="]), st.integers(-(10**15), 10**15).map(float),
    )
    string_key = st.one_of(
        st.tuples(st.sampled_from(["params", "tags"]), _keys),
        st.tuples(st.just("attributes"),
                  st.sampled_from([a for a in ATTRIBUTES if a not in ("start_time",
                                                                        "end_time")])),
    )
    scalar = st.builds(
        lambda kk, op, v: Comparison(kk[0], kk[1], op, v),
        string_key, st.sampled_from(["=", "!=", "LIKE", "ILIKE"]), _strings,
    )
    listed = st.builds(
        lambda kk, op, v: Comparison(kk[0], kk[1], op, tuple(v)),
        string_key, st.sampled_from(["IN", "NOT IN"]), st.lists(_strings, min_size=1, max_size=3),
    )
    return st.one_of(metric, numeric_attr, scalar, listed)


@settings(max_examples=300, deadline=None)
@given(st.lists(_comparisons(), min_size=1, max_size=4))
def test_str_round_trips(clauses):
    f = Filter(tuple(clauses))
    parsed = parse_filter(str(f))
    assert parsed == f
    assert str(parsed) == str(f)


@settings(max_examples=200, deadline=None)
@given(st.lists(_comparisons(), min_size=1, max_size=3))
def test_order_by_round_trips(clauses):
    orders = tuple(OrderBy(c.kind, c.key, i % 2 == 0) for i, c in enumerate(clauses))
    assert parse_order_by([str(o) for o in orders]) == orders


_metric_values = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True,
                                                 min_value=None, max_value=None))


@st.composite
def _run_lists(draw: st.DrawFn) -> list[Run]:
    n = draw(st.integers(0, 30))
    runs = []
    for i in range(n):
        m = draw(_metric_values)
        p = draw(st.one_of(st.none(), st.sampled_from(["a", "b", "c"])))
        runs.append(make_run(
            f"run{i:02d}",
            metrics={} if m is None else {"m": m},
            params={} if p is None else {"p": p},
            start_time=draw(st.integers(0, 5)),
        ))
    return draw(st.permutations(runs))


@settings(max_examples=150, deadline=None)
@given(
    _run_lists(),
    st.integers(1, 7),
    st.lists(st.sampled_from(["metrics.m", "metrics.m DESC", "params.p", "params.p DESC",
                              "start_time", "name DESC"]), max_size=2),
    st.sampled_from([None, "metrics.m > 0", "params.p != 'b'", "metrics.m != 1"]),
)
def test_paging_concatenation_equals_unpaged(runs, size, order, text):
    f = parse_filter(text)
    order_by = parse_order_by(order)
    unpaged = search(runs, f, order_by, MAX_RESULTS, None).items
    collected: list[Run] = []
    token = None
    while True:
        page = search(runs, f, order_by, size, token)
        assert len(page.items) <= size
        collected.extend(page.items)
        token = page.token
        if token is None:
            break
    assert ids(collected) == ids(unpaged)
    expected = [r for r in runs if f is None or f.matches(r)]
    assert sorted(ids(collected)) == sorted(ids(expected))


@settings(max_examples=150, deadline=None)
@given(_run_lists(), st.booleans())
def test_sort_puts_numbers_then_nan_then_missing(runs, ascending):
    order = (OrderBy("metrics", "m", ascending),)
    ordered = sort_runs(runs, order)

    def group(run: Run) -> int:
        point = run.data.latest.get("m")
        if point is None:
            return 2
        return 1 if math.isnan(point.value) else 0

    groups = [group(r) for r in ordered]
    assert groups == sorted(groups)
    numbers = [r.data.latest["m"].value for r in ordered if group(r) == 0]
    assert numbers == sorted(numbers, reverse=not ascending)


def _like_reference(pattern: str, value: str) -> bool:
    """A slow, obviously correct SQL LIKE (no escapes) by dynamic programming."""
    @functools.cache
    def go(i: int, j: int) -> bool:
        if i == len(pattern):
            return j == len(value)
        c = pattern[i]
        if c == "%":
            return go(i + 1, j) or (j < len(value) and go(i, j + 1))
        if j < len(value) and (c == "_" or c == value[j]):
            return go(i + 1, j + 1)
        return False

    return go(0, 0)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab%_.*[", max_size=6), st.text(alphabet="ab.*[%_\n", max_size=6))
def test_like_agrees_with_reference(pattern, value):
    run = make_run("r", params={"p": value})
    assert Comparison("params", "p", "LIKE", pattern).matches(run) == _like_reference(
        pattern, value)


def test_like_with_many_wildcards_answers_at_once():
    """A regex with a ``.*`` per ``%`` backtracked exponentially on these: a minute at twelve
    pieces, for ever at forty (a filter anyone may type in the web UI)."""
    run = make_run("r", params={"p": "x" * 40})
    for op in ("LIKE", "ILIKE"):
        assert not Comparison("params", "p", op, "%x" * 40 + "y").matches(run)
        assert Comparison("params", "p", op, "%X" * 40 + "%").matches(run) == (op == "ILIKE")
        assert not Comparison("params", "p", op, "%" * 10_000 + "a").matches(run)
