"""modelops' app in a real ``mlflow server --app-name modelops`` (``modelops_mlflow.server``):
used where it is served, one request per registry read or change, in step with every other
kind of writer, and its errors are modelops' own."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
import requests
from mirroring import expected, mirrored, mlflow_client
from modelops_mlflow.registry import VERSION_TAG
from modelops_mlflow.remote import API

import modelops
from modelops.client import open_store
from modelops.entities.registry import Change, RegistryEvent
from modelops.errors import Conflict, InvalidInput, NotFound, StoreError
from modelops.uri import parse_uri


@pytest.fixture(scope="module")
def model():
    from sklearn.linear_model import LogisticRegression

    X = np.random.default_rng(0).normal(size=(60, 3))
    return LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))


@pytest.fixture
def url(mlflow_app_server):
    return mlflow_app_server[0]


@pytest.fixture
def name():
    return f"app-{uuid.uuid4().hex[:8]}"


def _connect(uri: str, **options) -> modelops.Client:
    return modelops.connect(uri, storage_options={"mlflow_model_layout": False, **options})


@pytest.fixture
def requests_made(monkeypatch):
    """The path of every HTTP request this process makes, in order."""
    made: list[str] = []
    send = requests.Session.request

    def counted(self, method, url, *args, **kwargs):
        made.append(f"{method} {requests.utils.urlparse(url).path}")
        return send(self, method, url, *args, **kwargs)

    monkeypatch.setattr(requests.Session, "request", counted)
    return made


def test_used_where_the_server_runs_the_app(url, mlflow_server, sqlite_uri):
    assert open_store("registry", parse_uri(f"mlflow+{url}"))._app is not None
    assert open_store("registry", parse_uri(f"mlflow+{mlflow_server}"))._app is None
    assert open_store("registry", parse_uri(f"mlflow+{url}", {"direct_sql": False}))._app is None
    assert open_store("registry", parse_uri(sqlite_uri()))._app is None  # SQL here already
    info = requests.get(f"{url}{API}/info", timeout=30).json()
    assert info == {"api": 1, "available": True}


def test_a_server_that_does_not_answer_is_asked_again(monkeypatch, url):
    """No answer to the question (a server down) is not taken for "no app": the call fails
    with StoreError, and the next call asks again."""
    import socket

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    from mlflow.tracking import MlflowClient

    store = open_store("registry", parse_uri(f"mlflow+{url}"))
    up = store.client
    down = f"http://127.0.0.1:{port}"   # (a store opened there is refused at once)
    store.client = MlflowClient(tracking_uri=down, registry_uri=down)     # it went down
    with pytest.raises(StoreError, match=str(port)):
        store.list_events("m")
    assert store._remote is True  # still to be asked
    store.client = up  # it is back
    with pytest.raises(NotFound, match="'m'"):
        store.list_events("m")
    assert store._app is not None


def test_a_read_or_a_change_is_one_request(url, name, model, requests_made):
    ops = _connect(f"mlflow+{url}")
    v1 = ops.registry.register(name, model).version
    v2 = ops.registry.register(name, model).version
    ops.registry.promote(name, v1)
    requests_made.clear()

    assert ops.registry.get_version(name, stage="production").version == v1
    assert requests_made == [f"POST {API}/read"]
    requests_made.clear()
    ops.registry.promote(name, v2)
    assert requests_made == [f"POST {API}/read", f"POST {API}/append"]
    requests_made.clear()
    got = ops.registry.get_version(name, stage="production")
    assert (got.version, got.stage.value) == (v2, "production")
    assert requests_made == [f"POST {API}/read"]
    assert ops.registry.get_version(name, v1).stage.value == "archived"
    assert mirrored(url, name) == ({"production": v2}, {v1: "archived", v2: "production"})


def test_the_whole_registry_through_the_app(url, name, model, tmp_path):
    """Register, promote, aliases, rollback, tags, history and loading, with plain MLflow
    reading the same aliases and stage tags after every step."""
    ops = _connect(f"mlflow+{url}")
    versions = [ops.registry.register(name, model, metrics={"f1": 0.8 + i / 100}).version
                for i in range(3)]
    steps = [
        lambda: ops.registry.promote(name, versions[0]),
        lambda: ops.registry.promote(name, versions[1], stage="staging"),
        lambda: ops.registry.promote(name, versions[1]),
        lambda: ops.registry.set_alias(name, "champion", versions[2]),
        lambda: ops.registry.rollback(name),
        lambda: ops.registry.remove_alias(name, "champion"),
        lambda: ops.registry.tag(name, {"owner": "fraud-team"}, version=versions[0]),
    ]
    for step in steps:
        step()
        assert mirrored(url, name) == expected(ops, name)
    assert ops.registry.get_version(name, stage="production").version == versions[0]
    assert ops.registry.get_version(name, versions[0]).tags["owner"] == "fraud-team"
    assert [e.action for e in ops.registry.history(name)] == [
        "promote", "promote", "promote", "set_alias", "rollback", "remove_alias", "tag"]
    other = _connect(f"mlflow+{url}", direct_sql=False)  # MLflow's REST API alone
    assert other.registry.history(name) == ops.registry.history(name)
    loaded = ops.registry.load(name, stage="production")
    assert (loaded.predict(np.ones((2, 3))) == model.predict(np.ones((2, 3)))).all()


def test_every_kind_of_writer_keeps_one_history(mlflow_app_server, name, model):
    """A store using the app, one using MLflow's REST API alone, one in SQL on the server's
    database file and plain MLflow code take turns on one model: each sees the others'
    changes, and MLflow's aliases and stage tags follow the history."""
    url, db = mlflow_app_server
    app = _connect(f"mlflow+{url}")
    rest = _connect(f"mlflow+{url}", direct_sql=False)
    sql = _connect(f"mlflow+sqlite:///{db}")
    assert app.registry.store._app is not None and rest.registry.store._app is None
    assert sql.registry.store._db is not None
    versions = [app.registry.register(name, model).version for _ in range(4)]
    writers = [app, rest, sql] * 3
    for i, writer in enumerate(writers):
        writer.registry.promote(name, versions[i % 4])
        for reader in (app, rest, sql):
            assert reader.registry.get_version(name, stage="production").version == \
                versions[i % 4]
        assert mirrored(url, name) == expected(app, name)
    number = {mv.tags[VERSION_TAG]: mv.version
              for mv in mlflow_client(url).search_model_versions(f"name = '{name}'")}
    mlflow_client(url).set_registered_model_alias(name, "production", number[versions[1]])
    assert app.registry.get_version(name, stage="production").version == versions[1]
    assert app.registry.history(name)[-1].actor == "mlflow"  # the alias, seen as a sync
    app.registry.promote(name, versions[2])
    assert [e.seq for e in sql.registry.history(name)] == list(range(1, len(writers) + 3))
    assert mirrored(url, name) == expected(rest, name)


