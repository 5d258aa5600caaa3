"""modelops on MLflow on a real MySQL-family server (MariaDB, the ``mariadb`` fixture): the
registry's conformance suite and state machine with the registry in SQL there (row locks, as
on PostgreSQL), many processes at once, an unexpected schema left to MLflow's client, and
``mlflow server --app-name modelops`` on it."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
import test_mlflow_conformance as on_sqlite
from hypothesis.stateful import run_state_machine_as_test
from mirroring import check_processes_registering, expected, mirrored, mlflow_client
from modelops_mlflow.database import Database, MysqlDatabase
from test_mlflow_postgres import PROCESSES_ON_SQLITE
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


class TestMysqlTrackingStore(on_sqlite.TestMlflowTrackingStore):
    """The TrackingStore suite on MLflow's MySQL store (a fresh database per test)."""

    @pytest.fixture
    def store(self, mysql_uri):
        store = open_store("tracking", parse_uri(mysql_uri()))
        yield store
        store.close()

    def test_processes_racing_and_logging(self, store, tmp_path):
        pytest.skip("tracking goes through MLflow's own client, whose race of processes runs "
                    "on sqlite and PostgreSQL")


@pytest.mark.filterwarnings("ignore:.*not written as an MLflow model")
class TestMysqlRegistryStore(on_sqlite.TestMlflowRegistryStore):
    """The RegistryStore suite on MLflow's MySQL store, the registry in SQL."""

    @pytest.fixture
    def store(self, mysql_uri):
        store = open_store("registry", parse_uri(mysql_uri()))
        assert isinstance(store._db, MysqlDatabase)
        yield store
        store.close()


class TestMysqlDriftStore(on_sqlite.TestMlflowDriftStore):
    """The DriftStore suite on MLflow's MySQL store."""

    @pytest.fixture
    def store(self, mysql_uri):
        store = open_store("drift", parse_uri(mysql_uri()))
        yield store
        store.close()

    def test_processes_saving_at_once(self, store, tmp_path):
        pytest.skip(PROCESSES_ON_SQLITE)


@pytest.mark.filterwarnings("ignore:.*not written as an MLflow model")
def test_registry_state_machine(mysql_uri):
    machine = registry_machine(lambda: open_store("registry", parse_uri(mysql_uri())),
                               name="MysqlRegistryMachine", model_names=_MODEL_NAMES)
    run_state_machine_as_test(machine, settings=SMALL)


def test_used_on_mysql_unless_turned_off(mysql_uri):
    uri = mysql_uri()
    assert isinstance(open_store("registry", parse_uri(uri))._db, MysqlDatabase)
    assert open_store("registry", parse_uri(uri, {"direct_sql": False}))._db is None


def test_an_unexpected_schema_goes_through_the_client(mariadb, mysql_own_database, model):
    """A database whose keys are not the ones the upserts name is left to MLflow's client,
    which still does everything."""
    name, uri = mysql_own_database()
    with mariadb.connect(name) as conn:
        conn.cursor().execute("ALTER TABLE model_version_tags DROP PRIMARY KEY,"
                              " ADD PRIMARY KEY (`key`, name, version, workspace, value(64))")
    assert Database.open(mlflow_client(uri)) is None
    ops = modelops.connect(uri)
    assert ops.registry.store._db is None
    version = ops.registry.register("fraud", model).version
    ops.registry.promote("fraud", version)
    assert mirrored(uri, "fraud") == expected(ops, "fraud") == (
        {"production": version}, {version: "production"})
    ops.close()


def test_processes_registering_and_promoting_one_model(mysql_uri):
    """Eight processes each register and promote versions of one model at once: no version
    lost or doubled, exactly one in production, MLflow's aliases and tags agreeing."""
    check_processes_registering(mysql_uri(), processes=8, each=3)


def test_version_tags_both_ways(mysql_uri, model):
    """Tags set through modelops are MLflow model-version tags; tags set by plain MLflow code
    read back."""
    uri = mysql_uri()
    ops = modelops.connect(uri)
    version = ops.registry.register("fraud", model).version
    ops.registry.tag("fraud", {"owner": "risk"}, version=version)
    client = mlflow_client(uri)
    assert client.get_model_version("fraud", "1").tags["owner"] == "risk"
    client.set_model_version_tag("fraud", "1", "reviewed", "yes")
    assert ops.registry.get_version("fraud", version).tags["reviewed"] == "yes"
    ops.close()


def test_the_app_on_a_mysql_backend(mlflow_app_server_on_mysql, model):
    """``mlflow server --app-name modelops`` on MySQL serves registry reads and changes in
    SQL inside the server, as on sqlite and PostgreSQL; a store in SQL on the same database
    takes turns with it on one model."""
    url, database = mlflow_app_server_on_mysql
    options = {"mlflow_model_layout": False}
    app = modelops.connect(f"mlflow+{url}", storage_options=options)
    sql = modelops.connect(database, storage_options=options)
    assert app.registry.store._app is not None
    assert isinstance(sql.registry.store._db, MysqlDatabase)
    name = f"app-{uuid.uuid4().hex[:8]}"
    versions = [app.registry.register(name, model).version for _ in range(2)]
    for i, writer in enumerate([app, sql, app]):
        writer.registry.promote(name, versions[i % 2])
        for reader in (app, sql):
            assert reader.registry.get_version(name, stage="production").version == \
                versions[i % 2]
    assert mirrored(url, name) == expected(app, name)
    assert [e.seq for e in sql.registry.history(name)] == [1, 2, 3]


def test_mysql_without_a_driver_says_which_to_install():
    """``mysql://`` means SQLAlchemy's default driver, mysqlclient: without it, the error
    names it and the pure-Python way."""
    try:
        import MySQLdb  # noqa: F401
        pytest.skip("mysqlclient is installed here")
    except ImportError:
        pass
    with pytest.raises(modelops.MissingDependency) as caught:
        modelops.connect("mlflow+mysql://root@127.0.0.1:1/mlflow").registry.list_models()
    assert caught.value.package == "mysqlclient"
    assert "mysql+pymysql://" in str(caught.value)
    assert "modelops-mlflow[mysql]" in str(caught.value)
