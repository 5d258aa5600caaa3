"""The plugin's face: URIs, options, the predictions refusal, the install hint."""

from __future__ import annotations

import subprocess
import sys

import pytest
from modelops_mlflow.connection import Connection

import modelops
from modelops import plugins
from modelops.errors import InvalidInput, NotFound, StoreError, UnknownScheme
from modelops.uri import parse_uri


@pytest.mark.parametrize("uri, tracking", [
    ("mlflow+sqlite:////data/mlflow.db", "sqlite:////data/mlflow.db"),
    ("mlflow+http://127.0.0.1:5000", "http://127.0.0.1:5000"),
    ("mlflow+https://mlflow.example.com", "https://mlflow.example.com"),
    ("mlflow+databricks", "databricks"),
    ("MLflow+Databricks", "Databricks"),
    ("mlflow+databricks://profile", "databricks://profile"),
    ("mlflow+postgresql://u:p@db/mlflow", "postgresql://u:p@db/mlflow"),
])
def test_uris_pass_through_to_mlflow(uri, tracking):
    """Everything after ``mlflow+`` is MLflow's tracking URI, unchanged; the registry URI
    defaults to it."""
    connection = Connection.from_uri(parse_uri(uri))
    assert connection.tracking_uri == tracking
    assert connection.registry_uri == tracking


def test_artifacts_default_beside_a_sqlite_database(tmp_path):
    """Experiments modelops creates keep artifacts in ``mlartifacts`` beside the database,
    not in the working directory; an option chooses another root."""
    uri = f"mlflow+sqlite:///{tmp_path}/m.db"
    assert Connection.from_uri(parse_uri(uri)).artifact_root == \
        f"file://{tmp_path}/mlartifacts"
    other = Connection.from_uri(parse_uri(uri, {"artifact_root": "s3://b/p",
                                                "registry_uri": "sqlite:///r.db"}))
    assert (other.artifact_root, other.registry_uri) == ("s3://b/p", "sqlite:///r.db")
    assert Connection.from_uri(parse_uri("mlflow+http://h:1")).artifact_root is None


@pytest.mark.parametrize("options, field", [
    ({"artifact_roots": "x"}, "storage_options"),
    ({"registry_uri": 3}, "registry_uri"),
    ({"mlflow_model_layout": "yes"}, "mlflow_model_layout"),
])
def test_bad_options_refused(options, field):
    with pytest.raises(InvalidInput, match=field):
        Connection.from_uri(parse_uri("mlflow+http://h:1", options))


def test_other_schemes_are_not_served():
    assert Connection.from_uri(parse_uri("memory://")) is None
    assert Connection.from_uri(parse_uri("relative/store")) is None


def test_predictions_stay_on_a_filesystem_store(sqlite_uri, tmp_path):
    """connect() on MLflow works; asking it for predictions says where they go instead,
    and combining with a filesystem store for predictions works."""
    uri = sqlite_uri()
    ops = modelops.connect(uri)
    assert ops.tracking.list_experiments() == []
    with pytest.raises(NotFound, match="predictions stay on a filesystem store") as info:
        ops.predictions.logger("fraud")
    assert "predictions=" in str(info.value)
    with pytest.raises(NotFound, match="filesystem store"):
        modelops.connect("memory://", predictions=uri)
    ops.close()
    combined = modelops.connect(uri, predictions=f"file://{tmp_path / 'p'}")
    combined.predictions.feedback("fraud", "id-1", actual=1)
    assert combined.predictions.models() == ["fraud"]
    combined.close()


def test_plugin_lists_its_schemes():
    assert {"mlflow+sqlite", "mlflow+http", "mlflow+https"} <= set(plugins.available_schemes())


def test_without_the_plugin_the_error_says_what_to_install():
    """With entry-point plugins switched off, an mlflow+ URI names the package to install."""
    code = ("import modelops\n"
            "try:\n    modelops.connect('mlflow+sqlite:///x.db')\n"
            "except modelops.UnknownScheme as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"MODELOPS_PLUGINS": "", "PATH": ""}, check=True).stdout
    assert "pip install modelops-mlflow" in out
    assert issubclass(UnknownScheme, InvalidInput)


def test_import_modelops_loads_no_mlflow():
    code = "import sys, modelops, modelops.copy; print('mlflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_server_that_is_not_there_is_named_at_once(monkeypatch):
    """MLflow's client retries a request to a server nobody listens at for minutes (a
    wrong port, a server not started yet): connecting says so at once."""
    import time

    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    port = _closed_port()
    started = time.monotonic()
    with pytest.raises(StoreError, match=rf"cannot reach the MLflow server at "
                                         rf"http://u:\*\*\*@127\.0\.0\.1:{port}"):
        modelops.connect(f"mlflow+http://u:secret@127.0.0.1:{port}").registry.list_models()
    assert time.monotonic() - started < 30


def test_through_a_proxy_the_proxy_answers_for_the_server(monkeypatch):
    from modelops_mlflow.connection import check_reachable

    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    check_reachable(f"http://127.0.0.1:{_closed_port()}")   # not tried: no error
