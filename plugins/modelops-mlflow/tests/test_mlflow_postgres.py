"""modelops on MLflow on a real PostgreSQL server (the ``postgres`` fixture): the conformance
suites and the registry state machine, the registry in SQL there (row locks where sqlite has
its single writer), many processes at once, and artifacts on S3."""

from __future__ import annotations

import numpy as np
import pytest
import test_mlflow_conformance as on_sqlite
from hypothesis.stateful import run_state_machine_as_test
from modelops_mlflow.database import PostgresDatabase
from test_mlflow_stores import _MODEL_NAMES, SMALL

from modelops.client import open_store
from modelops.testing.registry_stateful import registry_machine
from modelops.uri import parse_uri


@pytest.fixture(scope="module")
def model():
    from sklearn.linear_model import LogisticRegression

    X = np.random.default_rng(0).normal(size=(60, 3))
    return LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))


# -- the conformance suites -----------------------------------------------------------------

class TestPostgresTrackingStore(on_sqlite.TestMlflowTrackingStore):
    """The TrackingStore suite on MLflow's PostgreSQL store (a fresh database per test)."""

    @pytest.fixture
    def store(self, postgres_uri):
        store = open_store("tracking", parse_uri(postgres_uri()))
        yield store
        store.close()


@pytest.mark.filterwarnings("ignore:.*not written as an MLflow model")
class TestPostgresRegistryStore(on_sqlite.TestMlflowRegistryStore):
    """The RegistryStore suite on MLflow's PostgreSQL store, the registry in SQL."""

    @pytest.fixture
    def store(self, postgres_uri):
        store = open_store("registry", parse_uri(postgres_uri()))
        assert isinstance(store._db, PostgresDatabase)
        yield store
        store.close()


class TestPostgresDriftStore(on_sqlite.TestMlflowDriftStore):
    """The DriftStore suite on MLflow's PostgreSQL store."""

    @pytest.fixture
    def store(self, postgres_uri):
        store = open_store("drift", parse_uri(postgres_uri()))
        yield store
        store.close()


@pytest.mark.filterwarnings("ignore:.*not written as an MLflow model")
def test_registry_state_machine(postgres_uri):
    machine = registry_machine(lambda: open_store("registry", parse_uri(postgres_uri())),
                               name="PostgresRegistryMachine", model_names=_MODEL_NAMES)
    run_state_machine_as_test(machine, settings=SMALL)
