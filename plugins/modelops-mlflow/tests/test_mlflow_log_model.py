"""A model logged with an MLflow-backed run, registered later from the run."""

from __future__ import annotations

import json

import numpy as np
from sklearn.linear_model import LogisticRegression

import modelops


def test_log_model_then_register_from_run(sqlite_uri):
    ops = modelops.connect(sqlite_uri())
    X = np.random.default_rng(0).normal(size=(40, 2))
    model = LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))
    with ops.tracking.start_run(experiment="train") as run:
        run.log_metric("f1", 0.8)
        run.log_model(model, "model", register=False)
    assert ops.registry.list_models() == []
    version = ops.registry.register_from_run(run.run_id, "model", "churn")
    assert version.run_id == run.run_id and version.metrics == {"f1": 0.8}
    np.testing.assert_array_equal(ops.registry.load("churn").coef_, model.coef_)


def test_logged_datasets_link_versions_and_start_references(sqlite_uri):
    uri = sqlite_uri()
    ops = modelops.connect(uri)
    rng = np.random.default_rng(1)
    frame = {"x": rng.normal(size=200), "label": (rng.normal(size=200) > 0).astype(int)}
    model = LogisticRegression().fit(frame["x"].reshape(-1, 1), frame["label"])
    with ops.tracking.start_run(experiment="train") as run:
        logged = run.log_input(frame, name="train", source="s3://lake/t.parquet",
                               target="label")
        run.log_model(model, "clf", register=False)
    again = modelops.connect(uri)
    assert again.tracking.list_inputs(run.run_id) == [logged]
    version = again.registry.register_from_run(run.run_id, "clf", "churn")
    assert again.registry.get_version("churn").lineage.datasets == (logged.link(),)
    reference = again.drift.fit_reference("churn", dataset=version.lineage.datasets[0])
    assert reference.rows == 200 and reference.target == "label"
    assert not again.drift.check("churn", frame).drifted


def test_a_logged_dataset_is_an_mlflow_run_input_too(sqlite_uri):
    uri = sqlite_uri()
    ops = modelops.connect(uri)
    with ops.tracking.start_run() as run:
        logged = run.log_input({"x": np.arange(10.0)}, name="train", context="training",
                               source="s3://lake/t.parquet")
    client = ops.tracking.store.client
    [mirrored] = client.get_run(run.run_id).inputs.dataset_inputs
    assert mirrored.dataset.name == "train"
    assert mirrored.dataset.digest == logged.digest[:32]
    assert json.loads(mirrored.dataset.source) == {"uri": "s3://lake/t.parquet"}
    assert json.loads(mirrored.dataset.profile) == {"num_rows": 10}
    assert {t.key: t.value for t in mirrored.tags} == {"mlflow.data.context": "training"}
