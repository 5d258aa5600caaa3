"""Throwaway database servers on 127.0.0.1 for tests, examples and benchmarks.

``LocalPostgres`` runs the server binaries of a PostgreSQL installation (Debian's
``postgresql`` package puts them in ``/usr/lib/postgresql/<version>/bin``): ``initdb`` into a
temporary directory with trust authentication, ``pg_ctl`` starting ``postgres`` on a free
port of 127.0.0.1 with its own socket directory, and ``pg_ctl stop`` plus removal of the
directory on ``stop()``, on leaving a ``with`` block, or at interpreter exit at the latest.
PostgreSQL refuses to run as root; run as root, the server runs as the ``postgres`` user the
package creates::

    from modelops_mlflow.testing import LocalPostgres

    with LocalPostgres() as server:
        uri = server.create_database("mlflow")      # postgresql://postgres@127.0.0.1:PORT/mlflow
        ops = modelops.connect(f"mlflow+{uri}")

Talking to it needs a driver: ``pip install "modelops-mlflow[postgres]"`` (psycopg 3).

``LocalMariaDB`` does the same with MariaDB's server (Debian's ``mariadb-server-core`` and
``mariadb-client-core`` packages): ``mariadb-install-db`` into a temporary directory,
``mariadbd`` on a free port of 127.0.0.1, user ``root`` without a password; its URIs name
PyMySQL (``pip install "modelops-mlflow[mysql]"``)::

    with LocalMariaDB() as server:
        ops = modelops.connect("mlflow+" + server.create_database("mlflow"))
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import time
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from modelops.errors import MissingDependency, StoreError

#: What to tell someone whose machine has no PostgreSQL server binaries.
HOW_TO_GET = ("PostgreSQL's server binaries (initdb, pg_ctl, postgres) were not found; on "
              "Debian or Ubuntu: apt-get install -y postgresql")
#: What to tell someone whose machine has no MariaDB server binaries.
HOW_TO_GET_MARIADB = ("MariaDB's server binaries (mariadb-install-db, mariadbd) were not "
                      "found; on Debian or Ubuntu: apt-get install -y mariadb-server-core "
                      "mariadb-client-core")
_SUPERUSER = "postgres"
_live: weakref.WeakSet[_LocalServer] = weakref.WeakSet()


def find_binaries() -> str | None:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``: the newest version
    under ``/usr/lib/postgresql``, else the one on PATH; None when there is none."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                        key=lambda d: _version_key(d.split("/")[-2]), reverse=True)
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(os.path.dirname(os.path.realpath(initdb)))
    for folder in candidates:
        if all(os.access(os.path.join(folder, tool), os.X_OK)
               for tool in ("initdb", "pg_ctl", "postgres")):
            return folder
    return None


def _version_key(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".") if part.isdecimal())


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _LocalServer:
    """What the local servers share: a ``with`` block runs one, ``running`` says whether it
    does (``start`` and ``stop`` are each server's own)."""

    port: int | None
    root: str | None

    def start(self) -> Any:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    @property
    def running(self) -> bool:
        return self.root is not None

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} 127.0.0.1:{self.port} "
                f"{'running' if self.running else 'stopped'}>")


