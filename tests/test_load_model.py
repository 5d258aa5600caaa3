"""Loading by models:/ URI: from the client, the registry, and the module-level function,
whose store follows one documented rule."""

from __future__ import annotations

import pytest

import modelops
from modelops import fluent


def registered(path, weight):
    ops = modelops.connect(path)
    ops.registry.register("fraud", {"w": weight}, flavor="joblib")
    ops.registry.promote("fraud", "1.0.0")
    return ops


def test_the_client_and_the_registry_load_by_uri(tmp_path):
    ops = registered(tmp_path / "a", 1)
    assert ops.load_model("models:/fraud@production") == {"w": 1}
    assert ops.registry.load("models:/fraud/1.0.0") == {"w": 1}
    assert ops.registry.load("models:/fraud/latest") == {"w": 1}
    with pytest.raises(modelops.InvalidInput, match="names the version itself"):
        ops.registry.load("models:/fraud/1.0.0", version="1.0.0")
    with pytest.raises(modelops.NotFound):
        ops.load_model("models:/fraud@champion")


def test_the_module_level_function_uses_the_most_recent_connect(tmp_path, monkeypatch):
    # It read ./.modelops whatever store the user had connected to.
    monkeypatch.delenv("MODELOPS_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    registered(tmp_path / "a", 1)
    assert modelops.load_model("models:/fraud@production") == {"w": 1}
    registered(tmp_path / "b", 2)                         # the most recent connect
    assert modelops.load_model("models:/fraud@production") == {"w": 2}
    # MODELOPS_URI says otherwise
    monkeypatch.setenv("MODELOPS_URI", str(tmp_path / "a"))
    assert modelops.load_model("models:/fraud@production") == {"w": 1}
    # and set_uri over both
    registered(tmp_path / "c", 3)
    modelops.set_uri(tmp_path / "b")
    assert modelops.load_model("models:/fraud@production") == {"w": 2}
    assert modelops.get_client().uri.endswith("/b")
    modelops.set_uri(None)                                # back to the rule: the env
    assert modelops.load_model("models:/fraud@production") == {"w": 1}
    monkeypatch.delenv("MODELOPS_URI")
    assert modelops.load_model("models:/fraud@production") == {"w": 3}


def test_a_closed_client_is_no_default_and_copies_do_not_become_one(tmp_path, monkeypatch):
    monkeypatch.delenv("MODELOPS_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    ops = registered(tmp_path / "a", 1)
    ops.close()
    assert fluent.get_client().uri.endswith("/.modelops")  # the default, not a closed one
    ops = registered(tmp_path / "a", 1)
    modelops.copy_store(tmp_path / "a", tmp_path / "copy", progress=False)
    assert modelops.get_client() is ops
