"""The tags in which modelops keeps its records on MLflow's registry can be edited by anyone
in MLflow's UI: one edited into something modelops did not write costs that record (a
StoreError naming it, skipped with a warning by listings), never a raw error, never the
other versions or models. The trail run's event params cannot be edited, but anyone can log
one more: one that does not read as its event is set aside, and the history moves on. A
drift profile or report is a run's artifact, which anyone who can log to the run can replace:
one that does not read as its own is a StoreError naming it."""

from __future__ import annotations

import pathlib

import pytest

import modelops
from modelops import StoreError, StoreWarning

#: Deeper than Python's JSON parser recurses, within the 100,000 characters MLflow keeps.
DEEP = "[" * 40_000 + "]" * 40_000


def _mlflow(uri: str):  # type: ignore[no-untyped-def]
    from mlflow.tracking import MlflowClient

    database = uri.removeprefix("mlflow+")
    return MlflowClient(tracking_uri=database, registry_uri=database)


@pytest.fixture
def store(sqlite_uri, tmp_path):  # type: ignore[no-untyped-def]
    uri = sqlite_uri()
    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"weights")
    ops = modelops.connect(uri)
    for _ in range(2):
        ops.registry.register("m", str(weights), flavor="path", metrics={"f1": 0.9})
    ops.registry.register("other", str(weights), flavor="path")
    ops.registry.promote("m", "1.0.1")
    return uri


def _number(client, version: str) -> str:  # type: ignore[no-untyped-def]
    (mv,) = [mv for mv in client.search_model_versions("name='m'")
             if mv.tags.get("modelops.version") == version]
    return mv.version


@pytest.mark.parametrize("tag, value", [
    ("modelops.record", "not JSON"), ("modelops.record", "[]"), ("modelops.record", '{"x": 1}'),
    ("modelops.record", DEEP), ("modelops.files", "not JSON"), ("modelops.files", "[[1]]")])
def test_a_version_whose_record_was_edited_costs_only_that_version(store, tag, value):
    client = _mlflow(store)
    client.set_model_version_tag("m", _number(client, "1.0.0"), tag, value)
    ops = modelops.connect(store)
    with pytest.raises(StoreError, match=r"version 1\.0\.0 of 'm'"):
        ops.registry.get_version("m", "1.0.0")
    with pytest.warns(StoreWarning, match=r"version 1\.0\.0 of 'm'"):
        assert [v.version for v in ops.registry.list_versions("m")] == ["1.0.1"]
    assert ops.registry.get_version("m", stage="production").version == "1.0.1"
    assert ops.registry.get_model("other").name == "other"


@pytest.mark.parametrize("value", ["not JSON", "[]", "{}", DEEP])
def test_a_model_whose_record_was_edited_costs_only_that_model(store, value):
    _mlflow(store).set_registered_model_tag("m", "modelops.model", value)
    ops = modelops.connect(store)
    with pytest.raises(StoreError, match="model 'm'"):
        ops.registry.get_model("m")
    with pytest.warns(StoreWarning, match="model 'm'"):
        assert [m.name for m in ops.registry.list_models()] == ["other"]
    assert ops.registry.get_version("m", stage="production").version == "1.0.1"


def _trail(client) -> str:  # type: ignore[no-untyped-def]
    return client.get_registered_model("m").tags["modelops.trail"]


@pytest.mark.parametrize("value", ["not JSON", "[]", '{"seq": 2}', DEEP,
                                   '{"$artifact": "events/missing.json"}',
                                   '{"model": "m", "seq": 7, "action": "promote", "changes": [],'
                                   ' "actor": "x", "timestamp": 1}'])
def test_an_event_param_logged_by_someone_else_is_set_aside_and_the_history_moves_on(
        store, value):
    """The registry's events are params of a trail run, and anyone can log one more. One
    that does not read as its event raised raw errors (ValueError, TypeError,
    RecursionError) from history, stage lookups and every later promotion; its number is
    now a ``quarantined`` marker, as the local store writes for an unreadable event file,
    and the next event takes the number after it."""
    client = _mlflow(store)
    client.log_param(_trail(client), "event.000000000002", value)
    ops = modelops.connect(store)
    with pytest.warns(StoreWarning, match="event 2 .*could not be read"):
        history = ops.registry.history("m")
    assert [(e.seq, e.action) for e in history] == [(1, "promote"), (2, "quarantined")]
    assert ops.registry.get_version("m", stage="production").version == "1.0.1"
    with pytest.warns(StoreWarning):
        promoted = modelops.connect(store).registry.promote("m", "1.0.0")
    assert promoted.seq == 3
    assert modelops.connect(store).registry.get_version("m", stage="production").version \
        == "1.0.0"


@pytest.mark.parametrize("key", ["event.x", "event.2", "event.000000000002x", "event.-1"])
def test_a_param_named_like_no_event_modelops_writes_is_not_an_event(store, key, recwarn):
    client = _mlflow(store)
    client.log_param(_trail(client), key, "{}")
    ops = modelops.connect(store)
    assert [(e.seq, e.action) for e in ops.registry.history("m")] == [(1, "promote")]
    assert ops.registry.promote("m", "1.0.0").seq == 2
    assert not [w for w in recwarn if issubclass(w.category, StoreWarning)]


@pytest.mark.parametrize("content", ["not JSON", "[]", '{"name": "d"}', DEEP,
                                     "PROFILE_OF_ANOTHER"])
def test_a_drift_profile_artifact_replaced_by_someone_else_is_a_store_error(sqlite_uri,
                                                                          tmp_path, content):
    """A reference profile is an artifact of an MLflow run, which anyone who can log to the
    run can replace: one that does not read as a profile of its name raised raw JSON and
    key errors from every check. It is a StoreError naming it; listings skip it."""
    import numpy as np

    uri = sqlite_uri()
    ops = modelops.connect(uri)
    ops.drift.fit_reference("d", {"x": np.arange(200.0)})
    ops.drift.fit_reference("e", {"x": np.arange(200.0)})
    if content == "PROFILE_OF_ANOTHER":   # a valid profile, of "e"
        (other,) = ops.drift.store._runs("e", "profile")
        content = pathlib.Path(_mlflow(uri).download_artifacts(
            other.info.run_id, "profile.json", str(tmp_path))).read_text()
    (run,) = ops.drift.store._runs("d", "profile")
    replaced = tmp_path / "profile.json"
    replaced.write_text(content)
    _mlflow(uri).log_artifact(run.info.run_id, str(replaced))
    fresh = modelops.connect(uri)
    with pytest.raises(StoreError, match=r"profile\.json of run .*not a drift profile of 'd'"):
        fresh.drift.check("d", {"x": np.arange(200.0)})
    with pytest.warns(StoreWarning, match="not a drift profile of 'd'"):
        assert fresh.drift.store.list_profiles("d") == []
    assert fresh.drift.reference("e").name == "e"

