"""``modelops.copy_store`` and ``modelops store copy`` between backends: local → memory,
MLflow → local, local → MLflow (server), MLflow → MLflow (database to server); each copy
checked item by item, then copied again to show it adds nothing."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import modelops
from modelops.cli.main import run as cli
from modelops.entities import LifecycleStage, ViewType


@pytest.fixture(scope="module")
def model():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 2))
    return LogisticRegression().fit(X, (X[:, 0] > 0).astype(int)), X


def populate(uri: str, model, tag: str, predictions: bool = True) -> dict:
    """Two experiments (one deleted), a parent and a child run with histories and
    artifacts, a model with two versions, a promotion and an alias, drift, predictions."""
    estimator = model[0]
    ops = modelops.connect(uri)
    names = {"exp": f"train-{tag}", "gone": f"old-{tag}", "model": f"fraud-{tag}"}
    with ops.tracking.start_run(experiment=names["exp"], name="parent") as parent:
        parent.log_params({"C": 1.0})
        for step in range(5):
            parent.log_metric("loss", 1.0 / (step + 1), step=step)
        parent.log_text("weights", "model/weights.txt")
        parent.log_text("top", "summary.txt")
        with ops.tracking.start_run(experiment=names["exp"], name="child",
                                    parent=parent) as child:
            child.log_metric("auc", 0.75)
    with ops.tracking.start_run(experiment=names["gone"], name="old") as old:
        old.log_metric("x", 1.0)
    ops.tracking.delete_experiment(names["gone"])
    ops.registry.register(names["model"], estimator, version="1.0.0", run=parent)
    ops.registry.register(names["model"], estimator, version="1.1.0")
    ops.registry.promote(names["model"], "1.0.0")
    ops.registry.set_alias(names["model"], "champion", "1.1.0")
    ops.registry.tag(names["model"], {"owner": "risk"})
    rng = np.random.default_rng(1)
    ops.drift.fit_reference(names["model"], {"a": rng.normal(size=300)})
    ops.drift.check(names["model"], {"a": rng.normal(1, 1, size=300)})
    if predictions:
        log = ops.predictions.logger(names["model"], version="1.0.0")
        for i in range(5):
            log.log(features={"a": float(i)}, prediction=i % 2)
        log.close()
    ops.close()
    return names


def check_copy(uri: str, names: dict, model) -> None:
    """Everything populate() wrote is in the store at ``uri``."""
    estimator, X = model
    ops = modelops.connect(uri)
    runs = {r.name: r for r in ops.tracking.search_runs(names["exp"])}
    assert set(runs) == {"parent", "child"}
    parent = runs["parent"]
    assert parent.params == {"C": "1.0"}
    assert ops.tracking.get_metric_history(parent.run_id, "loss").values.tolist() == \
        [1.0 / (s + 1) for s in range(5)]
    assert runs["child"].info.parent_run_id == parent.run_id
    assert parent.info.status.value == "FINISHED"
    store = ops.store("tracking")
    # On MLflow, the training run also holds its model versions' files (modelops-versions/).
    assert {"model", "summary.txt"} <= {f.path for f in store.list_artifacts(parent.run_id)}
    gone = ops.tracking.get_experiment(names["gone"])
    assert gone.lifecycle_stage is LifecycleStage.DELETED
    name = names["model"]
    assert [v.version for v in ops.registry.list_versions(name)] == ["1.0.0", "1.1.0"]
    assert ops.registry.get_version(name, stage="production").version == "1.0.0"
    assert ops.registry.get_version(name, alias="champion").version == "1.1.0"
    assert ops.registry.get_version(name, "1.0.0").run_id == parent.run_id
    assert ops.registry.get_model(name).tags["owner"] == "risk"
    loaded = ops.registry.load(name, stage="production")
    assert (loaded.predict(X) == estimator.predict(X)).all()
    assert len(ops.drift.reports(name)) == 1
    assert ops.drift.reference(name).rows == 300
    ops.close()


def assert_nothing_added(result) -> None:
    assert result.total_copied == 0, result.summary()


def test_local_to_memory(tmp_path, model):
    src = str(tmp_path / "local")
    names = populate(src, model, "lm")
    dst = f"memory://copy-{uuid.uuid4().hex[:8]}"
    result = modelops.copy_store(src, dst, progress=False)
    assert result.copied["runs"] == 3 and result.copied["versions"] == 2
    assert result.copied["parts"] >= 1
    check_copy(dst, names, model)
    assert_nothing_added(modelops.copy_store(src, dst, progress=False))
    ops = modelops.connect(dst)
    assert len(ops.predictions.read(names["model"])) == 5


def test_mlflow_to_local(sqlite_uri, tmp_path, model):
    src = sqlite_uri()
    names = populate(src, model, "ml", predictions=False)
    dst = str(tmp_path / "local")
    result = modelops.copy_store(src, dst, progress=False)
    assert any("predictions" in note for note in result.notes)
    check_copy(dst, names, model)
    assert_nothing_added(modelops.copy_store(src, dst, progress=False))


def test_local_to_mlflow_server_by_cli(mlflow_server, tmp_path, model, capsys):
    """``modelops store copy`` into a running MLflow server, twice."""
    src = str(tmp_path / "local")
    tag = uuid.uuid4().hex[:8]
    names = populate(src, model, tag)
    dst = f"mlflow+{mlflow_server}"
    assert cli(["store", "copy", src, dst]) == 0
    out = capsys.readouterr().out
    assert "runs: 3 copied" in out and "predictions not copied" in out
    check_copy(dst, names, model)
    assert cli(["store", "copy", src, dst, "--only", "tracking,registry"]) == 0
    out = capsys.readouterr().out
    assert "runs: 0 copied, 3 already there" in out and "versions: 0 copied" in out


def test_mlflow_sqlite_to_mlflow_server(mlflow_server, sqlite_uri, model, tmp_path):
    """MLflow to MLflow (a database to a server); plain MLflow loads the copied production
    model by its alias."""
    src = sqlite_uri()
    names = populate(src, model, uuid.uuid4().hex[:8], predictions=False)
    dst = f"mlflow+{mlflow_server}"
    kinds = ("tracking", "registry", "drift")
    result = modelops.copy_store(src, dst, kinds=kinds, progress=False)
    assert (result.copied["runs"], result.copied["versions"]) == (3, 2)
    check_copy(dst, names, model)
    assert_nothing_added(modelops.copy_store(src, dst, kinds=kinds, progress=False))
    import mlflow.sklearn
    from mlflow.artifacts import download_artifacts
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=mlflow_server, registry_uri=mlflow_server)
    mv = client.get_model_version_by_alias(names["model"], "production")
    local = download_artifacts(artifact_uri=client.get_model_version_download_uri(
        names["model"], mv.version), dst_path=str(tmp_path), tracking_uri=mlflow_server)
    loaded = mlflow.sklearn.load_model(local)
    assert (loaded.predict(model[1]) == model[0].predict(model[1])).all()


def test_a_half_done_run_is_copied_again(tmp_path, model):
    """A copied run without its completion tag (a copy cut short) is deleted and copied
    anew; the source is never written."""
    src, dst = str(tmp_path / "a"), str(tmp_path / "b")
    names = populate(src, model, "half", predictions=False)
    modelops.copy_store(src, dst, kinds=("tracking",), progress=False)
    ops = modelops.connect(dst)
    parent = next(r for r in ops.tracking.search_runs(names["exp"]) if r.name == "parent")
    ops.store("tracking").log_batch(parent.run_id,
                                    tags={"modelops.copy_complete": "false"})
    result = modelops.copy_store(src, dst, kinds=("tracking",), progress=False)
    assert result.copied == {"runs": 1}
    everything = ops.tracking.search_runs(names["exp"], view=ViewType.ALL)
    assert sorted(r.name for r in everything) == ["child", "parent", "parent"]
    ops.close()


def test_bad_arguments(tmp_path):
    with pytest.raises(modelops.InvalidInput, match="kinds"):
        modelops.copy_store(str(tmp_path / "a"), str(tmp_path / "b"), kinds=("runs",))
    with pytest.raises(modelops.InvalidInput, match="same store"):
        modelops.copy_store(str(tmp_path / "a"), f"file://{tmp_path / 'a'}")


def test_progress_line(tmp_path, model, capsys):
    src = str(tmp_path / "a")
    populate(src, model, "progress", predictions=False)
    modelops.copy_store(src, str(tmp_path / "b"), kinds=("tracking",), progress=True)
    assert "modelops copy: runs 3/3" in capsys.readouterr().err
