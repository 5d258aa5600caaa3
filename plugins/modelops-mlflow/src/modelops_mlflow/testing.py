"""A throwaway PostgreSQL server on 127.0.0.1 for tests, examples and benchmarks.

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
_SUPERUSER = "postgres"
_live: weakref.WeakSet[LocalPostgres] = weakref.WeakSet()


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
    return tuple(int(part) for part in text.split(".") if part.isdigit())


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalPostgres:
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

    @property
    def running(self) -> bool:
        return self.root is not None

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

    def __enter__(self) -> LocalPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<LocalPostgres 127.0.0.1:{self.port} {'running' if self.running else 'stopped'}>"


@atexit.register
def _stop_all() -> None:
    for server in list(_live):
        with contextlib.suppress(Exception):
            server.stop()
