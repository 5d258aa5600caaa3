"""The PredictionStore conformance suite, run against the built-in memory:// and file://
stores."""

from __future__ import annotations

import pytest

from modelops.client import open_store
from modelops.stores import PredictionStore
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


def _abstract_methods() -> list[str]:
    return sorted(PredictionStore.__abstractmethods__)


def _complete_namespace() -> dict[str, object]:
    def method(self, *args, **kwargs):
        raise NotImplementedError

    return {name: method for name in _abstract_methods()}


@pytest.mark.parametrize("missing", _abstract_methods())
def test_incomplete_subclass_refused(missing):
    """A PredictionStore subclass missing one abstract method raises TypeError naming it."""
    namespace = _complete_namespace()
    del namespace[missing]
    with pytest.raises(TypeError, match=missing):
        type("Incomplete", (PredictionStore,), namespace)()


def test_abstract_interface_is_what_the_suite_expects():
    """The suite covers exactly these abstract methods; a new one needs new tests."""
    assert set(_abstract_methods()) == {
        "write_part", "list_parts", "read_part", "replace_parts", "delete_before",
        "list_models",
    }


def test_suite_base_class_is_not_collected():
    assert not PredictionStoreSuite.__name__.startswith("Test")


def test_suite_catches_a_store_that_lists_replaced_parts():
    """A store whose compaction leaves the replaced parts listed fails the suite (a sanity
    check of the checker)."""
    from modelops.backends.fsspec.predictions import LayoutPredictionStore

    class KeepsOld(LayoutPredictionStore):
        def replace_parts(self, model, kind, day, data, fmt, replaces):
            return self.write_part(model, kind, day, data)

    store = KeepsOld(open_store("predictions", parse_uri("memory://")).storage)
    with pytest.raises(AssertionError):
        PredictionStoreSuite().test_replace_parts_is_one_change_for_readers(store)
