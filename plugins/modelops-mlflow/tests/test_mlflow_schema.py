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

# Each process loads modelops and MLflow first, then waits for the word, so that all of
# them open the database in the same instant.
_OPENING = """
import os, sys, time
import mlflow.tracking, modelops
print("ready", flush=True)
while not os.path.exists(sys.argv[3]):
    time.sleep(0.005)
try:
    ops = modelops.connect(sys.argv[1])
    ops.tracking.create_experiment(sys.argv[2])
    print("ok", flush=True)
except Exception as exc:
    print(type(exc).__module__, type(exc).__name__, exc, flush=True)
"""


def _open_at_once(uri: str, folder, n: int = 8) -> list[str]:
    """What each of ``n`` processes opening ``uri`` at once says ("ok" when it could)."""
    go = folder / "go"
    procs = [subprocess.Popen([sys.executable, "-c", _OPENING, uri, f"e{i}", str(go)],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
             for i in range(n)]
    try:
        for proc in procs:
            assert proc.stdout.readline().strip() == "ready"
        go.touch()
        return [proc.communicate(timeout=300)[0].strip() for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _experiments(uri: str) -> set[str]:
    return {e.name for e in mlflow_client(uri).search_experiments()} - {"Default"}


def test_processes_opening_a_fresh_sqlite_database_at_once(tmp_path):
    """Eight processes connect to a database file that does not exist yet: one creates
    MLflow's tables while the others wait on the lock file beside it; all then work."""
    uri = f"mlflow+sqlite:///{tmp_path}/fresh/mlflow.db"
    assert _open_at_once(uri, tmp_path) == ["ok"] * 8
    assert _experiments(uri) == {f"e{i}" for i in range(8)}
    assert os.path.exists(f"{tmp_path}/fresh/mlflow.db.modelops-lock")


def test_processes_opening_a_fresh_postgres_database_at_once(postgres, tmp_path):
    """The same on an empty PostgreSQL database: the first takes an advisory lock."""
    uri = "mlflow+" + postgres.create_database(f"fresh_{uuid.uuid4().hex[:8]}")
    assert _open_at_once(uri, tmp_path) == ["ok"] * 8
    assert _experiments(uri) == {f"e{i}" for i in range(8)}


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
