import json
import math
import pickle

import attrs
import pytest

from modelops import (
    Experiment,
    InvalidInput,
    Metric,
    MetricSeries,
    Param,
    Run,
    RunData,
    RunInfo,
    RunStatus,
    RunTag,
)
from modelops.entities import FrozenDict


def test_value_objects_are_frozen():
    m = Metric("loss", 0.5, 1, 2)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        m.value = 1.0
    assert attrs.evolve(m, value=1.0).value == 1.0


@pytest.mark.parametrize("key", ["", "../x", "/abs", "a//b", "a/..", "tab\there", "nul\x00",
                                 "x" * 251, "back\\slash"])
def test_bad_keys_are_refused_naming_the_field(key):
    with pytest.raises(InvalidInput, match=r"Metric\.key"):
        Metric(key, 1.0, 0)


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "a\\b", "new\nline", " padded",
                                  "x" * 201])
def test_bad_names_are_refused(name):
    with pytest.raises(InvalidInput, match=r"Experiment\.name"):
        Experiment(experiment_id="e1", name=name)


def test_keys_may_hold_slashes_and_dots():
    assert Metric("train/loss", 1.0, 0).key == "train/loss"
    assert Param("optimizer.lr", 0.1).value == "0.1"


@pytest.mark.parametrize("value", ["0.5", None, True, b"1", object()])
def test_metric_values_must_be_numbers(value):
    with pytest.raises(InvalidInput, match=r"Metric\.value: expected a number"):
        Metric("m", value, 0)


def test_nan_metrics_equal_themselves():
    assert Metric("m", math.nan, 1) == Metric("m", math.nan, 1)
    assert Metric("m", math.inf, 1) != Metric("m", -math.inf, 1)


def test_status_parses_any_case_and_names_the_choices():
    assert RunInfo(run_id="r", experiment_id="e", run_name="n", status="finished").status \
        is RunStatus.FINISHED
    with pytest.raises(InvalidInput, match="RUNNING, SCHEDULED, FINISHED, FAILED, KILLED"):
        RunStatus.parse("done")


def test_param_and_tag_values_are_strings_with_limits():
    assert Param("n", 200).value == "200"
    assert RunTag("t", 1.5).value == "1.5"
    with pytest.raises(InvalidInput, match="limit is 6000"):
        Param("n", "x" * 6001)


def test_run_data_mappings_are_read_only_but_picklable():
    run = Run(RunInfo(run_id="r", experiment_id="e", run_name="n"),
              RunData(params={"a": "1"}, latest={"m": Metric("m", 2.0, 5, 3)}))
    with pytest.raises(TypeError):
        run.data.params["a"] = "2"
    assert run.metrics == {"m": 2.0}
    again = pickle.loads(pickle.dumps(run))
    assert again == run
    assert isinstance(again.data.params, FrozenDict)
    assert hash(FrozenDict(a=1)) == hash(FrozenDict(a=1))


def test_metric_series_checks_lengths_and_compares_nan_equal():
    s = MetricSeries("m", [0, 1], [math.nan, 1.0], [10, 11])
    assert s == MetricSeries("m", [0, 1], [math.nan, 1.0], [10, 11])
    assert [m.value for m in s][1] == 1.0
    with pytest.raises(InvalidInput, match="differ in length"):
        MetricSeries("m", [0, 1], [1.0], [10, 11])
    grouped = MetricSeries.group([Metric("a", 1.0, 1, 0), Metric("b", 2.0, 1, 0),
                                  Metric("a", 3.0, 2, 1)])
    assert [(g.key, g.values.tolist()) for g in grouped] == [("a", [1.0, 3.0]), ("b", [2.0])]


def test_a_version_encodes_as_the_generic_walk_does():
    from modelops.entities.registry import ArtifactFile, Lineage, ModelVersion, Stage
    from modelops.entities.registry_codec import _plain, to_data, version_from_data

    version = ModelVersion(
        name="churn", version="1.2.3", run_id="r1", metrics={"f1": 0.5}, params={"C": "1"},
        framework="sklearn", flavor="joblib",
        files=(ArtifactFile("model.joblib", "a" * 64, 10), ArtifactFile("x/y", "b" * 64, 2)),
        size=12, created_time=5, creator="me",
        lineage=Lineage(parent_version="1.2.2", training_data="s3://d", notes="n"),
        flavor_meta={"a": [1, [2, 3]], "b": {"c": [4]}}, artifact_location="file:///s",
        description="d", tags={"t": "v"}, stage=Stage.STAGING, aliases=("champion",))
    data = to_data(version)
    generic = attrs.asdict(version, recurse=True, value_serializer=_plain)
    assert json.dumps(data) == json.dumps(generic)  # the stored bytes, key order included
    assert version_from_data(data) == version