def test_a_request_sent_again_finds_its_own_event(url, name, model):
    """An append carries its claim id: sent again (its answer lost), it finds its own event
    and succeeds; another claim of the same sequence number is a Conflict."""
    ops = _connect(f"mlflow+{url}")
    version = ops.registry.register(name, model).version
    remote = ops.registry.store._app
    event = RegistryEvent(model=name, seq=1, action="promote", actor="a", timestamp=1,
                          changes=(Change(version, "stage", "development", "staging"),),
                          payload={"target": "staging", "version": version})
    remote.append(event, "claim-1")
    remote.append(event, "claim-1")
    assert remote.events(name, 0) == [event]
    with pytest.raises(Conflict, match="someone else first"):
        remote.append(event, "claim-2")
    assert ops.registry.get_version(name, version).stage.value == "staging"
    assert mirrored(url, name) == ({"staging": version}, {version: "staging"})


def test_errors_are_modelops_errors_naming_what_was_wrong(url, name, model):
    store = open_store("registry", parse_uri(f"mlflow+{url}"))
    with pytest.raises(NotFound, match=name):
        store.list_events(name)
    with pytest.raises(NotFound, match=name):
        store.read_version(name, "1.0.0")
    ops = _connect(f"mlflow+{url}")
    version = ops.registry.register(name, model).version
    assert store.read_version(name, "9.9.9") == ([], None)
    assert store.read_version(name, version)[1].version == version
    for body, field in (({"after_seq": 0}, "name"), ({"name": name, "after_seq": -1},
                                                      "after_seq")):
        answer = requests.post(f"{url}{API}/events", json=body, timeout=30)
        assert answer.status_code == 400
        assert answer.json()["modelops_error"] == "InvalidInput"
        assert field in answer.json()["message"]
    answer = requests.post(f"{url}{API}/append", json={"event": {"seq": 1}, "claim": "c"},
                           timeout=30)
    assert answer.status_code == 400 and "event" in answer.json()["message"]
    with pytest.raises(InvalidInput, match="stage"):
        ops.registry.promote(name, version, stage="prod")
    trail = mlflow_client(url).get_registered_model(name).tags["modelops.trail"]
    mlflow_client(url).delete_run(trail)
    with pytest.raises(StoreError, match="mlflow runs restore"):
        ops.registry.promote(name, version)
    mlflow_client(url).restore_run(trail)
    ops.registry.promote(name, version)
    assert ops.registry.get_version(name, stage="production").version == version


