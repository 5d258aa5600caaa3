"""The PredictionStore conformance suite, run against the built-in memory:// and file://
stores."""

from __future__ import annotations

import pytest

from modelops.client import open_store
from modelops.testing import PredictionStoreSuite, StoreCapabilities
from modelops.uri import parse_uri


class TestMemoryPredictionStore(PredictionStoreSuite):
    """The layout store on fsspec's in-memory filesystem."""

    capabilities = StoreCapabilities(concurrent_processes=False)

    @pytest.fixture
    def store(self):
        store = open_store("predictions", parse_uri("memory://"))
        yield store
        store.close()
        store.storage.remove_tree("")  # free the process-wide memory


class TestLocalPredictionStore(PredictionStoreSuite):
    """The layout store on local disk (``file://``), in the test's tmp_path."""

    @pytest.fixture
    def store(self, tmp_path):
        store = open_store("predictions", parse_uri(f"file://{tmp_path / 'store'}"))
        yield store
        store.close()


def test_suite_catches_a_store_that_lists_replaced_parts():
    """A store whose compaction leaves the replaced parts listed fails the suite (a sanity
    check of the checker)."""
    from modelops.backends.layout.predictions import LayoutPredictionStore

    class KeepsOld(LayoutPredictionStore):
        def replace_parts(self, model, kind, day, data, fmt, replaces):
            return self.write_part(model, kind, day, data)

    store = KeepsOld(open_store("predictions", parse_uri("memory://")).storage)
    with pytest.raises(AssertionError):
        PredictionStoreSuite().test_replace_parts_is_one_change_for_readers(store)
