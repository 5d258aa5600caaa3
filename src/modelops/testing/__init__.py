"""modelops.testing: the conformance kit for backend authors, and test helpers for users.

A backend (a plugin serving, say, ``mydb://``) proves it keeps the ``TrackingStore``
contract by running the shared suite and the state machine against its store::

    # tests/test_mydb_conformance.py
    import pytest
    from modelops.testing import StoreCapabilities, TrackingStoreSuite, tracking_machine

    from modelops_mydb import MyDbTrackingStore


    class TestMyDbTrackingStore(TrackingStoreSuite):
        capabilities = StoreCapabilities(purge=False)   # purge tests are skipped, by name

        @pytest.fixture
        def store(self, tmp_path):                      # a fresh, empty store per test
            store = MyDbTrackingStore(tmp_path / "db")
            yield store
            store.close()


    # Random sequences of operations, checked against an in-memory model of the store.
    TestMyDbMachine = tracking_machine(lambda: MyDbTrackingStore.temporary()).TestCase

A registry backend does the same with ``RegistryStoreSuite`` and ``registry_machine``::

    from modelops.testing import RegistryStoreSuite, registry_machine

    class TestMyDbRegistryStore(RegistryStoreSuite):
        @pytest.fixture
        def store(self, tmp_path):
            store = MyDbRegistryStore(tmp_path / "db")
            yield store
            store.close()

    # The registry service (register, promote, rollback, aliases …) on the store, checked
    # against a model of stages, aliases and the audit trail.
    TestMyDbRegistryMachine = registry_machine(lambda: MyDbRegistryStore.temporary()).TestCase

Contents:

- ``TrackingStoreSuite``, ``StoreCapabilities`` (``modelops.testing.tracking``): the
  conformance tests, a plain pytest class to subclass. Needs pytest. The suite is the union
  of one mixin per area — ``ExperimentTests``, ``RunTests``, ``LoggingTests``,
  ``SearchTests``, ``ArtifactTests``, ``SharingTests`` (handles, threads, processes), each on
  ``TrackingStoreTests`` (the fixtures) — for a backend that serves only some areas.
- ``TrackingStoreMachine``, ``tracking_machine`` (``modelops.testing.tracking_stateful``): a
  Hypothesis state machine comparing a store with a model. Needs hypothesis.
- ``RegistryStoreSuite`` (``modelops.testing.registry``): the conformance tests of the
  ``RegistryStore`` contract (exclusive version and event claims, whole-or-absent versions,
  byte-exact files, events round-tripping every field), a plain pytest class to subclass;
  it shares ``StoreCapabilities``. Needs pytest.
- ``RegistryMachine``, ``registry_machine`` (``modelops.testing.registry_stateful``): a
  Hypothesis state machine driving the registry service (``modelops.registry.Registry``) on
  a store against a model of versions, stages, aliases, rollback and history. Needs
  hypothesis.
- ``DriftStoreSuite`` (``modelops.testing.drift``) and ``PredictionStoreSuite``
  (``modelops.testing.predictions``): the conformance tests of the ``DriftStore`` contract
  (profiles and reports whole and found again, the newest profile, reports by creation time)
  and of the ``PredictionStore`` contract (parts byte for byte, by day then write order,
  compaction as one change, retention by whole days). Plain pytest classes; need pytest.
- ``BadInputSuite``, ``CorruptionSuite``, ``FaultSuite``, ``Sandbox``
  (``modelops.testing.robustness``): property suites of what modelops promises under
  hostile input, a damaged file and a failing storage, through the public API of a client on
  the backend (``docs/guarantees.md``). Need pytest and hypothesis.
- ``modelops.testing.strategies``: Hypothesis strategies for names, keys, metric values,
  params, tags, metric series, experiments, runs, and invalid names; for the registry,
  model names, semantic versions (valid and invalid), aliases and registry events. Needs
  hypothesis.
- ``modelops.testing.pytest_plugin``: the fixtures ``modelops_store``, ``modelops_client``,
  ``modelops_local_client`` and ``modelops_fluent``, registered automatically with pytest.

``import modelops.testing`` itself imports neither pytest nor hypothesis: each name loads
its module on first access, so only the names you use need their test dependency
(``pip install modelops[testing]`` installs both). ``import modelops`` never imports this
package.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelops.testing import strategies
    from modelops.testing.drift import DriftStoreSuite
    from modelops.testing.predictions import PredictionStoreSuite
    from modelops.testing.registry import RegistryStoreSuite
    from modelops.testing.registry_stateful import RegistryMachine, registry_machine
    from modelops.testing.robustness import BadInputSuite, CorruptionSuite, FaultSuite, Sandbox
    from modelops.testing.tracking import (
        ArtifactTests,
        ExperimentTests,
        LoggingTests,
        RunTests,
        SearchTests,
        SharingTests,
        StoreCapabilities,
        TrackingStoreSuite,
        TrackingStoreTests,
    )
    from modelops.testing.tracking_stateful import TrackingStoreMachine, tracking_machine

__all__ = [
    "ArtifactTests",
    "BadInputSuite",
    "CorruptionSuite",
    "DriftStoreSuite",
    "ExperimentTests",
    "FaultSuite",
    "LoggingTests",
    "PredictionStoreSuite",
    "RegistryMachine",
    "RegistryStoreSuite",
    "RunTests",
    "Sandbox",
    "SearchTests",
    "SharingTests",
    "StoreCapabilities",
    "TrackingStoreMachine",
    "TrackingStoreSuite",
    "TrackingStoreTests",
    "registry_machine",
    "strategies",
    "tracking_machine",
]

# name -> (module, attribute or None for the module itself)
_LAZY = {
    "StoreCapabilities": ("modelops.testing.tracking", "StoreCapabilities"),
    "TrackingStoreSuite": ("modelops.testing.tracking", "TrackingStoreSuite"),
    **{name: ("modelops.testing.tracking", name)
       for name in ("TrackingStoreTests", "ExperimentTests", "RunTests", "LoggingTests",
                    "SearchTests", "ArtifactTests", "SharingTests")},
    "TrackingStoreMachine": ("modelops.testing.tracking_stateful", "TrackingStoreMachine"),
    "tracking_machine": ("modelops.testing.tracking_stateful", "tracking_machine"),
    "RegistryStoreSuite": ("modelops.testing.registry", "RegistryStoreSuite"),
    "RegistryMachine": ("modelops.testing.registry_stateful", "RegistryMachine"),
    "registry_machine": ("modelops.testing.registry_stateful", "registry_machine"),
    "strategies": ("modelops.testing.strategies", None),
    "DriftStoreSuite": ("modelops.testing.drift", "DriftStoreSuite"),
    "PredictionStoreSuite": ("modelops.testing.predictions", "PredictionStoreSuite"),
    "BadInputSuite": ("modelops.testing.robustness", "BadInputSuite"),
    "CorruptionSuite": ("modelops.testing.robustness", "CorruptionSuite"),
    "FaultSuite": ("modelops.testing.robustness", "FaultSuite"),
    "Sandbox": ("modelops.testing.robustness", "Sandbox"),
}


def __getattr__(name: str) -> Any:
    try:
        module_name, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
