"""The DriftStore conformance suite, run against the built-in memory:// and file:// stores."""

from __future__ import annotations

import pytest

from modelops.client import open_store
from modelops.errors import NotFound
from modelops.testing import DriftStoreSuite, StoreCapabilities
from modelops.testing.drift import make_profile
from modelops.uri import parse_uri


class TestMemoryDriftStore(DriftStoreSuite):
    """The layout store on fsspec's in-memory filesystem."""

    capabilities = StoreCapabilities(concurrent_processes=False)

    @pytest.fixture
    def store(self):
        store = open_store("drift", parse_uri("memory://"))
        yield store
        store.close()
        store.storage.remove_tree("")  # free the process-wide memory


class TestLocalDriftStore(DriftStoreSuite):
    """The layout store on local disk (``file://``), in the test's tmp_path."""

    @pytest.fixture
    def store(self, tmp_path):
        store = open_store("drift", parse_uri(f"file://{tmp_path / 'store'}"))
        yield store
        store.close()


def test_suite_catches_a_store_that_loses_the_newest_profile():
    """A store whose ``get_profile`` returns the oldest profile fails the suite (a sanity
    check of the checker)."""
    from modelops.backends.layout.drift import LayoutDriftStore

    class Oldest(LayoutDriftStore):
        def get_profile(self, name, profile_id=None):
            if profile_id is None:
                profiles = self.list_profiles(name)
                if not profiles:
                    raise NotFound(name)
                return profiles[0]
            return super().get_profile(name, profile_id)

    store = Oldest(open_store("drift", parse_uri("memory://")).storage)
    with pytest.raises(AssertionError):
        DriftStoreSuite().test_newest_profile_is_the_default(store)


def test_make_profile_is_deterministic():
    """The suite's records are made from seeded data, so processes can rebuild them."""
    a, b = make_profile("m", seed=3), make_profile("m", seed=3)
    assert a.columns == b.columns and a.profile_id != b.profile_id
