"""The registry state machine, run on the built-in memory:// and file:// stores; the registry
strategies; and the registry-service bugs the machine steers clear of, pinned."""

from __future__ import annotations

import contextlib
import shutil
import tempfile

import attrs
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from modelops.client import open_store
from modelops.entities.registry import RegisteredModel, SemVer, check_alias
from modelops.errors import AlreadyExists, InvalidInput
from modelops.registry import Registry
from modelops.testing import RegistryMachine, registry_machine
from modelops.testing import strategies as mst
from modelops.testing.registry_stateful import DEFAULT_SETTINGS
from modelops.uri import parse_uri


def memory_store():
    return open_store("registry", parse_uri("memory://"))


def free_memory_store(store):
    """Remove a memory:// store's files from fsspec's process-wide memory filesystem (its
    listings scan every file, so leftovers slow every later memory store down)."""
    with contextlib.suppress(FileNotFoundError):
        store.storage.fs.rm(store.storage.root, recursive=True)


class MemoryRegistryMachine(registry_machine(memory_store, name="MemoryRegistryMachine")):
    """The machine on memory://, each example's store freed after it."""

    def teardown(self):
        try:
            super().teardown()
        finally:
            free_memory_store(self.store)


TestMemoryRegistryMachine = pytest.mark.slow(MemoryRegistryMachine.TestCase)


class LocalDiskRegistryMachine(RegistryMachine):
    """The machine on local disk: a new temporary directory per example, removed after."""

    def make_store(self):
        self.tmpdir = tempfile.mkdtemp(prefix="modelops-registry-machine-")
        return open_store("registry", parse_uri(f"file://{self.tmpdir}"))

    def teardown(self):
        try:
            super().teardown()
        finally:
            shutil.rmtree(self.tmpdir, ignore_errors=True)


TestLocalDiskRegistryMachine = pytest.mark.slow(LocalDiskRegistryMachine.TestCase)


def test_machines_use_modest_default_settings():
    """Machines made by the factory or by subclassing run the kit's default settings."""
    for machine in (MemoryRegistryMachine, LocalDiskRegistryMachine):
        assert machine.TestCase.settings is DEFAULT_SETTINGS
    assert DEFAULT_SETTINGS.max_examples <= 30
    assert DEFAULT_SETTINGS.stateful_step_count <= 30


def test_factory_options():
    """``registry_machine`` passes its options to the class it makes."""
    custom = settings(max_examples=3, stateful_step_count=5,
                      suppress_health_check=list(HealthCheck), deadline=None)
    names = st.sampled_from(["fraud", "churn"])
    machine = registry_machine(memory_store, name="Custom", model_names=names,
                               settings=custom)
    assert issubclass(machine, RegistryMachine)
    assert machine.__name__ == "Custom"
    assert machine.model_names is names
    assert machine.TestCase.settings is custom
    machine.TestCase("runTest").runTest()


def test_base_machine_needs_a_store_factory():
    """The base machine says how to provide a store instead of failing obscurely."""
    with pytest.raises(NotImplementedError, match="make_store"):
        RegistryMachine()


@pytest.mark.slow
def test_machine_detects_a_broken_store():
    """The machine catches a store whose versions are not claimed exclusively (a sanity
    check of the checker)."""
    from modelops.backends.layout.registry import LayoutRegistryStore

    class Pretends(LayoutRegistryStore):
        # Says every version is free, then "claims" a taken one without a word (the registry
        # asks version_numbers first, to refuse a taken version before storing any file).
        def version_numbers(self, name):
            return []

        def create_version(self, version, files):
            try:
                return super().create_version(version, files)
            except AlreadyExists:
                return version

    def broken():
        return Pretends(memory_store().storage)

    # No shrinking, no example database: fail fast on the first failing example.
    machine = registry_machine(broken, name="Broken",
                               settings=settings(DEFAULT_SETTINGS, max_examples=100,
                                                 database=None, phases=[Phase.generate],
                                                 report_multiple_bugs=False))
    # Caught as a second claim of a version that passed, as the wrong version chosen next
    # (the store's numbers hide the taken ones), or as versions the model does not hold; the
    # machine's report of the failing steps names the broken store in every case.
    with pytest.raises(AssertionError,
                       match=r"AlreadyExists|assert '1\.0\.0' ==|state = Broken\(\)"):
        machine.TestCase("runTest").runTest()


# -- strategies ------------------------------------------------------------------------------

@given(mst.semvers())
def test_semvers_are_valid(text):
    """``semvers()`` draws strings the registry parses, and that print back unchanged."""
    assert str(SemVer.parse(text)) == text


@given(mst.invalid_semvers(non_ascii_digits=False))
def test_invalid_semvers_are_refused(text):
    """``invalid_semvers()`` draws strings the registry refuses with InvalidInput."""
    with pytest.raises(InvalidInput):
        SemVer.parse(text)


