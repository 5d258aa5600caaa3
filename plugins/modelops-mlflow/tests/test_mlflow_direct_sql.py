"""The registry in SQL on MLflow's database (``modelops_mlflow.database``), sqlite and
PostgreSQL: used where it can be and nowhere else, one transaction per event, and in step
with writers that go through MLflow's client (another store, or plain MLflow code)."""

from __future__ import annotations

import shutil
import sqlite3

import numpy as np
import pytest
from mirroring import expected, mirrored, mlflow_client
from modelops_mlflow.database import Database, SqliteDatabase, Writer
from modelops_mlflow.registry import STAGE_TAG, _ClientWrites

import modelops
from modelops.client import open_store
from modelops.errors import InvalidInput, StoreError
from modelops.uri import parse_uri


@pytest.fixture(params=["sqlite", "postgresql"])
def database_uri(request):
    """A factory of fresh MLflow databases of each kind the registry works on in SQL."""
    return request.getfixturevalue({"sqlite": "sqlite_uri",
                                    "postgresql": "postgres_uri"}[request.param])


def _driver_error(uri: str) -> Exception:
    """An error of the database's own driver (a disk or network failure, say)."""
    if uri.startswith("mlflow+postgresql"):
        import psycopg

        return psycopg.OperationalError("disk I/O error")
    return sqlite3.OperationalError("disk I/O error")


@pytest.fixture(scope="module")
def model():
    from sklearn.linear_model import LogisticRegression

    X = np.random.default_rng(0).normal(size=(60, 3))
    return LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))


def test_used_on_sqlite_unless_turned_off(sqlite_uri, mlflow_server):
    uri = sqlite_uri()
    assert open_store("registry", parse_uri(uri))._db is not None
    assert open_store("registry", parse_uri(uri, {"direct_sql": False}))._db is None
    assert open_store("registry", parse_uri(f"mlflow+{mlflow_server}"))._db is None
    with pytest.raises(InvalidInput, match=r"direct_sql"):
        open_store("registry", parse_uri(uri, {"direct_sql": "yes"}))


def test_an_unexpected_schema_goes_through_the_client(mlflow_template, tmp_path):
    """A database whose tables lack a column the statements name is left to MLflow."""
    path = tmp_path / "mlflow.db"
    shutil.copyfile(mlflow_template, path)
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE registered_model_aliases RENAME COLUMN alias TO name_of")
    assert Database.open(mlflow_client(f"sqlite:///{path}")) is None


def test_both_kinds_of_writer_keep_one_history(database_uri, model):
    """A store writing in SQL and one going through MLflow's client take turns on one model:
    each sees the other's events, and MLflow's aliases and stage tags follow the history."""
    uri = database_uri()
    direct, client = modelops.connect(uri), modelops.connect(
        uri, storage_options={"direct_sql": False})
    versions = [direct.registry.register("fraud", model).version,
                client.registry.register("fraud", model).version,
                direct.registry.register("fraud", model).version]
    steps = [(direct, "promote", versions[0]), (client, "promote", versions[1]),
             (direct, "stage", versions[2]), (client, "alias", versions[0]),
             (direct, "promote", versions[2]), (client, "rollback", None)]
    for ops, action, version in steps:
        if action == "promote":
            ops.registry.promote("fraud", version)
        elif action == "stage":
            ops.registry.promote("fraud", version, "staging")
        elif action == "alias":
            ops.registry.set_alias("fraud", "champion", version)
        else:
            ops.registry.rollback("fraud")
        assert [e.seq for e in direct.registry.history("fraud")] == \
            [e.seq for e in client.registry.history("fraud")]
        assert mirrored(uri, "fraud") == expected(direct, "fraud") == \
            expected(client, "fraud")
    assert direct.registry.get_version("fraud", stage="production").version == versions[1]
    direct.close()
    client.close()


def test_an_event_and_what_it_mirrors_are_one_transaction(database_uri, model, monkeypatch):
    """A failure after the event is written and before the transaction ends leaves neither
    the event nor any of its mirroring; the next promote goes through whole."""
    uri = database_uri()
    ops = modelops.connect(uri)
    first, second = (ops.registry.register("fraud", model).version for _ in range(2))
    ops.registry.promote("fraud", first)
    before = mirrored(uri, "fraud")

    def fail(*args):
        raise _driver_error(uri)

    monkeypatch.setattr(Writer, "set_run_tag", fail)
    with pytest.raises(StoreError, match="disk I/O error"):
        ops.registry.promote("fraud", second)
    monkeypatch.undo()
    assert [e.action for e in modelops.connect(uri).registry.history("fraud")] == \
        [e.action for e in ops.registry.history("fraud")] == ["promote"]
    assert mirrored(uri, "fraud") == before
    ops.registry.promote("fraud", second)
    assert mirrored(uri, "fraud") == expected(ops, "fraud")
    assert mirrored(uri, "fraud")[0]["production"] == second


