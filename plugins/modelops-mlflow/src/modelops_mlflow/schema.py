"""MLflow's first-time schema creation, one process at a time.

MLflow's SQL stores create and migrate their tables (with alembic) when they first open a
database that lacks them. Several processes opening a fresh database at once each start that
migration, and all but one fail with a raw error of alembic or of the database (a table or
column that already exists, an ``alembic_version`` row someone else moved), or find the schema
half-migrated. So before this process first opens MLflow's stores on a database,
``open_client`` takes a lock every modelops process takes, and opens them holding it
(unless the tables are at MLflow's newest revision already, which one query tells):

- PostgreSQL: a session-level advisory lock, on a connection of its own;
- MySQL and MariaDB: the named lock ``GET_LOCK('modelops-schema.<database>')``, the same;
- sqlite: an ``flock`` on the file ``<database>.modelops-lock`` beside the database (none on
  Windows, which has no ``flock``);
- other databases (SQL Server): no lock, as MLflow itself.

The first process migrates; the others wait, then find every table there and open without
the lock. Once per database
per process: later stores reuse MLflow's own, which MLflow keeps per URI. Whatever MLflow
raises while opening a database becomes a StoreError naming the database (its password
hidden), or a MissingDependency naming the driver to install.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

from modelops.errors import MissingDependency, ModelOpsError, StoreError
from modelops.uri import hide_password

try:
    import fcntl
except ImportError:  # Windows: no flock
    fcntl = None  # type: ignore[assignment]

#: The advisory lock's key: any fixed 64-bit number no one else uses for their own lock.
ADVISORY_KEY = 0x6D6F_6465_6C6F_7073  # "modelops" in ASCII
LOCK_SUFFIX = ".modelops-lock"
_DRIVERS = {"postgresql": "modelops-mlflow[postgres]", "mysql": "modelops-mlflow[mysql]"}
#: How long a process waits for MySQL's named lock (seconds): MLflow's migrations on a
#: fresh database take a few seconds.
MYSQL_LOCK_TIMEOUT = 600

_opened: set[str] = set()
_opening = threading.Lock()


def dialect(uri: str) -> str | None:
    """The database kind of an MLflow store URI (``postgresql`` for ``postgresql+psycopg://``
    too), or None when it names no database (a server, a folder, Databricks)."""
    from mlflow.utils.uri import extract_db_type_from_uri

    try:
        return extract_db_type_from_uri(uri)
    except Exception:
        return None


def open_client(make: Callable[[], Any], tracking_uri: str, registry_uri: str) -> Any:
    """``make()`` (an ``MlflowClient`` on the two URIs) with its tracking and registry stores
    open: the first time in this process on a database, holding that database's lock (see
    the module docstring); MLflow's client opens its tracking store as it is made."""
    databases = [uri for uri in dict.fromkeys((tracking_uri, registry_uri))
                 if uri not in _opened and dialect(uri) is not None]
    if not databases:
        return make()
    with _opening, contextlib.ExitStack() as held:  # this process's other threads wait too
        for uri in databases:
            held.enter_context(opening_errors(uri))
            held.enter_context(_creating(uri))
        client = make()
        client._get_registry_client().store  # noqa: B018 - opens the registry's store
        _opened.update(databases)
    return client


@contextlib.contextmanager
def opening_errors(uri: str) -> Iterator[None]:
    """Re-raise what opening the database ``uri`` raised as a modelops error."""
    try:
        yield
    except ModelOpsError:
        raise
    except ImportError as exc:
        kind = dialect(uri) or ""
        feature = f"an MLflow store on {kind or 'this database'}"
        package = _DRIVERS.get(kind, exc.name or "the database's driver")
        if exc.name == "MySQLdb":  # SQLAlchemy's default driver for mysql://, compiled
            feature += ' (or write mysql+pymysql:// and pip install "modelops-mlflow[mysql]")'
            package = "mysqlclient"
        raise MissingDependency(feature, package) from exc
    except Exception as exc:
        message = getattr(exc, "message", None) or str(exc)
        raise StoreError(f"opening the MLflow database {hide_password(uri)}: "
                         f"{type(exc).__name__}: {message}") from exc


