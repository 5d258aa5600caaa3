"""Datasets logged with a run (run.log_input): records, digests, profiles, lineage of the
versions trained on them, references fitted from them, and what is refused or distrusted."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import modelops
from modelops import Dataset
from modelops.drift.profile import profile_frame
from modelops.errors import Conflict, IntegrityError, InvalidInput, NotFound
from modelops.frames import to_columns
from modelops.tracking.datasets import FOLDER, PROFILE, RECORD, digest


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(7)
    n = 300
    return pd.DataFrame({"age": rng.normal(40, 10, n), "plan": rng.choice(["a", "b"], n),
                         "churned": rng.integers(0, 2, n)})


def test_log_input_records_digest_source_schema_and_profile(any_ops, frame):
    with any_ops.tracking.start_run() as run:
        logged = run.log_input(frame, name="train", source="s3://lake/churn.parquet",
                               target="churned")
    assert logged.name == "train" and logged.context == "training"
    assert logged.rows == 300 and logged.source == "s3://lake/churn.parquet"
    assert logged.columns == ["age", "plan", "churned"]
    kinds = {c["name"]: c["kind"] for c in logged.schema["columns"]}
    assert kinds == {"age": "numeric", "plan": "categorical", "churned": "numeric"}
    assert logged.digest == digest(to_columns(frame)) and logged.run_id == run.run_id
    assert logged.uri == f"runs:/{run.run_id}/datasets/train"
    assert run.inputs == [logged] == any_ops.tracking.list_inputs(run.run_id)
    assert any_ops.tracking.get_input(logged.uri) == logged
    profile = any_ops.tracking.input_profile(run.run_id, "train")
    expected = profile_frame("train", frame, target="churned")
    assert profile.rows == 300 and profile.target == "churned"
    assert profile.columns == expected.columns   # the drift profiler's own, unchanged


def test_inputs_are_read_back_after_a_fresh_connect(tmp_path, frame):
    ops = modelops.connect(tmp_path / "store")
    with ops.tracking.start_run() as run:
        first = run.log_input(frame, name="train")
        second = run.log_input(frame.head(50), name="holdout", context="evaluation")
    again = modelops.connect(tmp_path / "store")
    assert again.tracking.list_inputs(run.run_id) == [first, second]
    assert again.tracking.get_input(run.run_id, "holdout").rows == 50


def test_digest_is_the_content_in_row_order():
    a = {"x": np.array([1.0, 2.0, np.nan]), "s": np.array(["u", None, "w"], dtype=object)}
    same = pd.DataFrame({"x": [1.0, 2.0, float("nan")], "s": ["u", None, "w"]})
    assert digest(a) == digest(to_columns(same))
    nan_payload = np.array([1.0, 2.0, np.frombuffer(b"\x01\x00\x00\x00\x00\x00\xf8\x7f")[0]])
    assert digest({**a, "x": nan_payload}) == digest(a)      # every NaN is one value
    assert digest({"x": a["x"][::-1], "s": a["s"][::-1]}) != digest(a)   # order counts
    assert digest({**a, "x": np.array([1.0, 2.0, 3.0])}) != digest(a)
    assert digest({"x": np.array([1, 2]), }) != digest({"x": np.array([1.0, 2.0])})  # dtype
    assert digest({"s": np.array(["ab", "c"], dtype=object)}) != \
        digest({"s": np.array(["a", "bc"], dtype=object)})   # lengths delimit values
    # a column's bytes, by hand: name length, name, dtype, values
    h = hashlib.sha256()
    h.update((1).to_bytes(8, "little") + b"x" + b"<f8\x00")
    h.update(np.array([1.5, -2.0]).tobytes())
    assert digest({"x": np.array([1.5, -2.0])}) == h.hexdigest()


def test_the_same_name_again_returns_the_record_and_other_data_conflicts(ops, frame):
    with ops.tracking.start_run() as run:
        first = run.log_input(frame, name="train")
        assert run.log_input(frame.copy(), name="train") == first
        with pytest.raises(Conflict, match="already logged a dataset 'train'"):
            run.log_input(frame.head(10), name="train")
    assert run.inputs == [first]
    with pytest.raises(Conflict, match="has ended"):
        run.log_input(frame, name="late")


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"name": "a/b"}, "name"), ({"name": ""}, "name"), ({"context": ""}, "context"),
    ({"source": 3}, "source"), ({"target": "nope"}, "target"),
])
def test_bad_arguments_are_refused_before_writing(ops, frame, kwargs, field):
    with ops.tracking.start_run() as run:
        with pytest.raises(InvalidInput) as err:
            run.log_input(frame, **kwargs)
        assert err.value.field == field
    assert ops.tracking.list_artifacts(run.run_id) == []


def test_a_frame_with_no_rows_or_columns_is_refused(ops):
    with ops.tracking.start_run() as run:
        with pytest.raises(InvalidInput, match="no rows"):
            run.log_input(pd.DataFrame({"x": []}))
        with pytest.raises(InvalidInput, match="no columns"):
            run.log_input({})
        with pytest.raises(InvalidInput):
            run.log_input("not a frame")
    assert run.inputs == []


def test_model_versions_link_to_their_runs_datasets(any_ops, frame):
    X, y = frame[["age"]], frame["churned"]
    model = LogisticRegression().fit(X, y)
    with any_ops.tracking.start_run() as run:
        logged = run.log_input(frame, name="train", source="s3://lake/churn.parquet")
        version = run.log_model(model, "churn")
        run.log_model(model, "model", register=False)
    assert version.lineage.datasets == (logged.link(),)
    assert version.lineage.datasets[0].schema is None            # the schema stays with the run
    from_run = any_ops.registry.register_from_run(run.run_id, "model", "churn")
    assert from_run.lineage.datasets == (logged.link(),)
    assert any_ops.registry.get_version("churn", from_run.version).lineage == from_run.lineage
    html = any_ops.registry.get_version("churn")._repr_html_()
    assert "trained on" in html and "s3://lake/churn.parquet" in html
    # a version registered without a run, or naming its datasets itself, keeps its own
    assert any_ops.registry.register("plain", model).lineage.datasets == ()
    other = Dataset(name="elsewhere", digest="0" * 64, rows=3)
    own = any_ops.registry.register("named", model, run=run.run_id,
                                    lineage={"datasets": [other]})
    assert own.lineage.datasets == (other,)


def test_train_logs_its_training_and_evaluation_data(ops, frame):
    result = modelops.train(ops, "churn", LogisticRegression(), frame[["age"]],
                            frame["churned"], figures=False)
    names = [(d.name, d.context, d.rows) for d in ops.tracking.list_inputs(result.run_id)]
    assert names == [("training", "training", 225), ("evaluation", "evaluation", 75)]
    assert [d.name for d in result.version.lineage.datasets] == ["training", "evaluation"]
    profile = ops.tracking.input_profile(result.run_id, "training")
    assert profile.target == "churned" and list(profile.columns) == ["age", "churned"]


def test_train_on_an_unnamed_array_logs_no_dataset(ops, frame):
    result = modelops.train(ops, "churn", LogisticRegression(), frame[["age"]].to_numpy(),
                            frame["churned"].to_numpy(), figures=False)
    assert ops.tracking.list_inputs(result.run_id) == []
    assert result.version.lineage.datasets == ()


def test_fit_reference_starts_from_a_logged_dataset(any_ops, frame):
    with any_ops.tracking.start_run() as run:
        logged = run.log_input(frame, name="train", target="churned")
    by_uri = any_ops.drift.fit_reference("churn", dataset=logged.uri)
    direct = any_ops.drift.fit_reference("direct", frame, target="churned")
    assert by_uri.name == "churn" and by_uri.target == "churned"
    assert by_uri.columns == direct.columns and by_uri.rows == direct.rows
    assert any_ops.drift.reference("churn") == by_uri
    for name in ("age", "plan"):
        np.testing.assert_array_equal(by_uri.sample[name], direct.sample[name])
    narrowed = any_ops.drift.fit_reference("ages", dataset=logged, columns=["age"])
    assert list(narrowed.columns) == ["age"] and narrowed.target is None
    assert list(narrowed.sample) == ["age"]
    report = any_ops.drift.check("churn", frame)
    assert not report.drifted


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"dataset": "runs:/x/train"}, "dataset"), ({"dataset": 3}, "dataset"),
    ({"dataset": "uri", "frame": {"x": [1]}}, "dataset"),
    ({"categorical": ["plan"]}, "categorical"), ({"columns": ["nope"]}, "columns"),
    ({"target": "nope"}, "target"), ({"columns": []}, "columns"),
])
def test_fit_reference_from_a_dataset_refuses_bad_arguments(ops, frame, kwargs, field):
    with ops.tracking.start_run() as run:
        logged = run.log_input(frame, name="train")
    kwargs = {"dataset": logged, **kwargs}
    with pytest.raises(InvalidInput) as err:
        ops.drift.fit_reference("churn", **kwargs)
    assert err.value.field == field
    assert ops.drift.names() == []


def test_fit_reference_from_a_dataset_that_is_not_there(ops):
    with ops.tracking.start_run() as run:
        pass
    with pytest.raises(NotFound, match="no dataset 'train'"):
        ops.drift.fit_reference("churn", dataset=f"runs:/{run.run_id}/datasets/train")
    with pytest.raises(NotFound):
        ops.drift.fit_reference("churn", dataset="runs:/" + "0" * 32 + "/datasets/train")


def _tampered(ops, frame, path, data):
    with ops.tracking.start_run() as run:
        run.log_input(frame, name="train")
    ops.tracking.store.write_artifact(run.run_id, data, f"{FOLDER}/train/{path}")
    return run


@pytest.mark.parametrize("record", [
    b"not json", b"\xff\xfe", b"[1, 2]", b'{"format": 2}',
    json.dumps({"format": 1, "name": "train", "digest": "x", "rows": 1}).encode(),
    json.dumps({"format": 1, "name": "other", "digest": "0" * 64, "rows": 1,
                "schema": {"columns": [{"name": "x", "kind": "numeric", "dtype": "float"}]},
                "run_id": None}).encode(),
    json.dumps({"format": 1, "name": "train", "digest": "0" * 64, "rows": -1}).encode(),
])
def test_a_tampered_record_is_an_integrity_error(any_ops, frame, record):
    run = _tampered(any_ops, frame, RECORD, record)
    with pytest.raises(IntegrityError, match=RECORD):
        any_ops.tracking.list_inputs(run.run_id)
    with pytest.raises(IntegrityError):
        any_ops.drift.fit_reference("churn", dataset=f"runs:/{run.run_id}/datasets/train")
    with pytest.raises(IntegrityError):   # registering from the run does not drop them
        any_ops.registry.register("churn", LogisticRegression(), run=run.run_id)


@pytest.mark.parametrize("profile", [
    b"{}", b'{"columns": 3}',
    json.dumps({"name": "train", "rows": 300, "columns": {}}).encode(),
])
def test_a_tampered_profile_is_an_integrity_error(any_ops, frame, profile):
    run = _tampered(any_ops, frame, PROFILE, profile)
    assert [d.name for d in any_ops.tracking.list_inputs(run.run_id)] == ["train"]
    with pytest.raises(IntegrityError, match=PROFILE):
        any_ops.drift.fit_reference("churn", dataset=f"runs:/{run.run_id}/datasets/train")
    assert any_ops.drift.names() == []


def test_a_profile_of_another_frame_is_an_integrity_error(ops, frame):
    from modelops.entities.drift_codec import profile_to_data

    other = json.dumps(profile_to_data(profile_frame("train", frame.head(5)))).encode()
    run = _tampered(ops, frame, PROFILE, other)
    with pytest.raises(IntegrityError, match="not the record's 300 rows"):
        ops.tracking.input_profile(run.run_id, "train")


def test_a_dataset_folder_without_its_record_is_not_listed(ops, frame):
    """A crash between the profile's write and the record's leaves an unlisted profile."""
    with ops.tracking.start_run() as run:
        run.log_input(frame, name="train")
    ops.tracking.store.write_artifact(run.run_id, b"{}", f"{FOLDER}/half/{PROFILE}")
    assert [d.name for d in ops.tracking.list_inputs(run.run_id)] == ["train"]


def test_fluent_log_input_logs_to_the_active_run(tmp_path, frame):
    modelops.set_uri(tmp_path / "store")
    try:
        with modelops.start_run() as run:
            logged = modelops.log_input(frame, name="train", context="training")
        assert run.inputs == [logged]
    finally:
        modelops.set_uri(None)


def test_a_nested_run_links_its_parents_datasets(ops, frame):
    """A sweep logs its data once, on the parent; a trial's version links it."""
    model = LogisticRegression().fit(frame[["age"]], frame["churned"])
    with ops.tracking.start_run(name="sweep") as parent:
        logged = parent.log_input(frame, name="train")
        with ops.tracking.start_run(name="trial", parent=parent) as trial:
            trial.log_model(model, "model", register=False)
        with ops.tracking.start_run(name="own", parent=parent) as own:
            mine = own.log_input(frame.head(100), name="subset")
            own.log_model(model, "model", register=False)
    version = ops.registry.register_from_run(trial.run_id, "model", "churn")
    assert version.lineage.datasets == (logged.link(),)
    assert ops.registry.register_from_run(own.run_id, "model", "churn").lineage.datasets == \
        (mine.link(),)                                  # its own, not its parent's