def test_mirroring_left_unfinished_is_finished_by_the_next_event(database_uri, model,
                                                                 monkeypatch):
    """A client-path writer that stops between its event and the aliases (here MLflow fails
    on the alias) leaves MLflow behind the history; the history still answers, and the next
    event written in SQL brings MLflow's aliases and tags up to date."""
    uri = database_uri()
    direct, client = modelops.connect(uri), modelops.connect(
        uri, storage_options={"direct_sql": False})
    first, second = (direct.registry.register("fraud", model).version for _ in range(2))
    direct.registry.promote("fraud", first)

    def fail(*args):
        raise StoreError("MLflow went away")

    monkeypatch.setattr(_ClientWrites, "set_alias", fail)
    with pytest.raises(StoreError, match="went away"):
        client.registry.promote("fraud", second)
    monkeypatch.undo()
    assert direct.registry.get_version("fraud", stage="production").version == second
    assert mirrored(uri, "fraud")[0]["production"] == first  # MLflow is behind
    direct.registry.set_alias("fraud", "champion", first)
    assert mirrored(uri, "fraud") == expected(direct, "fraud")
    assert mirrored(uri, "fraud")[0] == {"production": second, "champion": first}
    direct.close()
    client.close()


def test_a_deleted_history_run_is_named(database_uri, model):
    """A history run deleted in MLflow (its UI lets anyone) stops changes with an error that
    says which run and how to bring it back; restored, changes go on."""
    from modelops_mlflow.registry import TRAIL_TAG

    uri = database_uri()
    ops = modelops.connect(uri)
    version = ops.registry.register("fraud", model).version
    trail = mlflow_client(uri).get_registered_model("fraud").tags[TRAIL_TAG]
    mlflow_client(uri).delete_run(trail)
    with pytest.raises(StoreError, match=f"run {trail}.*deleted.*mlflow runs restore"):
        ops.registry.promote("fraud", version)
    mlflow_client(uri).restore_run(trail)
    ops.registry.promote("fraud", version)
    assert mirrored(uri, "fraud")[0] == {"production": version}
    ops.close()


@pytest.mark.parametrize("direct_sql", [True, False], ids=["sql", "client"])
def test_tags_go_both_ways(database_uri, model, direct_sql):
    """Tags set through modelops are MLflow's version and model tags; tags plain MLflow code
    sets read back through modelops; removing one removes it in MLflow too."""
    uri = database_uri()
    ops = modelops.connect(uri, storage_options={"direct_sql": direct_sql})
    version = ops.registry.register("fraud", model, tags={"team": "risk"}).version
    ops.registry.tag("fraud", {"owner": "ana", "reviewed": "yes"}, version=version)
    ops.registry.tag("fraud", {"domain": "payments"})
    client = mlflow_client(uri)
    (mv,) = client.search_model_versions("name = 'fraud'")
    assert {k: v for k, v in mv.tags.items() if not k.startswith("modelops.")} == {
        "team": "risk", "owner": "ana", "reviewed": "yes"}
    assert client.get_registered_model("fraud").tags["domain"] == "payments"

    client.set_model_version_tag("fraud", mv.version, "ticket", "FR-12")
    client.set_registered_model_tag("fraud", "cost-center", "42")
    again = modelops.connect(uri, storage_options={"direct_sql": direct_sql})
    tags = again.registry.get_version("fraud", version).tags
    assert {k: tags[k] for k in ("team", "owner", "reviewed", "ticket")} == {
        "team": "risk", "owner": "ana", "reviewed": "yes", "ticket": "FR-12"}
    assert again.registry.get_model("fraud").tags == {"domain": "payments", "cost-center": "42"}

    again.registry.tag("fraud", {}, version=version, unset=["reviewed"])
    assert "reviewed" not in client.get_model_version("fraud", mv.version).tags
    assert "reviewed" not in again.registry.get_version("fraud", version).tags
    ops.close()
    again.close()


_PROMOTING = """
import sys
import modelops

ops = modelops.connect(sys.argv[1])
versions = sys.argv[2:]
print("ready", flush=True)
i = 0
while True:
    ops.registry.promote("fraud", versions[i % len(versions)])
    i += 1
"""


