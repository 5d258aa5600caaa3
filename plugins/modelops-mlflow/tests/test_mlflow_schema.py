"""The first connection to a fresh MLflow database (``modelops_mlflow.schema``): processes
opening it at once take turns at MLflow's schema creation, and what MLflow raises while
opening a database is a modelops error naming it."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
import uuid

import pytest
from mirroring import mlflow_client

import modelops
from modelops.errors import StoreError

# Each process loads modelops and MLflow first, then, for each database in turn, waits for
# the word and opens it, so that all of them open each database in the same instant.
_OPENING = """
import os, sys, time
import mlflow.tracking, modelops
print("ready", flush=True)
for uri, go in zip(sys.argv[2::2], sys.argv[3::2]):
    while not os.path.exists(go):
        time.sleep(0.005)
    try:
        ops = modelops.connect(uri)
        ops.tracking.create_experiment(sys.argv[1])
        print("ok", flush=True)
    except Exception as exc:
        print(type(exc).__module__, type(exc).__name__, str(exc).splitlines()[0], flush=True)
"""


def _fresh_postgres(request) -> str | None:
    """An empty PostgreSQL database (no MLflow tables), or None without PostgreSQL here."""
    try:
        postgres = request.getfixturevalue("postgres")
    except pytest.skip.Exception:
        return None
    return "mlflow+" + postgres.create_database(f"fresh_{uuid.uuid4().hex[:8]}")


def _fresh_mariadb(request) -> str | None:
    """An empty MariaDB database (no MLflow tables), or None without MariaDB here."""
    try:
        mariadb = request.getfixturevalue("mariadb")
    except pytest.skip.Exception:
        return None
    return "mlflow+" + mariadb.create_database(f"fresh_{uuid.uuid4().hex[:8]}")


def test_processes_opening_fresh_databases_at_once(tmp_path, request):
    """Eight processes connect at once to a sqlite database that does not exist yet, then
    to an empty PostgreSQL database, then to an empty MariaDB one: on each, one creates
    MLflow's tables while the others wait on the lock (a file beside the sqlite database,
    an advisory lock on PostgreSQL, a named lock on MariaDB); then all of them work."""
    uris = [f"mlflow+sqlite:///{tmp_path}/fresh/mlflow.db"]
    uris += [uri for uri in (_fresh_postgres(request), _fresh_mariadb(request))
             if uri is not None]
    gos = [tmp_path / f"go-{i}" for i in range(len(uris))]
    args = [str(a) for pair in zip(uris, gos) for a in pair]
    procs = [subprocess.Popen([sys.executable, "-c", _OPENING, f"e{i}", *args],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
             for i in range(8)]
    try:
        for proc in procs:
            assert proc.stdout.readline().strip() == "ready"
        for uri, go in zip(uris, gos):
            go.touch()
            assert [proc.stdout.readline().strip() for proc in procs] == ["ok"] * 8, uri
            assert _experiments(uri) == {f"e{i}" for i in range(8)}
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    assert os.path.exists(f"{tmp_path}/fresh/mlflow.db.modelops-lock")


def _experiments(uri: str) -> set[str]:
    return {e.name for e in mlflow_client(uri).search_experiments()} - {"Default"}


def test_a_database_mlflow_cannot_open_is_a_store_error(mlflow_template, tmp_path):
    """MLflow's own refusal (a schema of an unknown version) comes out as StoreError naming
    the database, with MLflow's error as its cause."""
    path = tmp_path / "mlflow.db"
    path.write_bytes(mlflow_template.read_bytes())
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'f00dfeed'")
    with pytest.raises(StoreError, match=r"mlflow\.db.*f00dfeed") as caught:
        modelops.connect(f"mlflow+sqlite:///{path}")
    assert type(caught.value.__cause__).__module__.startswith("mlflow")


def test_a_postgres_database_that_is_not_there_is_named_without_its_password(postgres):
    uri = postgres.uri(f"missing_{uuid.uuid4().hex[:8]}").replace(
        "postgres@", "postgres:s3cret@")
    start = time.monotonic()
    with pytest.raises(StoreError, match=r"missing_\w+") as caught:
        modelops.connect(f"mlflow+{uri}")
    assert "s3cret" not in str(caught.value)
    assert time.monotonic() - start < 30  # not MLflow's minute and a half of retries
