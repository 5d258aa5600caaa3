"""The TrackingStore conformance suite, run against the built-in memory:// and file:// stores."""

from __future__ import annotations

import pytest

from modelops.client import open_store
from modelops.stores import TrackingStore
from modelops.testing import StoreCapabilities, TrackingStoreSuite
from modelops.uri import parse_uri


class TestMemoryTrackingStore(TrackingStoreSuite):
    """The layout store on fsspec's in-memory filesystem."""

    capabilities = StoreCapabilities(concurrent_processes=False)

    @pytest.fixture
    def store(self):
        store = open_store("tracking", parse_uri("memory://"))
        yield store
        store.close()


class TestLocalTrackingStore(TrackingStoreSuite):
    """The layout store on local disk (``file://``), in the test's tmp_path."""

    @pytest.fixture
    def store(self, tmp_path):
        store = open_store("tracking", parse_uri(f"file://{tmp_path / 'store'}"))
        yield store
        store.close()


def _abstract_methods() -> list[str]:
    return sorted(TrackingStore.__abstractmethods__)


def _complete_namespace() -> dict[str, object]:
    def method(self, *args, **kwargs):
        raise NotImplementedError

    return {name: method for name in _abstract_methods()}


def test_complete_subclass_can_be_instantiated():
    """A subclass implementing every abstract method can be made (the baseline for below)."""
    store = type("Complete", (TrackingStore,), _complete_namespace())()
    assert isinstance(store, TrackingStore)
    assert store.uri == ""
    store.close()  # the optional hook has a default


@pytest.mark.parametrize("missing", _abstract_methods())
def test_incomplete_subclass_refused(missing):
    """A TrackingStore subclass missing one abstract method raises TypeError naming it."""
    namespace = _complete_namespace()
    del namespace[missing]
    incomplete = type("Incomplete", (TrackingStore,), namespace)
    with pytest.raises(TypeError, match=missing):
        incomplete()


def test_abstract_interface_is_what_the_suite_expects():
    """The suite covers exactly these abstract methods; a new one needs new tests."""
    assert set(_abstract_methods()) == {
        "create_experiment", "get_experiment", "get_experiment_by_name", "list_experiments",
        "set_experiment_lifecycle", "create_run", "get_run", "update_run",
        "set_run_lifecycle", "purge_run", "log_batch", "get_metric_history", "search_runs",
        "log_artifact", "write_artifact", "list_artifacts", "download_artifact",
    }


def test_suite_base_class_is_not_collected():
    """The suite itself has no Test prefix, so pytest collects it only via subclasses."""
    assert not TrackingStoreSuite.__name__.startswith("Test")


def test_missing_capability_skips_with_its_name():
    """``require`` skips with a message naming the missing capability."""

    class NoArtifacts(TrackingStoreSuite):
        capabilities = StoreCapabilities(artifacts=False)

    with pytest.raises(pytest.skip.Exception, match="'artifacts'"):
        NoArtifacts().require("artifacts")
    NoArtifacts().require("purge")  # declared: no skip


def test_steps_beyond_int64_are_invalid_input():
    """A metric step beyond int64 (what stores keep) is refused with InvalidInput."""
    from modelops.entities import MetricSeries
    from modelops.errors import InvalidInput

    with pytest.raises(InvalidInput):
        MetricSeries("m", [2**63], [1.0], [0])
