"""What plain MLflow reads of a model's stages and aliases, and what modelops' history says
it should read: the registry tests compare the two after each change."""

from __future__ import annotations

from typing import Any

from modelops_mlflow.registry import STAGE_TAG, VERSION_TAG

import modelops


def mlflow_client(uri: str) -> Any:
    """Plain MLflow's client on an MLflow URI (``mlflow+`` or not)."""
    from mlflow.tracking import MlflowClient

    raw = uri.removeprefix("mlflow+")
    return MlflowClient(tracking_uri=raw, registry_uri=raw)


def mirrored(uri: str, name: str) -> tuple[dict[str, str], dict[str, str]]:
    """What plain MLflow reads of a model: alias -> semantic version, and semantic version
    -> its ``modelops.stage`` tag (none: development)."""
    client = mlflow_client(uri)
    versions = client.search_model_versions(f"name = '{name}'")
    semver = {str(mv.version): mv.tags[VERSION_TAG] for mv in versions}
    stages = {mv.tags[VERSION_TAG]: mv.tags.get(STAGE_TAG, "development") for mv in versions}
    aliases = {a: semver[str(v)] for a, v in client.get_registered_model(name).aliases.items()}
    return aliases, stages


def expected(ops: modelops.Client, name: str) -> tuple[dict[str, str], dict[str, str]]:
    """The same, as the model's history says it should be."""
    aliases, stages = {}, {}
    for version in ops.registry.list_versions(name):
        stages[version.version] = version.stage.value
        if version.stage.value in ("production", "staging"):
            aliases[version.stage.value] = version.version
        aliases.update(dict.fromkeys(version.aliases, version.version))
    return aliases, stages
