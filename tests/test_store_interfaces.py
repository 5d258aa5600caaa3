"""The four store interfaces, each against the conformance suite that checks it: a backend
must implement every abstract method, and the suite covers exactly those."""

from __future__ import annotations

import pytest

from modelops.stores import DriftStore, PredictionStore, RegistryStore, TrackingStore
from modelops.testing import (
    DriftStoreSuite,
    PredictionStoreSuite,
    RegistryStoreSuite,
    TrackingStoreSuite,
)

#: Each interface, the suite that checks it, and the abstract methods that suite covers
#: (a new abstract method needs new tests in its suite).
INTERFACES = {
    TrackingStore: (TrackingStoreSuite, {
        "create_experiment", "get_experiment", "get_experiment_by_name", "list_experiments",
        "set_experiment_lifecycle", "create_run", "get_run", "update_run",
        "set_run_lifecycle", "purge_run", "log_batch", "get_metric_history", "search_runs",
        "log_artifact", "write_artifact", "list_artifacts", "download_artifact",
    }),
    RegistryStore: (RegistryStoreSuite, {
        "create_model", "get_model", "list_models", "create_version", "get_version",
        "list_versions", "download_version", "append_event", "list_events",
    }),
    DriftStore: (DriftStoreSuite, {
        "list_names", "save_profile", "get_profile", "list_profiles", "save_report", "get_report",
        "list_reports",
    }),
    PredictionStore: (PredictionStoreSuite, {
        "write_part", "list_parts", "read_part", "replace_parts", "delete_before",
        "list_models",
    }),
}


def _complete_namespace(interface: type) -> dict[str, object]:
    def method(self, *args, **kwargs):
        raise NotImplementedError

    return {name: method for name in interface.__abstractmethods__}


@pytest.mark.parametrize("interface", INTERFACES, ids=lambda i: i.__name__)
def test_abstract_interface_is_what_the_suite_expects(interface):
    assert set(interface.__abstractmethods__) == INTERFACES[interface][1]


@pytest.mark.parametrize("interface", INTERFACES, ids=lambda i: i.__name__)
def test_complete_subclass_can_be_instantiated(interface):
    """A subclass implementing every abstract method can be made (the baseline for below)."""
    store = type("Complete", (interface,), _complete_namespace(interface))()
    assert isinstance(store, interface)
    assert getattr(store, "uri", "") == ""
    store.close()  # the optional hook has a default


@pytest.mark.parametrize("interface, missing", [
    (interface, name) for interface in INTERFACES
    for name in sorted(interface.__abstractmethods__)
], ids=lambda x: getattr(x, "__name__", x))
def test_incomplete_subclass_refused(interface, missing):
    """A subclass missing one abstract method raises TypeError naming it."""
    namespace = _complete_namespace(interface)
    del namespace[missing]
    incomplete = type("Incomplete", (interface,), namespace)
    with pytest.raises(TypeError, match=missing):
        incomplete()


@pytest.mark.parametrize("interface", INTERFACES, ids=lambda i: i.__name__)
def test_suite_base_class_is_not_collected(interface):
    """A suite has no Test prefix, so pytest collects it only through subclasses."""
    assert not INTERFACES[interface][0].__name__.startswith("Test")
