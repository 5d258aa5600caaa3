"""modelops on MLflow on a real PostgreSQL server (the ``postgres`` fixture): the conformance
suites and the registry state machine, the registry in SQL there (row locks where sqlite has
its single writer), many processes at once, and artifacts on S3."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
import test_mlflow_conformance as on_sqlite
from hypothesis.stateful import run_state_machine_as_test
from mirroring import check_processes_registering, expected, mirrored, mlflow_client
from modelops_mlflow.database import Database, PostgresDatabase
from test_mlflow_stores import _MODEL_NAMES, SMALL

import modelops
from modelops.client import open_store
from modelops.testing.registry_stateful import registry_machine
from modelops.uri import parse_uri


@pytest.fixture(scope="module")
def model():
    from sklearn.linear_model import LogisticRegression

    X = np.random.default_rng(0).normal(size=(60, 3))
    return LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))


# -- the conformance suites -----------------------------------------------------------------

# The drift store calls MLflow's client, on PostgreSQL as on sqlite. Its suite's race of
# processes (over half a minute on two cores) creates experiments at once as the tracking
# suite's does, which runs here; so it runs on sqlite only.
PROCESSES_ON_SQLITE = ("processes creating MLflow experiments at once: the tracking suite's "
                       "race here, this one on sqlite")


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

    def test_processes_saving_at_once(self, store, tmp_path):
        pytest.skip(PROCESSES_ON_SQLITE)


@pytest.mark.filterwarnings("ignore:.*not written as an MLflow model")
def test_registry_state_machine(postgres_uri):
    machine = registry_machine(lambda: open_store("registry", parse_uri(postgres_uri())),
                               name="PostgresRegistryMachine", model_names=_MODEL_NAMES)
    run_state_machine_as_test(machine, settings=SMALL)


# -- the registry in SQL --------------------------------------------------------------------

def test_used_on_postgres_unless_turned_off(postgres_uri):
    uri = postgres_uri()
    assert isinstance(open_store("registry", parse_uri(uri))._db, PostgresDatabase)
    assert open_store("registry", parse_uri(uri, {"direct_sql": False}))._db is None


def test_an_unexpected_schema_goes_through_the_client(postgres_databases, model):
    """A database whose keys are not the ones the upserts name is left to MLflow's client,
    which still does everything."""
    import psycopg

    server = postgres_databases.server
    name = f"odd_{uuid.uuid4().hex[:8]}"
    uri = "mlflow+" + server.create_database(name, postgres_databases.TEMPLATE)
    with psycopg.connect(server.uri(name), autocommit=True) as conn:
        (constraint,) = conn.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'model_version_tags'::regclass"
            " AND contype = 'p'").fetchone()
        conn.execute(f"ALTER TABLE model_version_tags DROP CONSTRAINT {constraint}")
    assert Database.open(mlflow_client(uri)) is None
    ops = modelops.connect(uri)
    assert ops.registry.store._db is None
    version = ops.registry.register("fraud", model).version
    ops.registry.promote("fraud", version)
    assert mirrored(uri, "fraud") == expected(ops, "fraud") == (
        {"production": version}, {version: "production"})
    ops.close()


def test_processes_registering_and_promoting_one_model(postgres_uri):
    """Eight processes each register and promote versions of one model at once: no version
    lost or doubled, exactly one in production, MLflow's aliases and tags agreeing."""
    check_processes_registering(postgres_uri(), processes=8, each=3)


# -- modelops' app in an MLflow server on PostgreSQL ----------------------------------------

