"""The TrackingStore state machine, run against the built-in memory:// and file:// stores."""

from __future__ import annotations

import shutil
import tempfile

import pytest
from hypothesis import HealthCheck, Phase, settings

from modelops.client import open_store
from modelops.testing import TrackingStoreMachine, tracking_machine
from modelops.testing import strategies as mst
from modelops.testing.tracking_stateful import DEFAULT_SETTINGS
from modelops.uri import parse_uri

# Known library bugs are pinned by xfail tests in test_conformance_tracking.py; the machine
# steers clear of them so it keeps checking everything else:
# - names starting with '.' are not listed (Storage.listdir hides dot-entries);
# - on local disk, names over 255 UTF-8 bytes fail (the name becomes a file name).
MEMORY_NAMES = mst.names().filter(lambda n: not n.startswith("."))
LOCAL_NAMES = MEMORY_NAMES.filter(lambda n: len(f"{n}.json".encode()) <= 255)


def memory_store():
    return open_store("tracking", parse_uri("memory://"))


MemoryMachine = tracking_machine(memory_store, name="MemoryMachine",
                                 experiment_names=MEMORY_NAMES)
TestMemoryMachine = pytest.mark.slow(MemoryMachine.TestCase)


class LocalDiskMachine(TrackingStoreMachine):
    """The machine on local disk: a new temporary directory per example, removed after."""

    experiment_names = LOCAL_NAMES

    def make_store(self):
        self.tmpdir = tempfile.mkdtemp(prefix="modelops-machine-")
        return open_store("tracking", parse_uri(f"file://{self.tmpdir}"))

    def teardown(self):
        try:
            super().teardown()
        finally:
            shutil.rmtree(self.tmpdir, ignore_errors=True)


TestLocalDiskMachine = pytest.mark.slow(LocalDiskMachine.TestCase)


def test_machines_use_modest_default_settings():
    """Machines made by the factory or by subclassing run the kit's default settings."""
    for machine in (MemoryMachine, LocalDiskMachine):
        assert machine.TestCase.settings is DEFAULT_SETTINGS
    assert DEFAULT_SETTINGS.max_examples <= 50
    assert DEFAULT_SETTINGS.stateful_step_count <= 50


def test_factory_options():
    """``tracking_machine`` passes its options to the class it makes."""
    custom = settings(max_examples=3, stateful_step_count=5,
                      suppress_health_check=list(HealthCheck), deadline=None)
    machine = tracking_machine(memory_store, name="Custom", supports_purge=False,
                               settings=custom)
    assert issubclass(machine, TrackingStoreMachine)
    assert machine.__name__ == "Custom"
    assert not machine.supports_purge
    assert machine.TestCase.settings is custom
    machine.TestCase("runTest").runTest()


def test_base_machine_needs_a_store_factory():
    """The base machine says how to provide a store instead of failing obscurely."""
    with pytest.raises(NotImplementedError, match="make_store"):
        TrackingStoreMachine()


@pytest.mark.slow
def test_machine_detects_a_broken_store():
    """The machine catches a store that drops params (a sanity check of the checker)."""
    from modelops.backends.layout.tracking import LayoutTrackingStore

    class DropsParams(LayoutTrackingStore):
        def log_batch(self, run_id, metrics=(), params=None, tags=None):
            super().log_batch(run_id, metrics, None, tags)

    def broken():
        base = memory_store()
        return DropsParams(base.storage)

    # No shrinking, no example database: fail fast on the first failing example.
    machine = tracking_machine(broken, name="Broken", experiment_names=MEMORY_NAMES,
                               settings=settings(DEFAULT_SETTINGS, max_examples=100,
                                                 database=None, phases=[Phase.generate],
                                                 report_multiple_bugs=False))
    with pytest.raises(AssertionError):
        machine.TestCase("runTest").runTest()
