"""docs/migrating-from-mlflow.md names every MLflow call a port reaches for, with its
modelops equivalent (tests/test_docs.py runs its side-by-side examples)."""

from __future__ import annotations

import pathlib

import pytest

GUIDE = (pathlib.Path(__file__).resolve().parent.parent / "docs"
         / "migrating-from-mlflow.md").read_text()

#: MLflow's call -> the modelops call the guide must give for it.
EQUIVALENTS = {
    "set_tracking_uri": "modelops.set_uri",
    "get_tracking_uri": "modelops.get_uri()",
    "search_runs": 'output="pandas"',
    "mlflow.sklearn.autolog()": "modelops.sklearn.autolog()",
    "mlflow.autolog()": "modelops.autolog()",
    "search_model_versions": "ops.registry.list_versions",
    "set_model_version_tag": "ops.registry.tag",
    "get_model_version_by_alias": 'ops.registry.get_version("fraud", alias="champion")',
    "mlflow.register_model": "ops.registry.register_from_run",
    'mlflow.sklearn.log_model(model, "model")': 'register=False',
    "set_registered_model_alias": "ops.registry.set_alias",
    "transition_model_version_stage": "ops.registry.promote",
    "get_metric_history": "ops.tracking.get_metric_history",
    "infer_signature": "modelops.infer_signature",
    "mlflow.log_input": "modelops.log_input",
    "mlflow.source.git.commit": "modelops.git.commit",
    "pip_requirements": "version.requirements",
    "enable_system_metrics_logging": "modelops[system-metrics]",
}


@pytest.mark.parametrize("mlflow_call", sorted(EQUIVALENTS))
def test_the_guide_maps_the_call(mlflow_call):
    rows = [line for line in GUIDE.splitlines()
            if line.startswith("|") and mlflow_call in line.split("|")[1]]
    assert rows, f"no table row for {mlflow_call}"
    assert any(EQUIVALENTS[mlflow_call] in row.split("|")[2] for row in rows), rows


def test_what_modelops_lacks_is_said():
    section = GUIDE.split("## What modelops does not have (yet)")[1].split("\n## ")[0]
    for missing in ("output schema", "mlflow.data", "requirements.txt", "samples_before_logging",
                    "runs:/", "pyfunc"):
        assert missing.lower() in section.lower(), missing
