"""The RegistryStore conformance suite, run against the built-in memory:// and file:// stores."""

from __future__ import annotations

import pytest

from modelops.client import open_store
from modelops.errors import AlreadyExists, Conflict
from modelops.testing import RegistryStoreSuite, StoreCapabilities
from modelops.uri import parse_uri


class TestMemoryRegistryStore(RegistryStoreSuite):
    """The layout store on fsspec's in-memory filesystem."""

    capabilities = StoreCapabilities(concurrent_processes=False)

    @pytest.fixture
    def store(self):
        store = open_store("registry", parse_uri("memory://"))
        yield store
        store.close()
        store.storage.remove_tree("")  # free the process-wide memory


class TestLocalRegistryStore(RegistryStoreSuite):
    """The layout store on local disk (``file://``), in the test's tmp_path."""

    @pytest.fixture
    def store(self, tmp_path):
        store = open_store("registry", parse_uri(f"file://{tmp_path / 'store'}"))
        yield store
        store.close()



def test_missing_capability_skips_with_its_name():
    """``require`` skips with a message naming the missing capability."""

    class NoProcesses(RegistryStoreSuite):
        capabilities = StoreCapabilities(concurrent_processes=False)

    with pytest.raises(pytest.skip.Exception, match="'concurrent_processes'"):
        NoProcesses().require("concurrent_processes")
    NoProcesses().require("reopen")  # declared: no skip


def _memory_store():
    return open_store("registry", parse_uri("memory://"))


def test_suite_catches_a_store_without_exclusive_version_claims(tmp_path):
    """A store whose ``create_version`` pretends a taken version was created fails the
    suite's duplicate test (a sanity check of the checker)."""
    from modelops.backends.layout.registry import LayoutRegistryStore

    class Pretends(LayoutRegistryStore):
        def create_version(self, version, files):
            try:
                return super().create_version(version, files)
            except AlreadyExists:
                return version

    store = Pretends(_memory_store().storage)
    suite = RegistryStoreSuite()
    model = store.create_model(suite.new_model("fraud"))
    with pytest.raises(pytest.fail.Exception, match="DID NOT RAISE"):
        suite.test_duplicate_version_raises_already_exists_and_writes_nothing(
            store, model, tmp_path)


def test_suite_catches_a_store_that_forks_the_trail():
    """A store whose ``append_event`` accepts a taken sequence number fails the suite
    (a sanity check of the checker)."""
    from modelops.backends.layout.registry import LayoutRegistryStore

    class Forks(LayoutRegistryStore):
        def append_event(self, event):
            try:
                return super().append_event(event)
            except Conflict:
                return event

    store = Forks(_memory_store().storage)
    suite = RegistryStoreSuite()
    model = store.create_model(suite.new_model("fraud"))
    with pytest.raises(pytest.fail.Exception, match="DID NOT RAISE"):
        suite.test_duplicate_seq_raises_conflict_and_changes_nothing(store, model)


def test_local_store_writes_nothing_outside_its_root(tmp_path):
    """A path-like digest in a record never writes a file outside the store's directory."""
    from modelops.entities.registry import ArtifactFile, ModelVersion, RegisteredModel
    from modelops.errors import InvalidInput

    store = open_store("registry", parse_uri(f"file://{tmp_path / 'root' / 'store'}"))
    store.create_model(RegisteredModel(name="m"))
    local = tmp_path / "weights"
    local.write_bytes(b"pwned")
    with pytest.raises(InvalidInput, match="sha256"):
        record = ModelVersion(name="m", version="1.0.0",
                              files=(ArtifactFile("w", "../../../../../escaped", 5),))
        store.create_version(record, {"w": str(local)})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["root", "weights"]
    assert [p.name for p in (tmp_path / "root").iterdir()] == ["store"]