def test_a_version_plain_mlflow_registered_is_read_by_the_client(url, name, tmp_path):
    """The server leaves a plain version to the client, which downloads and digests it."""
    import hashlib

    client = mlflow_client(url)
    (tmp_path / "model.bin").write_bytes(b"weights")
    client.create_registered_model(name)
    run = client.create_run(client.create_experiment(name)).info.run_id
    client.log_artifact(run, str(tmp_path / "model.bin"), "model")
    client.create_model_version(name, f"{client.get_run(run).info.artifact_uri}/model", run)
    ops = _connect(f"mlflow+{url}")
    got = ops.registry.get_version(name, "1.0.0")
    assert got.flavor == "mlflow"
    assert [(f.path, f.sha256) for f in got.files] == [
        ("model/model.bin", hashlib.sha256(b"weights").hexdigest())]
    assert _connect(f"mlflow+{url}", direct_sql=False).registry.get_version(name, "1.0.0") \
        == got


def test_an_event_too_long_for_a_param_goes_through_the_client(url, name, model):
    ops = _connect(f"mlflow+{url}")
    version = ops.registry.register(name, model).version
    reason = "a long reason " * 600  # past MLflow's 6,000-character param limit
    ops.registry.promote(name, version, reason=reason)
    assert ops.registry.history(name)[-1].reason == reason
    assert mirrored(url, name) == ({"production": version}, {version: "production"})


def test_an_app_on_another_backend_is_not_used(monkeypatch):
    """A server whose backend store is not one sqlite, PostgreSQL or MySQL database says the
    endpoints do not work there; clients then use MLflow's API alone."""
    from mlflow.server import BACKEND_STORE_URI_ENV_VAR, REGISTRY_STORE_URI_ENV_VAR
    from modelops_mlflow import server

    for backend, registry in (("mssql+pyodbc://db.example/mlflow", None),
                              ("sqlite:///a.db", "sqlite:///b.db"), (None, None)):
        monkeypatch.setattr(server, "_stores", {})
        for var, value in ((BACKEND_STORE_URI_ENV_VAR, backend),
                           (REGISTRY_STORE_URI_ENV_VAR, registry)):
            if value is None:
                monkeypatch.delenv(var, raising=False)
            else:
                monkeypatch.setenv(var, value)
        assert server._store() is None