class LocalPostgres(_LocalServer):
    """A PostgreSQL server of its own on ``127.0.0.1:port``, its data in a temporary
    directory. ``durable=False`` (the default, for tests) turns fsync off: the data is
    thrown away anyway; a benchmark wants ``durable=True``, as in production."""

    def __init__(self, *, durable: bool = False, start_timeout: float = 60.0) -> None:
        self.durable = durable
        self.start_timeout = start_timeout
        self.port: int | None = None
        self.root: str | None = None
        self._bin: str | None = None
        self._user: Any = None  # the pwd entry of the user the server runs as

    # -- the process ------------------------------------------------------------------------

    def start(self) -> LocalPostgres:
        """initdb and start the server; returns self. MissingDependency without the server
        binaries, StoreError when it does not start."""
        if self.root is not None:
            return self
        self._bin = find_binaries()
        if self._bin is None:
            raise MissingDependency("a local PostgreSQL server", "postgresql (apt-get install "
                                    "-y postgresql)")
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            import pwd

            try:
                self._user = pwd.getpwnam(_SUPERUSER)
            except KeyError:
                raise StoreError("PostgreSQL refuses to run as root, and there is no "
                                 f"{_SUPERUSER!r} user to run it as") from None
        # Not under pytest's temporary directories: those are private to their owner.
        self.root = tempfile.mkdtemp(prefix="modelops-pg-")
        _live.add(self)
        try:
            os.mkdir(self._path("socket"))
            if self._user is not None:
                for path in (self.root, self._path("socket")):
                    os.chown(path, self._user.pw_uid, self._user.pw_gid)
            self._run("initdb", "-D", self._path("data"), "-U", _SUPERUSER, "-A", "trust",
                      "-E", "UTF8", "--locale=C", "--no-sync")
            for _ in range(5):  # a free port may be taken between choosing and binding
                self.port = _free_port()
                if self._try_start():
                    return self
            raise StoreError("PostgreSQL did not start: "
                             + self._log()[-2000:])
        except BaseException:
            self.stop()
            raise

    def _try_start(self) -> bool:
        options = [f"-p {self.port}", "-c listen_addresses=127.0.0.1",
                   f"-c unix_socket_directories={self._path('socket')}",
                   "-c max_connections=300", "-c shared_buffers=32MB"]
        if not self.durable:
            options += ["-c fsync=off", "-c synchronous_commit=off",
                        "-c full_page_writes=off"]
        result = self._run("pg_ctl", "start", "-w", "-t", str(int(self.start_timeout)),
                           "-D", self._path("data"), "-l", self._path("server.log"),
                           "-o", " ".join(options), check=False)
        return result.returncode == 0

    def stop(self) -> None:
        """Stop the server at once and remove its directory (everything it held is gone)."""
        root, self.root = self.root, None
        _live.discard(self)
        if root is None:
            return
        if os.path.exists(os.path.join(root, "data", "postmaster.pid")):
            with contextlib.suppress(Exception):
                self._run("pg_ctl", "stop", "-m", "immediate", "-w", "-D",
                          os.path.join(root, "data"), check=False)
        shutil.rmtree(root, ignore_errors=True)

    def _path(self, *parts: str) -> str:
        assert self.root is not None
        return os.path.join(self.root, *parts)

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        assert self._bin is not None
        result = subprocess.run([os.path.join(self._bin, tool), *args], cwd=self.root,
                                stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                preexec_fn=self._drop_privileges(), timeout=120)
        if check and result.returncode != 0:
            raise StoreError(f"{tool} failed: {(result.stderr or result.stdout)[-2000:]}")
        return result

    def _drop_privileges(self) -> Callable[[], None] | None:
        user = self._user
        if user is None:
            return None

        def drop() -> None:
            os.setgroups([])
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)

        return drop

    def _log(self) -> str:
        try:
            with open(self._path("server.log"), encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    # -- databases --------------------------------------------------------------------------

    def uri(self, database: str = "postgres") -> str:
        """The SQLAlchemy URI (MLflow's backend store URI) of ``database`` on this server."""
        if self.port is None or self.root is None:
            raise StoreError("the local PostgreSQL server was not started")
        return f"postgresql://{_SUPERUSER}@127.0.0.1:{self.port}/{database}"

    @contextlib.contextmanager
    def _admin(self) -> Iterator[Any]:
        try:
            import psycopg
        except ImportError as exc:
            raise MissingDependency("a local PostgreSQL server",
                                    'modelops-mlflow[postgres]') from exc
        with psycopg.connect(host="127.0.0.1", port=self.port, user=_SUPERUSER,
                             dbname="postgres", autocommit=True) as conn:
            yield conn

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create the database ``name`` (a copy of the database ``template`` when given, which
        nothing may be connected to); returns its URI."""
        from psycopg import sql

        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            statement = sql.SQL("{} TEMPLATE {}").format(statement, sql.Identifier(template))
        with self._admin() as conn:
            conn.execute(statement)
        return self.uri(name)

    def disconnect(self, database: str) -> None:
        """End every session connected to ``database`` (before copying it, say)."""
        with self._admin() as conn:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname = %s AND pid <> pg_backend_pid()", (database,))
            deadline = time.monotonic() + 10
            while conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                               "AND pid <> pg_backend_pid()", (database,)).fetchone()[0]:
                if time.monotonic() > deadline:
                    raise StoreError(f"sessions on {database!r} did not end")
                time.sleep(0.02)


def find_mariadb() -> tuple[str, str] | None:
    """The paths of ``mariadb-install-db`` and ``mariadbd`` (on PATH, or where Debian puts
    the server), or None when either is missing."""
    install = shutil.which("mariadb-install-db")
    server = shutil.which("mariadbd") or shutil.which("mariadbd", path="/usr/sbin")
    return (install, server) if install and server else None


class LocalMariaDB(_LocalServer):
    """A MariaDB server of its own on ``127.0.0.1:port``, its data in a temporary directory
    (durability off, as for ``LocalPostgres(durable=False)``: the data is thrown away)."""

    def __init__(self, *, start_timeout: float = 60.0) -> None:
        self.start_timeout = start_timeout
        self.port: int | None = None
        self.root: str | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> LocalMariaDB:
        """Make the data directory and start the server; returns self. MissingDependency
        without the server binaries, StoreError when it does not start."""
        if self.root is not None:
            return self
        found = find_mariadb()
        if found is None:
            raise MissingDependency("a local MariaDB server", "mariadb-server-core and "
                                    "mariadb-client-core (apt-get install -y …)")
        install, server = found
        self.root = tempfile.mkdtemp(prefix="modelops-mariadb-")
        _live.add(self)
        try:
            data = os.path.join(self.root, "data")
            # As root, the server runs as root (--user): the directory is root's own.
            user = ["--user=root"] if os.geteuid() == 0 else []
            result = subprocess.run(
                [install, "--no-defaults", f"--datadir={data}", "--skip-test-db",
                 "--auth-root-authentication-method=normal", *user],
                stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
            if result.returncode != 0:
                raise StoreError("mariadb-install-db failed: "
                                 + (result.stderr or result.stdout)[-2000:])
            for _ in range(5):  # a free port may be taken between choosing and binding
                self.port = _free_port()
                if self._try_start(server, data, user):
                    return self
            raise StoreError("MariaDB did not start: " + self._log()[-2000:])
        except BaseException:
            self.stop()
            raise

    def _try_start(self, server: str, data: str, user: list[str]) -> bool:
        assert self.root is not None
        self._proc = subprocess.Popen(
            [server, "--no-defaults", f"--datadir={data}", f"--port={self.port}",
             "--bind-address=127.0.0.1", f"--socket={os.path.join(self.root, 'socket')}",
             f"--pid-file={os.path.join(self.root, 'server.pid')}",
             f"--log-error={os.path.join(self.root, 'server.log')}", "--skip-log-bin",
             "--innodb-flush-log-at-trx-commit=0", "--innodb-doublewrite=0",
             "--max-connections=300", "--character-set-server=utf8mb4",
             "--collation-server=utf8mb4_bin", *user],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + self.start_timeout
        while self._proc.poll() is None and time.monotonic() < deadline:
            try:
                self.connect().close()
                return True
            except Exception:
                time.sleep(0.1)
        self._kill()
        return False

    def connect(self, database: str | None = None) -> Any:
        """A PyMySQL connection (autocommit) as ``root`` to ``database`` (or to none)."""
        try:
            import pymysql
        except ImportError as exc:
            raise MissingDependency("a local MariaDB server", "modelops-mlflow[mysql]") from exc
        return pymysql.connect(host="127.0.0.1", port=self.port, user="root",
                               database=database, autocommit=True, connect_timeout=2)

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)

    def stop(self) -> None:
        """Stop the server at once and remove its directory (everything it held is gone)."""
        root, self.root = self.root, None
        _live.discard(self)
        self._kill()
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)

    def _log(self) -> str:
        try:
            with open(os.path.join(self.root or "", "server.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def uri(self, database: str) -> str:
        """The SQLAlchemy URI (MLflow's backend store URI) of ``database``, through PyMySQL."""
        if self.port is None or self.root is None:
            raise StoreError("the local MariaDB server was not started")
        return f"mysql+pymysql://root@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create the database ``name`` (with the tables and rows of the database
        ``template`` when given: MariaDB has no templates, so they are copied); its URI."""
        conn = self.connect()
        try:
            cursor = conn.cursor()
            cursor.execute(f"CREATE DATABASE `{name}`")
            if template is not None:
                # Each table as SHOW CREATE TABLE says (its foreign keys too: CREATE TABLE
                # … LIKE drops them), made in the new database, then its rows.
                cursor.execute("SELECT table_name FROM information_schema.tables"
                               " WHERE table_schema = %s AND table_type = 'BASE TABLE'",
                               (template,))
                tables = [row[0] for row in cursor.fetchall()]
                cursor.execute(f"USE `{name}`")
                cursor.execute("SET FOREIGN_KEY_CHECKS = 0")
                # MLflow's Default experiment is number 0: kept, not given the next number.
                cursor.execute("SET SESSION sql_mode ="
                               " CONCAT(@@sql_mode, ',NO_AUTO_VALUE_ON_ZERO')")
                for table in tables:
                    cursor.execute(f"SHOW CREATE TABLE `{template}`.`{table}`")
                    cursor.execute(cursor.fetchone()[1])
                    cursor.execute(f"INSERT INTO `{table}` SELECT * FROM `{template}`.`{table}`")
                cursor.execute("SET FOREIGN_KEY_CHECKS = 1")
        finally:
            conn.close()
        return self.uri(name)


@atexit.register
def _stop_all() -> None:
    for server in list(_live):
        with contextlib.suppress(Exception):
            server.stop()
