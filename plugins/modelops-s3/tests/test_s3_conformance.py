"""Every conformance suite of modelops.testing, against S3 (moto's server on 127.0.0.1).

Each test gets a fresh key prefix of one bucket; other handles and the child processes of the
multi-process tests open the store by its URI alone, reaching the server through the AWS
environment variables, as a user's machines would.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from modelops_s3 import S3Storage
from s3_support import BUCKET, fresh_prefix

from modelops.client import open_store
from modelops.testing import (
    DriftStoreSuite,
    PredictionStoreSuite,
    RegistryStoreSuite,
    TrackingStoreSuite,
    registry_machine,
    tracking_machine,
)
from modelops.uri import parse_uri


def _open(kind: str, uri: str):
    store = open_store(kind, parse_uri(uri))
    assert isinstance(store.storage, S3Storage)
    return store


class TestS3TrackingStore(TrackingStoreSuite):
    @pytest.fixture
    def store(self, s3_uri):
        store = _open("tracking", s3_uri)
        yield store
        store.close()


class TestS3RegistryStore(RegistryStoreSuite):
    @pytest.fixture
    def store(self, s3_uri):
        store = _open("registry", s3_uri)
        yield store
        store.close()


class TestS3DriftStore(DriftStoreSuite):
    @pytest.fixture
    def store(self, s3_uri):
        store = _open("drift", s3_uri)
        yield store
        store.close()


class TestS3PredictionStore(PredictionStoreSuite):
    @pytest.fixture
    def store(self, s3_uri):
        store = _open("predictions", s3_uri)
        yield store
        store.close()


# The state machines: random sequences of operations, compared with a model of the store.
# A few examples each (every step is several HTTP requests); the suites above are thorough.
S3_MACHINE_SETTINGS = settings(max_examples=3, stateful_step_count=12, deadline=None,
                               suppress_health_check=list(HealthCheck), database=None)


def _fresh(kind: str):
    def make():
        return _open(kind, f"s3://{BUCKET}/{fresh_prefix('machine')}")

    return make


TestS3TrackingMachine = pytest.mark.slow(tracking_machine(
    _fresh("tracking"), name="S3TrackingMachine", settings=S3_MACHINE_SETTINGS).TestCase)
TestS3RegistryMachine = pytest.mark.slow(registry_machine(
    _fresh("registry"), name="S3RegistryMachine", settings=S3_MACHINE_SETTINGS).TestCase)
