"""The environment a run records (Python, platform, git) and what a version needs to load."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
from importlib import metadata

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import modelops
from modelops import environment
from modelops.errors import IntegrityError, InvalidInput
from modelops.tracking.model_manifest import MANIFEST

GIT = shutil.which("git")
needs_git = pytest.mark.skipif(GIT is None, reason="git is missing: apt-get install -y git")


@pytest.fixture(autouse=True)
def _fresh_git_cache():
    environment.git_state.cache_clear()
    yield
    environment.git_state.cache_clear()


@pytest.fixture(scope="module")
def model():
    X = np.random.default_rng(0).normal(size=(60, 3))
    return LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))


def _git(repo, *args):
    return subprocess.run([GIT, "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path):
    """A git work tree with one committed script."""
    folder = tmp_path / "code"
    folder.mkdir()
    _git(folder, "init", "-q")
    _git(folder, "config", "user.email", "ci@example.com")
    _git(folder, "config", "user.name", "ci")
    (folder / "train.py").write_text("print('train')\n")
    _git(folder, "add", "train.py")
    _git(folder, "commit", "-q", "-m", "first")
    return folder


def _run_tags(ops):
    with ops.tracking.start_run() as run:
        pass
    return ops.tracking.get_run(run.run_id).tags


def test_every_run_records_python_and_the_platform(ops, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [""])
    tags = _run_tags(ops)
    assert tags["modelops.python"] == platform.python_version()
    assert tags["modelops.platform"] == platform.platform()
    assert "modelops.git.commit" not in tags               # not a work tree


@needs_git
def test_a_run_in_a_work_tree_records_its_commit_and_whether_it_is_dirty(ops, repo,
                                                                         monkeypatch):
    monkeypatch.setattr(sys, "argv", [str(repo / "train.py")])   # the script's work tree
    tags = _run_tags(ops)
    assert tags["modelops.git.commit"] == _git(repo, "rev-parse", "HEAD")
    assert tags["modelops.git.dirty"] == "false"
    (repo / "notes.txt").write_text("untracked: not dirty")
    environment.git_state.cache_clear()
    assert _run_tags(ops)["modelops.git.dirty"] == "false"
    (repo / "train.py").write_text("print('changed')\n")
    environment.git_state.cache_clear()
    assert _run_tags(ops)["modelops.git.dirty"] == "true"


@needs_git
def test_a_notebook_uses_the_current_directory(ops, repo, monkeypatch):
    monkeypatch.chdir(repo)
    monkeypatch.setattr(sys, "argv", ["-c"])
    assert _run_tags(ops)["modelops.git.commit"] == _git(repo, "rev-parse", "HEAD")


def test_without_git_the_run_goes_on_without_git_tags(ops, repo, monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "argv", [str(repo / "train.py")])
    empty = tmp_path / "no-git"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))                       # no git on the PATH
    tags = _run_tags(ops)
    assert "modelops.python" in tags and "modelops.git.commit" not in tags


def test_a_slow_git_is_given_up_on(ops, repo, monkeypatch, tmp_path):
    bin_dir = tmp_path / "slow-bin"
    bin_dir.mkdir()
    slow = bin_dir / "git"
    slow.write_text("#!/bin/sh\nsleep 5\n")
    slow.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(environment, "GIT_TIMEOUT", 0.2)
    monkeypatch.setattr(sys, "argv", [str(repo / "train.py")])
    import time

    started = time.perf_counter()
    tags = _run_tags(ops)
    assert time.perf_counter() - started < 3
    assert "modelops.git.commit" not in tags


@needs_git
def test_git_runs_once_per_directory_and_process(ops, repo, monkeypatch):
    monkeypatch.setattr(sys, "argv", [str(repo / "train.py")])
    calls = []
    real = environment._git
    monkeypatch.setattr(environment, "_git", lambda *a: calls.append(a) or real(*a))
    for _ in range(3):
        _run_tags(ops)
    assert len(calls) == 2                       # rev-parse and status, once


def test_tags_given_to_start_run_win(ops):
    with ops.tracking.start_run(tags={"modelops.python": "mine"}) as run:
        pass
    assert ops.tracking.get_run(run.run_id).tags["modelops.python"] == "mine"


def test_a_version_records_what_loading_it_needs(any_ops, model):
    version = any_ops.registry.register("clf", model)
    expected = {name: metadata.version(name)
                for name in ("modelops", "joblib", "scikit-learn", "numpy", "scipy")}
    assert dict(version.requirements) == {"python": platform.python_version(), **expected}
    assert any_ops.registry.get_version("clf").requirements == version.requirements
    assert version.pip_requirements == [f"{k}=={v}" for k, v in expected.items()]
    assert "requirements (to load it)" in version._repr_html_()
    plain = any_ops.registry.register("settings", {"threshold": 0.5})   # a dict: joblib only
    assert set(plain.requirements) == {"python", "modelops", "joblib"}


def test_log_model_keeps_the_requirements_for_register_from_run(ops, model):
    with ops.tracking.start_run() as run:
        run.log_model(model, "model", register=False)
    manifest = json.loads(ops.tracking.read_text(run.run_id, f"model/{MANIFEST}"))
    assert manifest["requirements"]["scikit-learn"] == metadata.version("scikit-learn")
    # what the logging process had is what the version records, not what is installed now
    manifest["requirements"]["scikit-learn"] = "1.2.0"
    ops.tracking.store.write_artifact(run.run_id, json.dumps(manifest).encode(),
                                      f"model/{MANIFEST}")
    version = ops.registry.register_from_run(run.run_id, "model", "clf")
    assert version.requirements["scikit-learn"] == "1.2.0"


@pytest.mark.parametrize("bad", [
    "not a mapping", {"scikit-learn": "1.0; rm -rf /"}, {"scikit learn": "1.0"},
    {"numpy": "1.0\n--index-url http://evil"}, {"numpy": 1},
])
def test_malformed_requirements_in_a_manifest_are_an_integrity_error(ops, model, bad):
    with ops.tracking.start_run() as run:
        run.log_model(model, "model", register=False)
    manifest = json.loads(ops.tracking.read_text(run.run_id, f"model/{MANIFEST}"))
    manifest["requirements"] = bad
    ops.tracking.store.write_artifact(run.run_id, json.dumps(manifest).encode(),
                                      f"model/{MANIFEST}")
    with pytest.raises(IntegrityError, match="requirements"):
        ops.registry.register_from_run(run.run_id, "model", "clf")
    assert ops.registry.list_models() == []


def test_requirements_can_be_given_and_are_checked(ops, model):
    version = ops.registry.register("clf", model, requirements={"scikit-learn": "1.5.2"})
    assert dict(version.requirements) == {"scikit-learn": "1.5.2"}
    with pytest.raises(InvalidInput) as err:
        ops.registry.register("clf", model, requirements={"a b": "1"})
    assert err.value.field == "requirements"
    with pytest.raises(InvalidInput):
        ops.registry.register("clf", model, requirements={f"p{i}": "1" for i in range(101)})


def test_the_cli_shows_what_a_version_needs(tmp_path, model, capsys):
    from modelops.cli.main import run as main

    ops = modelops.connect(tmp_path / "store")
    with ops.tracking.start_run() as run:
        run.log_input({"x": np.arange(5.0)}, name="training", source="s3://lake/x.parquet")
        run.log_model(model, "clf")
    assert main(["--uri", str(tmp_path / "store"), "models", "version", "clf"]) == 0
    out = capsys.readouterr().out
    assert f"scikit-learn  {metadata.version('scikit-learn')}" in out
    assert "s3://lake/x.parquet" in out and "training" in out
    assert ["python", platform.python_version()] in [line.split() for line in out.splitlines()]
    main(["--uri", str(tmp_path / "store"), "models", "version", "clf", "1.0.0",
          "--requirements"])
    lines = capsys.readouterr().out.split()
    assert f"scikit-learn=={metadata.version('scikit-learn')}" in lines
    assert not any(line.startswith("python") for line in lines)