@contextlib.contextmanager
def _creating(uri: str) -> Iterator[None]:
    """Hold the lock of the database ``uri`` while MLflow may create or migrate its tables:
    not at all when they are at MLflow's newest revision already, and not after another
    process brought them there while this one waited."""
    if _at_head(uri):
        yield
        return
    with _schema_lock(uri):
        if not _at_head(uri):
            yield
            return
    yield


def _at_head(uri: str) -> bool:
    """Whether the database ``uri`` holds MLflow's tables at the revision this MLflow
    expects (then opening it creates and migrates nothing)."""
    import sqlalchemy
    from sqlalchemy.pool import NullPool

    try:
        engine = sqlalchemy.create_engine(uri, poolclass=NullPool)
    except Exception:
        return False
    try:
        with engine.connect() as conn:
            found = conn.exec_driver_sql("SELECT version_num FROM alembic_version").fetchall()
        return [row[0] for row in found] == [_head()]
    except Exception:
        return False  # no table yet, no database yet, or no answer: the locked way says
    finally:
        engine.dispose()


@functools.cache
def _head() -> str:
    from mlflow.store.db.utils import _get_latest_schema_revision

    return str(_get_latest_schema_revision())


@contextlib.contextmanager
def _schema_lock(uri: str) -> Iterator[None]:
    kind = dialect(uri)
    if kind == "postgresql":
        with _advisory_lock(uri):
            yield
    elif kind == "mysql":
        with _named_lock(uri):
            yield
    elif kind == "sqlite":
        with _file_lock(uri):
            yield
    else:
        yield


@contextlib.contextmanager
def _own_connection(uri: str) -> Iterator[Any]:
    """A connection of its own (autocommit) to the database ``uri``: a session-level lock
    taken on it is released when it closes, also when this process dies."""
    import sqlalchemy
    from sqlalchemy.pool import NullPool

    engine = sqlalchemy.create_engine(uri, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


@contextlib.contextmanager
def _advisory_lock(uri: str) -> Iterator[None]:
    """PostgreSQL's advisory lock ``ADVISORY_KEY`` in the database ``uri``."""
    with _own_connection(uri) as conn:
        conn.exec_driver_sql(f"SELECT pg_advisory_lock({ADVISORY_KEY})")
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                conn.exec_driver_sql(f"SELECT pg_advisory_unlock({ADVISORY_KEY})")


@contextlib.contextmanager
def _named_lock(uri: str) -> Iterator[None]:
    """MySQL's named lock for the database of ``uri`` (names are server-wide, so the
    database's name is in it)."""
    with _own_connection(uri) as conn:
        name = f"modelops-schema.{conn.engine.url.database}"[:64]  # MySQL's limit for a name
        got = conn.exec_driver_sql("SELECT GET_LOCK(%s, %s)",
                                   (name, MYSQL_LOCK_TIMEOUT)).scalar()
        if got != 1:
            raise StoreError(f"MLflow database {hide_password(uri)}: another process held "
                             f"the schema lock for {MYSQL_LOCK_TIMEOUT} s")
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                conn.exec_driver_sql("SELECT RELEASE_LOCK(%s)", (name,))


@contextlib.contextmanager
def _file_lock(uri: str) -> Iterator[None]:
    """An ``flock`` of the lock file beside the sqlite database of ``uri``; none for an
    in-memory database, on Windows, or where the file cannot be made (a read-only folder,
    where MLflow cannot create its tables either)."""
    from sqlalchemy.engine import make_url

    database = make_url(uri).database
    if fcntl is None or not database or database == ":memory:" \
            or database.startswith("file:"):
        yield
        return
    path = os.path.abspath(database) + LOCK_SUFFIX
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)  # as MLflow does for the database
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock
