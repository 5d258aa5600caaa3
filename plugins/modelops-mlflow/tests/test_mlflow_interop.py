"""Interoperability both ways, against a real ``mlflow server``: what modelops writes, plain
MLflow code reads (runs, histories, artifacts, registered versions, ``models:/name@alias``
through mlflow.sklearn and mlflow.pyfunc, drift runs); what plain MLflow code wrote, modelops
reads (runs, search, registered models with their aliases, loading)."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import modelops
from modelops.entities import ViewType


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(200, 3))
    y = (X[:, 0] + 0.3 * X[:, 1] > 0).astype(int)
    return X, y


@pytest.fixture
def ops(mlflow_server):
    client = modelops.connect(f"mlflow+{mlflow_server}")
    yield client
    client.close()


@pytest.fixture
def mlflow_client(mlflow_server):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=mlflow_server, registry_uri=mlflow_server)


@pytest.fixture
def fluent(mlflow_server):
    """Plain MLflow's fluent API pointed at the server, and put back afterwards."""
    import mlflow

    before = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(mlflow_server)
    mlflow.set_registry_uri(mlflow_server)
    yield mlflow
    mlflow.set_tracking_uri(before)
    mlflow.set_registry_uri(before)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# -- tracking -------------------------------------------------------------------------------

def test_modelops_runs_read_by_mlflow(ops, mlflow_client, tmp_path):
    """Runs, nested runs, params, metric histories, tags and artifacts logged by modelops are
    MLflow's own: the plain client reads every one of them."""
    name = unique("interop-tracking")
    with ops.tracking.start_run(experiment=name, name="parent") as parent:
        parent.log_params({"n_estimators": 200, "model": "rf"})
        for step, loss in enumerate([0.9, 0.5, 0.3]):
            parent.log_metric("loss", loss, step=step)
        parent.set_tags({"team": "fraud"})
        parent.log_text("hello", "notes/readme.txt")
        with ops.tracking.start_run(experiment=name, name="child", parent=parent) as child:
            child.log_metric("auc", 0.8)
    exp = mlflow_client.get_experiment_by_name(name)
    runs = {r.info.run_name: r for r in mlflow_client.search_runs([exp.experiment_id])}
    assert set(runs) == {"parent", "child"}
    got = runs["parent"]
    assert got.info.status == "FINISHED"
    assert got.data.params == {"n_estimators": "200", "model": "rf"}
    assert got.data.metrics["loss"] == 0.3
    assert got.data.tags["team"] == "fraud"
    history = mlflow_client.get_metric_history(got.info.run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(0, 0.9), (1, 0.5), (2, 0.3)]
    assert runs["child"].data.tags["mlflow.parentRunId"] == got.info.run_id
    local = mlflow_client.download_artifacts(got.info.run_id, "notes/readme.txt", str(tmp_path))
    assert Path(local).read_text() == "hello"


def test_mlflow_runs_read_by_modelops(fluent, ops, tmp_path):
    """Runs the fluent MLflow API logged are found, filtered and ordered by modelops, with
    their histories and artifacts."""
    name = unique("interop-plain")
    fluent.set_experiment(name)
    for i, acc in enumerate([0.6, 0.9, 0.75]):
        with fluent.start_run(run_name=f"r{i}"):
            fluent.log_param("depth", i)
            fluent.log_metric("acc", acc - 0.1, step=0)
            fluent.log_metric("acc", acc, step=1)
            fluent.set_tag("team", "a" if i % 2 else "b")
            fluent.log_text(f"run {i}", "out/text.txt")
    exp = ops.tracking.get_experiment(name)
    found = ops.tracking.search_runs(name, filter="metrics.acc > 0.7",
                                     order_by=["metrics.acc DESC"])
    assert [r.name for r in found] == ["r1", "r2"]
    run = found[0]
    assert run.params == {"depth": "1"}
    assert ops.tracking.get_metric_history(run.run_id, "acc").values.tolist() == \
        pytest.approx([0.8, 0.9])
    store = ops.store("tracking")
    local = store.download_artifact(run.run_id, "out/text.txt", str(tmp_path))
    assert Path(local).read_text() == "run 1"
    assert exp.name in [e.name for e in ops.tracking.list_experiments(ViewType.ALL)]


# -- registry -------------------------------------------------------------------------------

def test_modelops_versions_load_through_mlflow(ops, mlflow_client, fluent, data):
    """A version modelops registers is an MLflow model version: its semantic version,
    digests and lineage are tags, production and aliases are MLflow aliases, and
    ``models:/name@production`` loads with mlflow.sklearn and mlflow.pyfunc."""
    X, y = data
    name = unique("interop-model")
    first = LogisticRegression(C=0.1).fit(X, y)
    second = LogisticRegression(C=10.0).fit(X, y)
    v1 = ops.registry.register(name, first, version="1.2.0", metrics={"f1": 0.9},
                               lineage={"training_data": "s3://bucket/train.parquet"})
    ops.registry.promote(name, "1.2.0")
    ops.registry.set_alias(name, "champion", "1.2.0")
    mv = mlflow_client.get_model_version_by_alias(name, "production")
    assert mv.tags["modelops.version"] == "1.2.0"
    assert mv.tags["modelops.stage"] == "production"
    assert mv.tags["modelops.lineage.training_data"] == "s3://bucket/train.parquet"
    files = json.loads(mv.tags["modelops.files"])
    assert [(p, s) for p, s, _ in files] == [(f.path, f.sha256) for f in v1.files]
    assert mlflow_client.get_model_version_by_alias(name, "champion").version == mv.version
    import mlflow.pyfunc
    import mlflow.sklearn

    loaded = mlflow.sklearn.load_model(f"models:/{name}@production")
    assert (loaded.predict(X) == first.predict(X)).all()
    pyfunc = mlflow.pyfunc.load_model(f"models:/{name}@production")
    assert (np.asarray(pyfunc.predict(X)) == first.predict(X)).all()
    # A new production version moves the alias; the old one is archived, in MLflow too.
    ops.registry.register(name, second, version="1.3.0")
    ops.registry.promote(name, "1.3.0")
    now = mlflow_client.get_model_version_by_alias(name, "production")
    assert now.tags["modelops.version"] == "1.3.0"
    old = mlflow_client.get_model_version(name, mv.version)
    assert old.tags["modelops.stage"] == "archived"
    assert (mlflow.sklearn.load_model(f"models:/{name}@production").predict(X)
            == second.predict(X)).all()
    assert [e.action for e in ops.registry.history(name)] == ["promote", "set_alias",
                                                              "promote"]


