"""What plain MLflow reads of a model's stages and aliases, and what modelops' history says
it should read: the registry tests compare the two after each change. And the race of
processes registering one model, which the tests run on each database server."""

from __future__ import annotations

import json
import subprocess
import sys
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


_REGISTERING = """
import json, os, sys, tempfile
import modelops

model = os.path.join(tempfile.mkdtemp(), "weights.bin")  # a model of the "path" flavor
with open(model, "wb") as f:
    f.write(os.urandom(64))
ops = modelops.connect(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
mine = []
for _ in range(int(sys.argv[3])):
    version = ops.registry.register("fraud", model).version
    ops.registry.promote("fraud", version)
    mine.append(version)
print(json.dumps(mine), flush=True)
"""


def check_processes_registering(uri: str, processes: int, each: int) -> None:
    """``processes`` processes each register ``each`` versions of one model and promote
    them, all at once: every version each was told it registered exists once, none more,
    exactly one is in production (in the history and in MLflow's alias), and MLflow's
    aliases and stage tags say what the history says."""
    n = processes
    procs = [subprocess.Popen([sys.executable, "-c", _REGISTERING, uri, str(i), str(each)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for i in range(n)]
    try:
        for proc in procs:
            assert proc.stdout.readline().strip() == "ready"
        for proc in procs:  # all at once
            proc.stdin.write("go\n")
            proc.stdin.flush()
        outputs = [proc.communicate(timeout=600) for proc in procs]
        assert all(proc.returncode == 0 for proc in procs), [err for _, err in outputs]
        told = [json.loads(out) for out, _ in outputs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    registered = [v for versions in told for v in versions]
    assert len(registered) == len(set(registered)) == n * each
    ops = modelops.connect(uri)
    assert sorted(v.version for v in ops.registry.list_versions("fraud")) == sorted(registered)
    history = ops.registry.history("fraud")
    assert [e.seq for e in history] == list(range(1, len(history) + 1))
    assert len([e for e in history if e.action == "promote"]) == n * each
    production = [v.version for v in ops.registry.list_versions("fraud")
                  if v.stage.value == "production"]
    assert len(production) == 1
    assert ops.registry.get_version("fraud", stage="production").version == production[0]
    assert mirrored(uri, "fraud") == expected(ops, "fraud")
    assert mirrored(uri, "fraud")[0]["production"] == production[0]
    numbers = [mv.version for mv in mlflow_client(uri).search_model_versions("name = 'fraud'")]
    assert len(numbers) == n * each  # every loser of a claim withdrew its MLflow version
    ops.close()
