"""Real MLflow for the plugin's tests: sqlite databases, and `mlflow server` processes.

A fresh MLflow database runs MLflow's migrations (about two seconds), so a test run makes
one migrated, empty database and each test copies it. The servers (plain MLflow, and MLflow
with modelops' app) are started once per test run on free ports of 127.0.0.1, each over its
own copy, and stopped (with their workers) at the end.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# Loading scikit-learn models through mlflow.sklearn / mlflow.pyfunc unpickles them; the
# tests load models they just registered.
os.environ.setdefault("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty, migrated MLflow sqlite database to copy."""
    from mlflow.tracking import MlflowClient

    path = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def sqlite_uri(mlflow_template: Path, tmp_path_factory: pytest.TempPathFactory
               ) -> Callable[[], str]:
    """A factory of ``mlflow+sqlite`` URIs, each a fresh database in its own folder."""

    def make() -> str:
        folder = tmp_path_factory.mktemp("mlflow-db")
        path = folder / "mlflow.db"
        shutil.copyfile(mlflow_template, path)
        return f"mlflow+sqlite:///{path}"

    return make


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_SERVERS = {"mlflow_server", "mlflow_app_server"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Under pytest-xdist (``--dist loadgroup``) the tests of the run-wide servers run in
    # one worker: each server starts once per run, not once per worker.
    for item in items:
        if _SERVERS & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.xdist_group("mlflow-servers"))


@pytest.fixture(scope="session")
def mlflow_server(mlflow_template: Path, tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[str]:
    """A real ``mlflow server`` on 127.0.0.1 (sqlite backend, proxied artifacts in a temp
    folder); yields its ``http://`` URL. Stopped, with its worker processes, at the end."""
    folder = tmp_path_factory.mktemp("mlflow-server")
    yield from _serve(mlflow_template, folder)


@pytest.fixture(scope="session")
def mlflow_app_server(mlflow_template: Path, tmp_path_factory: pytest.TempPathFactory
                      ) -> Iterator[tuple[str, Path]]:
    """A real ``mlflow server --app-name modelops`` on 127.0.0.1, as ``mlflow_server``;
    yields its URL and its database file."""
    folder = tmp_path_factory.mktemp("mlflow-app-server")
    for url in _serve(mlflow_template, folder, "--app-name", "modelops"):
        yield url, folder / "server.db"


def _serve(template: Path, folder: Path, *options: str) -> Iterator[str]:
    db = folder / "server.db"
    shutil.copyfile(template, db)
    log = open(folder / "server.log", "wb")  # noqa: SIM115 - closed in the finally below
    mlflow = Path(sys.executable).with_name("mlflow")
    proc = None
    try:
        # A free port may be taken between choosing and binding (by another test process's
        # server): a server that exits before it answers is started again on another port.
        for _attempt in range(3):
            port = _free_port()
            command = [str(mlflow) if mlflow.exists() else "mlflow", "server",
                       "--backend-store-uri", f"sqlite:///{db}",
                       "--artifacts-destination", str(folder / "artifacts"),
                       "--host", "127.0.0.1", "--port", str(port), "--workers", "1", *options]
            # MLflow's job runner (GenAI jobs, unused here) would start a dozen more processes.
            proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=folder,
                                    start_new_session=True,
                                    env={**os.environ,
                                         "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"})
            url = f"http://127.0.0.1:{port}"
            if _answers(proc, url):
                break
        else:
            raise RuntimeError("mlflow server exited: "
                               + (folder / "server.log").read_text(errors="replace")[-2000:])
        yield url
    finally:
        if proc is not None:
            _stop(proc)
        log.close()


def _answers(proc: subprocess.Popen[bytes], url: str) -> bool:
    """Wait until the server answers its health check (True), or exits (False)."""
    deadline = time.monotonic() + 120
    while proc.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("mlflow server did not start within 120 s")
        time.sleep(0.2)
    return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server and its workers (its own process group)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)
    # Workers that outlived the parent are in the same group.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