@pytest.mark.slow
def test_a_writer_killed_at_any_instant_leaves_mlflow_in_step(sqlite_uri, model, tmp_path):
    """A process promoting in a loop is killed (SIGKILL) at random instants: every time, the
    database opens, the history reads, and MLflow's aliases and stage tags say what the
    history says (all of a change or none of it)."""
    import random
    import subprocess
    import sys
    import time

    uri = sqlite_uri()
    ops = modelops.connect(uri)
    versions = [ops.registry.register("fraud", model).version for _ in range(3)]
    script = tmp_path / "promoting.py"
    script.write_text(_PROMOTING)
    rng = random.Random(7)
    seen = 0
    for _ in range(4):
        proc = subprocess.Popen([sys.executable, str(script), uri, *versions],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.2, 0.8))
        proc.kill()
        proc.wait()
        check = modelops.connect(uri)
        history = check.registry.history("fraud")
        assert [e.seq for e in history] == list(range(1, len(history) + 1))
        assert mirrored(uri, "fraud") == expected(check, "fraud")
        check.close()
        assert len(history) > seen  # the writer got somewhere each time
        seen = len(history)
    ops.close()


_SCHEMA_WITHOUT_WORKSPACES = """
CREATE TABLE registered_models (name VARCHAR(256) PRIMARY KEY, creation_time BIGINT,
    last_updated_time BIGINT, description VARCHAR(5000));
CREATE TABLE registered_model_tags (key VARCHAR(250), value VARCHAR(5000), name VARCHAR(256),
    PRIMARY KEY (key, name));
CREATE TABLE registered_model_aliases (alias VARCHAR(256), version INTEGER,
    name VARCHAR(256), PRIMARY KEY (name, alias));
CREATE TABLE model_versions (name VARCHAR(256), version INTEGER, creation_time BIGINT,
    last_updated_time BIGINT, description VARCHAR(5000), user_id VARCHAR(256),
    current_stage VARCHAR(20), source VARCHAR(500), run_id VARCHAR(32),
    PRIMARY KEY (name, version));
CREATE TABLE model_version_tags (key VARCHAR(250), value TEXT, name VARCHAR(256),
    version INTEGER, PRIMARY KEY (key, name, version));
CREATE TABLE runs (run_uuid VARCHAR(32) PRIMARY KEY, lifecycle_stage VARCHAR(20),
    experiment_id INTEGER);
CREATE TABLE params (key VARCHAR(250), value VARCHAR(8000), run_uuid VARCHAR(32),
    PRIMARY KEY (key, run_uuid));
CREATE TABLE tags (key VARCHAR(250), value VARCHAR(8000), run_uuid VARCHAR(32),
    PRIMARY KEY (key, run_uuid));
INSERT INTO registered_models VALUES ('fraud', 1, 2, 'd');
INSERT INTO model_versions VALUES ('fraud', 1, 1, 1, NULL, 'u', 'None', 's1', 'r'),
    ('fraud', 2, 1, 1, NULL, 'u', 'Deleted_Internal', 's2', 'r'),
    ('fraud', 3, 1, 1, NULL, 'u', 'None', 's3', 'r');
INSERT INTO model_version_tags VALUES ('modelops.version', '1.0.0', 'fraud', 1);
INSERT INTO runs VALUES ('trail', 'active', 7);
"""


def test_statements_on_tables_without_workspaces(tmp_path):
    """MLflow 3 before workspaces has no ``workspace`` column: the same reads and writes,
    on a database of those tables made by hand."""
    from modelops.errors import Conflict

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(_SCHEMA_WITHOUT_WORKSPACES)
    db = SqliteDatabase(str(path))
    with db.writing() as tx:
        tx.add_param("trail", "event.000000000001", "{}")
        tx.set_tag("fraud", 1, STAGE_TAG, "production")
        tx.set_tag("fraud", 2, STAGE_TAG, "archived")  # deleted: left alone
        tx.set_alias("fraud", "production", 1)
        tx.set_alias("fraud", "champion", 3)
        tx.set_run_tag("trail", "modelops.mirrored", "1")
    with pytest.raises(Conflict), db.writing() as tx:
        tx.add_param("trail", "event.000000000001", "{}")
    with pytest.raises(InvalidInput), db.writing() as tx:
        tx.set_alias("fraud", "latest", 1)
    with db.writing() as tx:
        tx.delete_alias("fraud", "champion")
    with db.reading() as reader:
        model = reader.model("fraud")
        assert (model.aliases, model.description) == ({"production": "1"}, "d")
        assert [v.version for v in reader.versions("fraud")] == [1, 3]
        (first,) = reader.versions("fraud", tag=("modelops.version", "1.0.0"))
        assert first.tags == {"modelops.version": "1.0.0", STAGE_TAG: "production"}
        assert reader.version_tags("fraud", "modelops.version", after=0) == \
            {1: "1.0.0", 3: None}
        assert reader.has_param("trail", "event.000000000001")
        trail = reader.trail("trail", "", "modelops.mirrored")
        assert (trail.params, trail.mirrored, trail.experiment_id) == \
            ({"event.000000000001": "{}"}, 1, "7")
    db.close()
