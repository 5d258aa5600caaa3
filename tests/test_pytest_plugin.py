"""The modelops pytest plugin: its fixtures, seen from a user's test file, and light imports."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import modelops
from modelops import fluent

pytest_plugins = ["pytester"]

USER_TESTS = """
    import os

    import pytest

    import modelops
    from modelops.stores import TrackingStore


    def test_client_tracks_in_memory(modelops_client):
        assert modelops_client.uri.startswith("memory://")
        with modelops_client.tracking.start_run(experiment="e", name="r1") as run:
            run.log_metric("f1", 0.9, step=1)
            run.log_params({"lr": 0.1})
        got = modelops_client.tracking.get_run(run.run_id)
        assert got.metrics == {"f1": 0.9}
        assert got.params == {"lr": "0.1"}
        assert got.status.value == "FINISHED"


    def test_client_is_fresh_per_test(modelops_client):
        assert modelops_client.tracking.list_experiments() == []


    def test_fluent_api_uses_a_fresh_memory_store(modelops_fluent):
        assert modelops.get_client() is modelops_fluent
        assert modelops_fluent.uri.startswith("memory://")
        modelops.set_experiment("fluent")
        with modelops.start_run(name="r") as run:
            modelops.log_metric("loss", 0.5)
            modelops.log_param("depth", 3)
        assert modelops.get_run(run.run_id).metrics == {"loss": 0.5}
        assert len(modelops.search_runs()) == 1


    def test_fluent_run_left_active(modelops_fluent):
        modelops.start_run(name="left-open")
        modelops.log_metric("m", 1.0)
        assert modelops.active_run() is not None


    def test_fluent_state_was_reset(modelops_fluent):
        assert modelops.active_run() is None
        assert modelops.search_runs() == []
        assert modelops_fluent.tracking.list_experiments() == []


    def test_store_is_a_fresh_tracking_store(modelops_store):
        assert isinstance(modelops_store, TrackingStore)
        assert modelops_store.list_experiments() == []
        exp = modelops_store.create_experiment("e")
        assert modelops_store.get_experiment_by_name("e") == exp


    def test_local_client_writes_under_tmp_path(modelops_local_client, tmp_path):
        with modelops_local_client.tracking.start_run(experiment="disk") as run:
            run.log_metric("m", 1.0)
        assert os.path.isdir(tmp_path / "modelops")
        assert modelops_local_client.tracking.get_run(run.run_id).metrics == {"m": 1.0}


    @pytest.mark.slow
    def test_slow_marker_is_registered():
        pass
"""


def test_fixtures_work_in_a_user_test_file(pytester):
    """A user's test file gets the fixtures with no import or conftest (the entry point
    loads the plugin), and every test in it passes, under --strict-markers too."""
    pytester.makepyfile(test_user=textwrap.dedent(USER_TESTS))
    result = pytester.runpytest("--strict-markers", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=8)
    # The fluent fixture reset the module-level state after the inner tests.
    assert fluent._client is None
    assert fluent._experiment is None
    assert modelops.active_run() is None


def test_fixtures_are_listed_with_docstrings(pytester):
    """``pytest --fixtures`` lists the four fixtures with their docstrings."""
    pytester.makepyfile(test_empty="def test_nothing():\n    pass\n")
    result = pytester.runpytest("--fixtures", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines([
        "*modelops_store*", "*fresh, empty TrackingStore in memory*",
        "*modelops_client*", "*modelops.Client*on a fresh in-memory store*",
        "*modelops_local_client*", "*on local disk*",
        "*modelops_fluent*", "*module-level API*",
    ])


def _imports_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print('\\n'.join(sys.modules))"],
        check=True, capture_output=True, text=True,
    ).stdout
    return set(out.split())


def test_plugin_import_is_light():
    """Loading the plugin (as pytest does in every session) imports none of the kit's
    heavy parts: no hypothesis, no suite, no state machine, no store backend."""
    loaded = _imports_after("import modelops.testing.pytest_plugin")
    assert not loaded & {"hypothesis", "modelops.testing.tracking",
                         "modelops.testing.tracking_stateful", "modelops.testing.strategies",
                         "modelops.backends.layout.tracking"}


def test_import_modelops_testing_needs_neither_pytest_nor_hypothesis():
    """``import modelops.testing`` loads nothing until a name is used; ``import modelops``
    does not import the kit at all."""
    loaded = _imports_after("import modelops")
    assert "modelops.testing" not in loaded
    loaded = _imports_after("import modelops.testing")
    assert not loaded & {"pytest", "_pytest", "hypothesis"}
    loaded = _imports_after("from modelops.testing import TrackingStoreSuite")
    assert "pytest" in loaded
    assert "hypothesis" not in loaded


def test_public_names_resolve():
    """Every name in ``modelops.testing.__all__`` resolves, lazily."""
    import modelops.testing as kit

    for name in kit.__all__:
        assert getattr(kit, name) is not None, name
    assert set(kit.__all__) <= set(dir(kit))
    assert kit.strategies.names is not None