@pytest.mark.parametrize("text", ["1.0.1\u0663", "1.0.0-1\u0663", "1.0.0-\u0663a",
                                  "2.1.3\uff11"])
def test_non_ascii_digits_are_refused(text):
    """Semantic versions have ASCII digits only (semver 2.0 grammar)."""
    with pytest.raises(InvalidInput):
        SemVer.parse(text)


@given(mst.model_names(), mst.aliases())
def test_model_names_and_aliases_are_valid(name, alias):
    """``model_names()`` draws names a RegisteredModel takes; ``aliases()`` draws aliases
    ``check_alias`` accepts and that are no stage in any case."""
    assert RegisteredModel(name=name).name == name
    assert check_alias(alias) == alias
    assert alias.lower() not in ("production", "staging", "archived", "development",
                                 "failed", "latest")


@settings(max_examples=30, deadline=None)
@given(st.lists(mst.registry_events(model="fraud"), min_size=1, max_size=4))
def test_registry_events_round_trip_through_a_store(events):
    """Every event ``registry_events()`` draws is stored and listed back unchanged."""
    events = [attrs.evolve(e, seq=seq) for seq, e in enumerate(events, 1)]
    store = memory_store()
    try:
        store.create_model(RegisteredModel(name="fraud"))
        for event in events:
            store.append_event(event)
        assert store.list_events("fraud") == events
    finally:
        free_memory_store(store)


# -- registry-service bugs the machine steers clear of ---------------------------------------

@pytest.fixture
def registry():
    store = memory_store()
    yield Registry(store)
    free_memory_store(store)


def test_an_alias_spelled_like_a_stage_moves_no_stage(registry):
    """``set_alias`` never moves a version between stages, whatever the alias's case (an
    alias spelled like a stage in another case is refused or is an alias)."""
    registry.register("m", {"v": 1}, flavor="joblib")
    registry.register("m", {"v": 2}, flavor="joblib")
    registry.promote("m", "1.0.0")
    with contextlib.suppress(InvalidInput):
        registry.set_alias("m", "Production", "1.0.1")
    stages = {v.version: v.stage.value for v in registry.list_versions("m")}
    assert stages == {"1.0.0": "production", "1.0.1": "development"}


def test_an_alias_spelled_like_a_stage_resolves_to_its_holder(registry):
    """An alias the registry accepted resolves, by model URI, to the version holding it."""
    registry.register("m", {"v": 1}, flavor="joblib")
    registry.register("m", {"v": 2}, flavor="joblib")
    registry.promote("m", "1.0.0")
    try:
        registry.set_alias("m", "Production", "1.0.1")
    except InvalidInput:
        return  # refusing such an alias is a fine fix too
    assert registry.get_version("m", alias="Production").version == "1.0.1"
    assert registry.resolve("models:/m@Production").version == "1.0.1"


def test_setting_an_alias_again_records_the_true_before(registry):
    """Giving a version the alias it holds records ``before`` = the alias (present)."""
    registry.register("m", {"v": 1}, flavor="joblib")
    registry.set_alias("m", "champion", "1.0.0")
    event = registry.set_alias("m", "champion", "1.0.0")
    assert [(c.version, c.field, c.before, c.after) for c in event.changes] == \
        [("1.0.0", "alias:champion", "champion", "champion")]


def test_equal_versions_cannot_both_be_registered(registry):
    """Two spellings of one semantic version are one version: the second is refused."""
    registry.register("m", {"v": 1}, version="1.0.0-13", flavor="joblib")
    with pytest.raises((AlreadyExists, InvalidInput)):
        registry.register("m", {"v": 2}, version="1.0.0-1\u0663", flavor="joblib")


def test_an_empty_directory_registers_and_loads(registry, tmp_path):
    """An empty directory registered with the ``path`` flavor loads back as a directory."""
    empty = tmp_path / "empty"
    empty.mkdir()
    assert registry.register("m", str(empty)).files == ()
    registry.load("m", "1.0.0", dst_dir=str(tmp_path / "out"))
    assert (tmp_path / "out").is_dir()


def test_a_saved_model_changed_before_register_is_recorded_as_stored(registry, tmp_path):
    """Files that changed between ``save`` and ``register`` are digested as they are when
    registered, so the version records exactly what was stored and loads; registering the
    original again gives an independent version."""
    import hashlib

    saved = registry.save({"w": 1}, str(tmp_path), flavor="joblib")
    with open(tmp_path / "model.joblib", "ab") as f:
        f.write(b"changed after save")
    version = registry.register("m", saved)
    stored = (tmp_path / "model.joblib").read_bytes()
    assert version.files[0].sha256 == hashlib.sha256(stored).hexdigest()
    assert registry.load("m", "1.0.0") == {"w": 1}  # joblib ignores the trailing bytes
    registry.register("m", {"w": 1}, flavor="joblib")
    assert registry.load("m", "1.0.1") == {"w": 1}
