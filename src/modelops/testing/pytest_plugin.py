"""The ``modelops`` pytest plugin: throw-away stores and clients as fixtures.

Installed with modelops (the ``pytest11`` entry point ``modelops``), so the fixtures are
available in every test without imports::

    def test_training_logs_f1(modelops_client):
        with modelops_client.tracking.start_run(experiment="t") as run:
            run.log_metric("f1", 0.9)
        assert modelops_client.tracking.get_run(run.run_id).metrics == {"f1": 0.9}

pytest loads this module at start-up in every project where modelops is installed, so it
imports nothing of modelops at module level: each fixture imports what it needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pathlib import Path

    from modelops.client import Client
    from modelops.stores import TrackingStore


def pytest_configure(config: pytest.Config) -> None:
    # TrackingStoreSuite marks its multi-process test ``slow``; register the marker so
    # suites run under ``--strict-markers`` in projects that do not declare it.
    config.addinivalue_line(
        "markers", "slow: spawns processes or runs for more than a few seconds")


@pytest.fixture
def modelops_store() -> Iterator[TrackingStore]:
    """A fresh, empty TrackingStore in memory (``memory://``), private to the test and
    closed after it."""
    from modelops.client import open_store
    from modelops.uri import parse_uri

    store = open_store("tracking", parse_uri("memory://"))
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def modelops_client() -> Iterator[Client]:
    """A ``modelops.Client`` on a fresh in-memory store (``memory://``), closed after the
    test. Nothing touches the disk."""
    import modelops

    client = modelops.connect("memory://")
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def modelops_local_client(tmp_path: Path) -> Iterator[Client]:
    """A ``modelops.Client`` on a fresh store on local disk, in the test's ``tmp_path``
    (directory ``modelops``), closed after the test."""
    import modelops

    client = modelops.connect(tmp_path / "modelops")
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def modelops_fluent() -> Iterator[Client]:
    """Points the module-level API (``modelops.start_run``, ``modelops.log_metric`` …) at a
    fresh in-memory store for the test, and yields its client.

    Afterwards, runs the test left active in this thread are ended (KILLED), and the
    module-level state (client, experiment, run stack) is reset.
    """
    from modelops import fluent
    from modelops.entities import RunStatus

    fluent._reset_for_tests()
    client = fluent.set_uri("memory://")
    try:
        yield client
    finally:
        try:
            _end_active_runs(fluent, RunStatus.KILLED)
            client.close()
        finally:
            fluent._reset_for_tests()


def _end_active_runs(fluent: Any, status: Any) -> None:
    # A run whose end fails would stay on the stack; stop after as many tries as runs.
    for _ in range(100):
        run = fluent.active_run()
        if run is None:
            return
        run.end(status)
