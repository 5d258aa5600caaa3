"""Real MLflow for the plugin's tests: sqlite databases, PostgreSQL and MariaDB servers,
and `mlflow server` processes.

A fresh MLflow database runs MLflow's migrations (about two seconds), so a test run makes
one migrated, empty database and each test copies it: a sqlite file, or, on a server, a
database of a pool (``_DatabasePool``) emptied again between tests. The database servers
(``modelops_mlflow.testing.LocalPostgres`` and ``LocalMariaDB``: a data directory in a
temporary directory, 127.0.0.1 and a free port) and the MLflow servers (plain MLflow, and
MLflow with modelops' app) are started once per test run (per xdist worker), and stopped at
the end. Without a server's binaries its tests are skipped, saying how to get them; on CI
(``CI`` set) they fail instead, so CI never passes without them.
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
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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


def _serve(template: Path, folder: Path, *options: str, backend: str | None = None
           ) -> Iterator[str]:
    """An ``mlflow server`` on a copy of ``template`` (or on the database ``backend``)."""
    if backend is None:
        db = folder / "server.db"
        shutil.copyfile(template, db)
        backend = f"sqlite:///{db}"
    log = open(folder / "server.log", "wb")  # noqa: SIM115 - closed in the finally below
    mlflow = Path(sys.executable).with_name("mlflow")
    proc = None
    try:
        # A free port may be taken between choosing and binding (by another test process's
        # server): a server that exits before it answers is started again on another port.
        for _attempt in range(3):
            port = _free_port()
            command = [str(mlflow) if mlflow.exists() else "mlflow", "server",
                       "--backend-store-uri", backend,
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


# -- database servers ------------------------------------------------------------------------

class _DatabasePool:
    """Migrated, empty MLflow databases on a database server of the test run, each emptied
    again (by ``_empty``: its rows gone, a fresh database's rows put back) when a later test
    takes it. MLflow opening a database it has not seen costs it a third of a second (an
    engine, schema checks), which once per test would add minutes, and it keeps an engine
    per database it opened; emptying one it has open takes 0.1 s."""

    #: The migrated, empty database the others are copies of.
    TEMPLATE = "mlflow_template"

    def __init__(self, server: Any) -> None:
        self.server = server
        self._free: list[str] = []
        self._used: list[str] = []

    def take(self) -> str:
        """The ``mlflow+`` URI of an empty database for this test."""
        if self._free:
            name = self._free.pop()
            self._empty(name)
        else:
            name = f"t_{uuid.uuid4().hex[:12]}"
            self.server.create_database(name, self.TEMPLATE)
        self._used.append(name)
        return "mlflow+" + self.server.uri(name)

    def _empty(self, name: str) -> None:
        raise NotImplementedError

    def release(self) -> None:
        """The databases taken since the last release are free again."""
        self._free.extend(self._used)
        self._used.clear()


# -- PostgreSQL ------------------------------------------------------------------------------

class _PostgresDatabases(_DatabasePool):
    """The pool on the test run's PostgreSQL server: a copy is ``CREATE DATABASE …
    TEMPLATE``, emptying is TRUNCATE."""

    def __init__(self, server: Any) -> None:
        import psycopg
        from mlflow.tracking import MlflowClient

        super().__init__(server)
        uri = server.create_database(self.TEMPLATE)
        MlflowClient(tracking_uri=uri, registry_uri=uri).search_registered_models()
        server.disconnect(self.TEMPLATE)  # a template must have no sessions to be copied
        with self._connect(self.TEMPLATE) as conn:
            tables = [row[0] for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                "AND tablename <> 'alembic_version' ORDER BY tablename")]
            self._truncate = psycopg.sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(
                psycopg.sql.SQL(", ").join(map(psycopg.sql.Identifier, tables)))
            self._rows = []  # what a fresh database holds (the Default experiment …)
            for table in tables:
                cursor = conn.execute(psycopg.sql.SQL("SELECT * FROM {}").format(
                    psycopg.sql.Identifier(table)))
                rows = cursor.fetchall()
                if rows:
                    columns = [c.name for c in cursor.description]
                    self._rows.append((psycopg.sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
                        psycopg.sql.Identifier(table),
                        psycopg.sql.SQL(", ").join(map(psycopg.sql.Identifier, columns)),
                        psycopg.sql.SQL(", ").join(psycopg.sql.Placeholder() * len(columns))),
                        rows))

    def _connect(self, database: str) -> Any:
        import psycopg

        return psycopg.connect(host="127.0.0.1", port=self.server.port, user="postgres",
                               dbname=database, autocommit=True)

    def _empty(self, name: str) -> None:
        import psycopg

        for attempt in range(2):
            try:
                with self._connect(name) as conn, conn.transaction():
                    conn.execute("SET LOCAL lock_timeout = '10s'")
                    conn.execute(self._truncate)
                    for insert, rows in self._rows:
                        conn.cursor().executemany(insert, rows)
                return
            except psycopg.errors.LockNotAvailable:
                if attempt:
                    raise
                # A session a test left inside a transaction holds a table: end it.
                self.server.disconnect(name)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Any]:
    """A PostgreSQL server of this test run (``LocalPostgres``); stopped and removed at the
    end. Skipped without the server binaries or psycopg (failed on CI)."""
    from modelops_mlflow.testing import HOW_TO_GET, LocalPostgres, find_binaries

    missing = None
    if find_binaries() is None:
        missing = HOW_TO_GET
    else:
        try:
            import psycopg  # noqa: F401
        except ImportError:
            missing = 'the PostgreSQL tests need psycopg: pip install "modelops-mlflow[postgres]"'
    if missing is not None:
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    with LocalPostgres() as server:
        yield server


@pytest.fixture(scope="session")
def postgres_databases(postgres) -> _PostgresDatabases:
    return _PostgresDatabases(postgres)


@pytest.fixture
def postgres_uri(postgres_databases) -> Iterator[Callable[[], str]]:
    """A factory of ``mlflow+postgresql`` URIs, each an empty MLflow database."""
    yield postgres_databases.take
    postgres_databases.release()


@pytest.fixture(scope="session")
def mlflow_app_server_on_postgres(postgres_databases, tmp_path_factory: pytest.TempPathFactory
                                  ) -> Iterator[tuple[str, str]]:
    """``mlflow server --app-name modelops`` on a PostgreSQL database of its own; yields its
    URL and the database's ``mlflow+postgresql`` URI."""
    folder = tmp_path_factory.mktemp("mlflow-app-server-pg")
    uri = postgres_databases.server.create_database(f"server_{uuid.uuid4().hex[:8]}",
                                                    postgres_databases.TEMPLATE)
    for url in _serve(Path(), folder, "--app-name", "modelops", backend=uri):
        yield url, f"mlflow+{uri}"


# -- MariaDB (MySQL) ------------------------------------------------------------------------

@pytest.fixture(scope="session")
def mariadb() -> Iterator[Any]:
    """A MariaDB server of this test run (``LocalMariaDB``); stopped and removed at the end.
    Skipped without the server binaries or PyMySQL (failed on CI)."""
    from modelops_mlflow.testing import HOW_TO_GET_MARIADB, LocalMariaDB, find_mariadb

    missing = None
    if find_mariadb() is None:
        missing = HOW_TO_GET_MARIADB
    else:
        try:
            import pymysql  # noqa: F401
        except ImportError:
            missing = 'the MySQL tests need PyMySQL: pip install "modelops-mlflow[mysql]"'
    if missing is not None:
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    with LocalMariaDB() as server:
        yield server


class _MysqlDatabases(_DatabasePool):
    """The pool on the test run's MariaDB server: a copy is the template's tables and rows
    (MariaDB has no template databases), emptying is DELETE."""

    def __init__(self, server: Any) -> None:
        from mlflow.tracking import MlflowClient

        super().__init__(server)
        uri = server.create_database(self.TEMPLATE)
        MlflowClient(tracking_uri=uri, registry_uri=uri).search_registered_models()
        with server.connect(self.TEMPLATE) as conn:
            cursor = conn.cursor()
            cursor.execute("SELECT table_name FROM information_schema.tables WHERE"
                           " table_schema = DATABASE() AND table_type = 'BASE TABLE'"
                           " AND table_name <> 'alembic_version'")
            self._tables = [row[0] for row in cursor.fetchall()]
            self._rows = []  # what a fresh database holds (the Default experiment …)
            for table in self._tables:
                cursor.execute(f"SELECT * FROM `{table}`")
                rows = cursor.fetchall()
                if rows:
                    self._rows.append((f"INSERT INTO `{table}` VALUES "
                                       f"({', '.join(['%s'] * len(rows[0]))})", rows))

    def _empty(self, name: str) -> None:
        with self.server.connect(name) as conn:
            cursor = conn.cursor()
            # A session a test left inside a transaction would hold rows: end those first.
            cursor.execute("SELECT p.id FROM information_schema.innodb_trx t JOIN"
                           " information_schema.processlist p ON p.id = t.trx_mysql_thread_id"
                           " WHERE p.db = %s AND p.id <> CONNECTION_ID()", (name,))
            for (session,) in cursor.fetchall():
                with contextlib.suppress(Exception):
                    cursor.execute(f"KILL {int(session)}")
            cursor.execute("SET FOREIGN_KEY_CHECKS = 0")
            cursor.execute("SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_AUTO_VALUE_ON_ZERO')")
            cursor.execute("START TRANSACTION")
            for table in self._tables:
                cursor.execute(f"DELETE FROM `{table}`")
            for insert, rows in self._rows:
                cursor.executemany(insert, rows)
            cursor.execute("COMMIT")


@pytest.fixture(scope="session")
def mysql_databases(mariadb) -> _MysqlDatabases:
    return _MysqlDatabases(mariadb)


@pytest.fixture
def mysql_uri(mysql_databases) -> Iterator[Callable[[], str]]:
    """A factory of ``mlflow+mysql+pymysql`` URIs, each an empty MLflow database."""
    yield mysql_databases.take
    mysql_databases.release()


@pytest.fixture
def mysql_own_database(mysql_databases) -> Callable[[], tuple[str, str]]:
    """A factory of migrated MLflow databases that no other test takes (for a test that
    changes the schema): each call gives a new one's name and ``mlflow+`` URI."""

    def make() -> tuple[str, str]:
        name = f"own_{uuid.uuid4().hex[:8]}"
        return name, "mlflow+" + mysql_databases.server.create_database(
            name, mysql_databases.TEMPLATE)

    return make


@pytest.fixture(scope="session")
def mlflow_app_server_on_mysql(mysql_databases, tmp_path_factory: pytest.TempPathFactory
                               ) -> Iterator[tuple[str, str]]:
    """``mlflow server --app-name modelops`` on a MariaDB database of its own; yields its
    URL and the database's ``mlflow+mysql+pymysql`` URI."""
    folder = tmp_path_factory.mktemp("mlflow-app-server-mysql")
    uri = mysql_databases.server.create_database(f"server_{uuid.uuid4().hex[:8]}",
                                                 mysql_databases.TEMPLATE)
    for url in _serve(Path(), folder, "--app-name", "modelops", backend=uri):
        yield url, f"mlflow+{uri}"