def test_the_app_on_a_postgres_backend(mlflow_app_server_on_postgres, model, monkeypatch):
    """Through ``mlflow server --app-name modelops`` on PostgreSQL, a registry read is one
    request and a promotion two, as on sqlite; a store in SQL on the server's database and
    one on MLflow's REST API alone take turns with it on one model."""
    import requests
    from modelops_mlflow.remote import API

    url, database = mlflow_app_server_on_postgres
    options = {"mlflow_model_layout": False}
    app = modelops.connect(f"mlflow+{url}", storage_options=options)
    rest = modelops.connect(f"mlflow+{url}", storage_options={**options, "direct_sql": False})
    sql = modelops.connect(database, storage_options=options)
    assert app.registry.store._app is not None
    assert isinstance(sql.registry.store._db, PostgresDatabase)
    name = f"app-{uuid.uuid4().hex[:8]}"
    versions = [app.registry.register(name, model).version for _ in range(3)]
    app.registry.promote(name, versions[0])

    made: list[str] = []
    send = requests.Session.request

    def counted(self, method, address, *args, **kwargs):
        made.append(f"{method} {requests.utils.urlparse(address).path}")
        return send(self, method, address, *args, **kwargs)

    monkeypatch.setattr(requests.Session, "request", counted)
    assert app.registry.get_version(name, stage="production").version == versions[0]
    assert made == [f"POST {API}/read"]
    made.clear()
    app.registry.promote(name, versions[1])
    assert made == [f"POST {API}/read", f"POST {API}/append"]
    monkeypatch.undo()

    for i, writer in enumerate([sql, rest, app, sql]):
        writer.registry.promote(name, versions[i % 3])
        for reader in (app, rest, sql):
            assert reader.registry.get_version(name, stage="production").version == \
                versions[i % 3]
        assert mirrored(url, name) == expected(app, name)
    app.registry.tag(name, {"owner": "risk"}, version=versions[2])
    assert mlflow_client(url).get_model_version(name, "3").tags["owner"] == "risk"
    assert [e.seq for e in sql.registry.history(name)] == list(range(1, 8))


# -- artifacts on S3 ------------------------------------------------------------------------

def test_artifacts_on_s3(postgres_uri, model, tmp_path, monkeypatch):
    """``mlflow+postgresql://…`` with ``artifact_root="s3://…"``: runs' artifacts and
    registered versions' files go to the bucket (moto's S3 server on 127.0.0.1), the
    registry loads from there, and plain MLflow loads the production model by alias."""
    testing = pytest.importorskip("modelops_s3.testing",
                                  reason='needs modelops-s3: pip install -e '
                                         '"plugins/modelops-s3[test]"')
    import mlflow

    with testing.LocalS3Server() as s3:
        bucket = s3.create_bucket("mlflow-artifacts")
        for key, value in s3.environ().items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", s3.endpoint_url)
        uri = postgres_uri()
        ops = modelops.connect(uri, storage_options={"artifact_root": f"s3://{bucket}/mlflow"})
        (tmp_path / "notes.txt").write_text("trained on march\n")
        with ops.tracking.start_run(experiment="training", name="rf") as run:
            run.log_metric("f1", 0.9)
            run.log_artifact(str(tmp_path / "notes.txt"))
        version = ops.registry.register("fraud", model, run=run).version
        ops.registry.promote("fraud", version)

        fs = s3.filesystem()
        stored = fs.find(f"{bucket}/mlflow")
        assert any(path.endswith("/artifacts/notes.txt") for path in stored)
        assert any(path.endswith("/model.pkl") for path in stored)  # the MLflow model copy
        assert ops.registry.get_version("fraud", stage="production").artifact_location \
            .startswith(f"s3://{bucket}/mlflow/")
        loaded = ops.registry.load("fraud", stage="production")
        X = np.ones((2, 3))
        assert (loaded.predict(X) == model.predict(X)).all()
        before = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
        mlflow.set_tracking_uri(uri.removeprefix("mlflow+"))
        mlflow.set_registry_uri(uri.removeprefix("mlflow+"))
        try:
            plain = mlflow.sklearn.load_model("models:/fraud@production")
        finally:
            mlflow.set_tracking_uri(before[0])
            mlflow.set_registry_uri(before[1])
        assert (plain.predict(X) == model.predict(X)).all()
        ops.close()


def test_a_database_password_never_shows(postgres_uri):
    # The server trusts loopback, so any password connects: what matters is where it shows.
    uri = postgres_uri().replace("postgres@", "postgres:s3cret@")
    assert "s3cret" in uri
    seen = []

    class Listener:
        @modelops.hookimpl
        def modelops_version_registered(self, version, store_uri):
            seen.append(store_uri)

    from modelops import plugins

    listener = Listener()
    plugins.plugin_manager().register(listener)
    try:
        ops = modelops.connect(uri)
        ops.registry.register("fraud", {"w": 1}, flavor="joblib")
    finally:
        plugins.plugin_manager().unregister(listener)
    with pytest.raises(modelops.NotFound) as caught:
        ops.store("predictions")                          # MLflow keeps none, and says so
    shown = [repr(ops), seen[0], str(caught.value), ops.store("registry").uri,
             ops.store("tracking").uri]
    assert all("s3cret" not in s and "postgres:***@" in s for s in shown), shown
