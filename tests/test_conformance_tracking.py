"""The TrackingStore conformance suite, run against the built-in memory:// and file:// stores."""

from __future__ import annotations

import pytest

from modelops.client import open_store
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