def test_a_signature_is_mirrored_to_the_mlflow_model(ops, fluent):
    """A version's signature becomes the MLflow model's: MLflow's tools see the columns."""
    import mlflow.models
    import pandas as pd

    frame = pd.DataFrame({"amount": [1.0, 2.5, None, 4.0], "items": [1, 2, 3, 4],
                          "country": ["fr", "de", "fr", "es"]})
    model = LogisticRegression().fit(frame[["items"]].to_numpy(), [0, 1, 0, 1])
    name = unique("signed")
    version = ops.registry.register(name, model, input_example=frame)
    ops.registry.promote(name, version.version)
    info = mlflow.models.get_model_info(f"models:/{name}@production")
    inputs = {c.name: c for c in info.signature.inputs.inputs}
    assert list(inputs) == ["amount", "items", "country"]
    assert (inputs["amount"].type.name, inputs["amount"].required) == ("double", False)
    assert (inputs["items"].type.name, inputs["items"].required) == ("long", True)
    assert inputs["country"].type.name == "string"
    assert ops.registry.get_version(name, version.version).signature == version.signature


@pytest.mark.slow
def test_mlflow_registered_models_read_by_modelops(fluent, ops, mlflow_client, data):
    """Versions plain MLflow registered read as N.0.0 with their aliases (recorded in the
    history as a sync by ``mlflow``), load through modelops, and take modelops promotions."""
    X, y = data
    name = unique("interop-plain-model")
    models = [LogisticRegression(C=c).fit(X, y) for c in (0.01, 1.0)]
    for model in models:
        with fluent.start_run():
            fluent.sklearn.log_model(model, name="model", registered_model_name=name)
    mlflow_client.set_registered_model_alias(name, "production", "2")
    mlflow_client.set_registered_model_alias(name, "champion", "1")
    versions = ops.registry.list_versions(name)
    assert [v.version for v in versions] == ["1.0.0", "2.0.0"]
    production = ops.registry.get_version(name, stage="production")
    assert production.version == "2.0.0"
    assert production.flavor == "mlflow" and production.files
    assert ops.registry.get_version(name, alias="champion").version == "1.0.0"
    (sync,) = ops.registry.history(name)
    assert (sync.action, sync.actor) == ("sync", "mlflow")
    loaded = ops.registry.load(name, stage="production")
    assert (loaded.predict(X) == models[1].predict(X)).all()
    ops.registry.promote(name, "1.0.0")
    assert mlflow_client.get_model_version_by_alias(name, "production").version == "1"
    assert [e.action for e in ops.registry.history(name)] == ["sync", "promote"]
    assert ops.registry.get_version(name, "2.0.0").stage.value == "archived"


def test_registering_digests_match_downloads(ops, data, tmp_path):
    """What ``download`` gives back is byte for byte what was registered."""
    X, y = data
    name = unique("interop-digest")
    version = ops.registry.register(name, LogisticRegression().fit(X, y))
    ops.registry.download(name, version.version, str(tmp_path))
    got = hashlib.sha256((tmp_path / "model.joblib").read_bytes()).hexdigest()
    assert got == version.files[0].sha256


# -- drift ----------------------------------------------------------------------------------

def test_drift_reports_are_mlflow_runs(ops, mlflow_client, tmp_path):
    """A drift check is a run in the model's drift experiment, with per-column statistics
    as metrics and the HTML report as an artifact; modelops reads the report back whole."""
    rng = np.random.default_rng(3)
    name = unique("interop-drift")
    ops.drift.fit_reference(name, {"age": rng.normal(40, 5, 500),
                                   "city": rng.choice(["a", "b"], 500)})
    report = ops.drift.check(name, {"age": rng.normal(48, 5, 500),
                                    "city": rng.choice(["a", "b"], 500)})
    assert ops.drift.reports(name) == [report]
    assert ops.drift.report(name, report.report_id) == report
    exp = mlflow_client.get_experiment_by_name(f"modelops-drift-{name}")
    (run,) = mlflow_client.search_runs([exp.experiment_id], "tags.`modelops.kind` = 'report'")
    assert run.data.metrics["age.statistic"] == pytest.approx(report.column("age").statistic)
    assert run.data.metrics["age.drifted"] == 1.0
    assert run.data.metrics["drift.share"] == report.share
    paths = [f.path for f in mlflow_client.list_artifacts(run.info.run_id)]
    assert {"report.html", "report.json"} <= set(paths)
    html = mlflow_client.download_artifacts(run.info.run_id, "report.html", str(tmp_path))
    assert "<html" in Path(html).read_text()
    # Internal experiments stay out of modelops' experiment list.
    assert exp.name not in [e.name for e in ops.tracking.list_experiments(ViewType.ALL)]
