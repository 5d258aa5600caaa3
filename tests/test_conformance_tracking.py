"""The TrackingStore conformance suite, run against the built-in memory:// and file:// stores."""

from __future__ import annotations

import pytest

from modelops.client import open_store
from modelops.testing import (
    ArtifactTests,
    ExperimentTests,
    LoggingTests,
    RunTests,
    SearchTests,
    SharingTests,
    StoreCapabilities,
    TrackingStoreSuite,
)
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


class TestAStoreTakesTheAreasItServes(ExperimentTests, SearchTests):
    """The suite's areas are mixins: a backend can run some of them."""

    @pytest.fixture
    def store(self):
        return open_store("tracking", parse_uri("memory://"))


def test_the_suite_is_the_union_of_its_areas():
    from modelops.testing import tracking

    areas = (ExperimentTests, RunTests, LoggingTests, SearchTests, ArtifactTests, SharingTests)
    assert TrackingStoreSuite.__mro__[1:7] == areas
    tests = [{n for n in vars(area) if n.startswith("test_")} for area in areas]
    everything = {n for n in dir(TrackingStoreSuite) if n.startswith("test_")}
    base = {n for n in vars(tracking.TrackingStoreTests) if n.startswith("test_")}
    assert set().union(*tests) | base == everything
    assert sum(map(len, tests)) + len(base) == len(everything)      # no test in two areas
