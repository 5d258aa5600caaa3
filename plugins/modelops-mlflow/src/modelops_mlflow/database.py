"""The registry's reads and event writes straight on MLflow's database (sqlite, PostgreSQL,
MySQL).

Through MLflow's client each call is a transaction of its own, and most of its time goes to
MLflow's ORM (on sqlite) or to the round trips of its several statements and commits (on
PostgreSQL) rather than to the work. A promote needs several calls (the event, a stage tag
per version it moves, the aliases, the mark that all is mirrored) and each read (the model,
its aliases, the trail) another. On a database that MLflow's own single-workspace SQL store
opens, the registry store therefore reads with plain SELECTs and writes an event together
with everything it mirrors in one transaction. Versions are still created by MLflow's
``create_model_version``, which numbers them.

Where sqlite relied on its single writer, PostgreSQL and MySQL take row locks:

- sqlite: ``BEGIN IMMEDIATE`` takes the database's write lock first, so the writer reads a
  trail no one else is appending to. Reads run in one deferred transaction (a snapshot).
- PostgreSQL (through SQLAlchemy, with MLflow's driver: psycopg by default): a write
  transaction (READ COMMITTED) starts by locking the trail run's row of ``runs``
  (``FOR NO KEY UPDATE``), so modelops' writers of one model take turns while MLflow's own
  writes, whose foreign keys only share-lock that row, go on; each later statement sees
  what committed before it. An event's param is inserted ``ON CONFLICT DO NOTHING``: a
  sequence number someone else claimed inserts nothing, and the claim fails as Conflict; so
  does a transaction the database aborts for a deadlock, which the registry tries again.
  Reads that must agree with each other (a model's aliases and its trail) run in one
  REPEATABLE READ, READ ONLY transaction (a snapshot); others statement by statement.
- MySQL and MariaDB (InnoDB, through SQLAlchemy with PyMySQL or mysqlclient): the same, a
  write transaction READ COMMITTED (set for it, whatever the server's default) locking the
  trail run's row ``FOR UPDATE``; an event's param is inserted ``… WHERE NOT EXISTS`` (MySQL
  has no ``ON CONFLICT``, and ``INSERT IGNORE`` would also truncate a value too long);
  upserts are ``ON DUPLICATE KEY UPDATE``; the column ``key``, a reserved word there, is
  quoted. A deadlock, a lock wait timeout or a duplicate key is a Conflict, tried again.

Only rows MLflow's own calls write are written, with the same keys: a trail event is a row
of ``params`` (``log_batch``), the mirrored mark one of ``tags`` (``set_tag``), stage tags
and users' version tags rows of ``model_version_tags`` (``set_model_version_tag``,
``delete_model_version_tag``), users' model tags rows of ``registered_model_tags``, aliases
rows of ``registered_model_aliases`` (``set_registered_model_alias``), none of which touches
a timestamp in MLflow either. :meth:`Database.open` checks that the tables have the columns
these statements name (``workspace`` included, when MLflow's schema has it) and the primary
keys they rely on; otherwise, for any other database (SQL Server quotes and upserts
differently) and for any other kind of MLflow store, it returns None and the store uses
MLflow's client alone. The connection option ``direct_sql=False`` asks for the client alone
too.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator
from typing import Any

import attrs

from modelops.errors import Conflict, InvalidInput, NotFound, StoreError

_DELETED = "Deleted_Internal"  # MLflow's stage of a deleted version (its number stays taken)
_BUSY_TIMEOUT_MS = 20_000  # as MLflow's own sessions on sqlite
_WORKSPACED = ("registered_models", "registered_model_tags", "registered_model_aliases",
               "model_versions", "model_version_tags")
_COLUMNS = {
    "registered_models": {"name", "creation_time", "last_updated_time", "description"},
    "registered_model_tags": {"name", "key", "value"},
    "registered_model_aliases": {"name", "alias", "version"},
    "model_versions": {"name", "version", "creation_time", "description", "user_id",
                       "current_stage", "source", "run_id"},
    "model_version_tags": {"name", "version", "key", "value"},
    "runs": {"run_uuid", "lifecycle_stage", "experiment_id"},
    "params": {"key", "value", "run_uuid"},
    "tags": {"key", "value", "run_uuid"},
}
#: The primary keys that the upserts name and that make an event's param a one-time claim
#: (with ``workspace`` too where the table has it).
_KEYS = {
    "params": {"key", "run_uuid"},
    "tags": {"key", "run_uuid"},
    "registered_model_tags": {"key", "name"},
    "model_version_tags": {"key", "name", "version"},
    "registered_model_aliases": {"name", "alias"},
}
#: PostgreSQL's deadlock and serialization failures: the transaction was rolled back whole.
_TRY_AGAIN = ("40P01", "40001")
# MySQL's deadlock, lock wait timeout, and a duplicate key (an event's param another writer
# inserted first, between this one's check and its insert).
_MYSQL_TRY_AGAIN = (1213, 1205, 1062)


@attrs.frozen
class ModelRow:
    """A registered model as read from the database (the attributes of MLflow's own)."""

    name: str
    tags: dict[str, str]
    aliases: dict[str, str]
    description: str | None
    creation_timestamp: int | None
    last_updated_timestamp: int | None


@attrs.frozen
class VersionRow:
    """A model version as read from the database (the attributes of MLflow's own)."""

    version: int
    tags: dict[str, str]
    source: str | None
    run_id: str | None
    description: str | None
    creation_timestamp: int | None
    user_id: str | None


@attrs.frozen
class TrailRow:
    """The params of a trail run (all, or those after a key), its mirrored mark and its
    experiment."""

    params: dict[str, str]
    mirrored: int
    experiment_id: str


def _alias_checks() -> tuple[Callable[[str], None], Callable[[str], None]] | None:
    """MLflow's own checks of an alias name (its characters and length; the reserved names),
    which a direct write of an alias runs as MLflow's store would; None in an MLflow that has
    neither name for them (MLflow 3.18 renamed ``_validate_model_alias_name*`` to
    ``_validate_alias_name*``)."""
    from mlflow.utils import validation

    for names in (("_validate_alias_name", "_validate_alias_name_reserved"),
                  ("_validate_model_alias_name", "_validate_model_alias_name_reserved")):
        found = [getattr(validation, name, None) for name in names]
        if all(found):
            return found[0], found[1]
    return None


class Database:
    """One MLflow database, for the registry's reads and its event transactions: a
    :class:`SqliteDatabase`, :class:`PostgresDatabase` or :class:`MysqlDatabase`, made by
    :meth:`open`."""

    #: SQLAlchemy's name of the database kind.
    dialect = ""

    def __init__(self, workspace: str | None = None) -> None:
        # With MLflow's workspace column, every registry row names the workspace.
        self.workspace = workspace
        # This thread's open transaction, which a read inside it reads through.
        self._local = threading.local()

    @classmethod
    def open(cls, client: Any) -> Database | None:
        """The database behind ``client`` when both its stores are MLflow's single-workspace
        SQL store on one sqlite, PostgreSQL or MySQL database whose tables have the expected
        columns and keys, else None."""
        try:
            from mlflow.store.model_registry.sqlalchemy_store import (
                SqlAlchemyStore as RegistrySql,
            )
            from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore as TrackingSql
        except ImportError:
            return None
        if _alias_checks() is None:
            return None
        registry = client._get_registry_client().store
        tracking = client._tracking_client.store
        if type(registry) is not RegistrySql or type(tracking) is not TrackingSql:
            return None
        if any(getattr(store, "read_engine", None) is not None
               for store in (registry, tracking)):
            return None
        url = registry.engine.url
        if url != tracking.engine.url:
            return None
        kinds: dict[str, Callable[[Any], Database | None]] = {
            "sqlite": SqliteDatabase.at, "postgresql": PostgresDatabase, "mysql": MysqlDatabase}
        make = kinds.get(registry.db_type)
        db = make(url) if make is not None else None
        if db is None:
            return None
        try:
            columns, keys = db.schema(list(_COLUMNS))
        except StoreError:
            db.close()
            return None
        workspaced = {"workspace" in columns[t] for t in _WORKSPACED}
        expected = all(wanted <= columns[table] for table, wanted in _COLUMNS.items()) and all(
            keys[table] == wanted | ({"workspace"} & columns[table])
            for table, wanted in _KEYS.items())
        active = getattr(registry, "_get_active_workspace", None)
        if not expected or len(workspaced) > 1 or (workspaced == {True} and not active):
            db.close()
            return None
        db.workspace = active() if workspaced == {True} else None
        return db

    def schema(self, tables: list[str]) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
        """The columns and the primary-key columns of each of ``tables`` (empty sets for a
        table that is not there)."""
        raise NotImplementedError

    def _transaction(self, write: bool, snapshot: bool = True
                     ) -> contextlib.AbstractContextManager[Callable[..., Any]]:
        """A transaction (holding the write lock or row locks it needs when ``write``; reading
        one snapshot when ``snapshot``), yielding ``execute(sql, args)``; committed when the
        block ends, rolled back when it raises."""
        raise NotImplementedError

    @contextlib.contextmanager
    def reading(self, snapshot: bool = False) -> Iterator[Reader]:
        """Reads; with ``snapshot``, all in one snapshot of the database (inside an open
        transaction, all of them that transaction's). Without, each statement may see what
        committed before it (on sqlite, one snapshot all the same: it costs nothing there;
        on PostgreSQL the BEGIN and COMMIT are round trips of their own)."""
        held = getattr(self._local, "open", None)
        if held is not None:
            yield held
            return
        with self._transaction(write=False, snapshot=snapshot) as execute:
            self._local.open = reader = Reader(execute, self)
            try:
                yield reader
            finally:
                self._local.open = None

    @contextlib.contextmanager
    def writing(self) -> Iterator[Writer]:
        """One transaction that writes an event and what it mirrors; committed when the block
        ends, rolled back when it raises."""
        with self._transaction(write=True) as execute:
            self._local.open = writer = Writer(execute, self)
            try:
                yield writer
            finally:
                self._local.open = None

    def close(self) -> None:
        """Close the connections this object opened (in this process)."""


class SqliteDatabase(Database):
    """An MLflow sqlite database, through Python's ``sqlite3`` (a connection per thread)."""

    dialect = "sqlite"

    def __init__(self, path: str, workspace: str | None = None) -> None:
        super().__init__(workspace)
        self.path = path

    @classmethod
    def at(cls, url: Any) -> SqliteDatabase | None:
        """The database file of the SQLAlchemy URL ``url``; None for an in-memory one or a
        URL with options."""
        if url.query or url.database in (None, "", ":memory:"):
            return None
        return cls(os.path.abspath(url.database))  # the file SQLAlchemy opens for MLflow

    def schema(self, tables: list[str]) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
        columns: dict[str, set[str]] = {}
        keys: dict[str, set[str]] = {}
        with self._connect() as conn:
            for table in tables:
                info = conn.execute(f"PRAGMA table_info({table})").fetchall()
                columns[table] = {row[1] for row in info}
                keys[table] = {row[1] for row in info if row[5]}
        return columns, keys

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection, kept open: a new one reads the schema of MLflow's tables
        again before its first statement, which costs more than the statements (a forked
        child opens its own)."""
        held = getattr(self._local, "conn", None)
        try:
            if held is None or held[0] != os.getpid():
                conn = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_MS / 1000,
                                       isolation_level=None)
                conn.execute("PRAGMA foreign_keys = ON")
                self._local.conn = held = (os.getpid(), conn)
            yield held[1]
        except sqlite3.Error as exc:
            raise StoreError(f"MLflow database {self.path}: {exc}") from exc

    @contextlib.contextmanager
    def _transaction(self, write: bool, snapshot: bool = True
                     ) -> Iterator[Callable[..., Any]]:
        with self._connect() as conn:
            # BEGIN IMMEDIATE takes the write lock first: no one appends meanwhile.
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield conn.execute
                if write:
                    conn.execute("COMMIT")
            finally:
                self._end(conn)

    def _end(self, conn: sqlite3.Connection) -> None:
        """Roll back what is still open; a connection that cannot is dropped."""
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                self.close()

    def close(self) -> None:
        """Close this thread's connection."""
        held = getattr(self._local, "conn", None)
        self._local.conn = None
        if held is not None and held[0] == os.getpid():
            held[1].close()


class ServerDatabase(Database):
    """An MLflow database on a server (PostgreSQL, MySQL), through SQLAlchemy with MLflow's
    driver, on a pool of connections of its own (per process)."""

    #: The statements that begin a write transaction, and a read in one snapshot.
    BEGIN_WRITE: tuple[str, ...] = ()
    BEGIN_SNAPSHOT: tuple[str, ...] = ()
    #: The names of a table's columns, and of its primary key's columns.
    COLUMNS_SQL = ""
    KEYS_SQL = ""

    def __init__(self, url: Any, workspace: str | None = None) -> None:
        super().__init__(workspace)
        self.url = url
        self._engine: Any = None
        self._pid = 0

    @property
    def engine(self) -> Any:
        """This process's engine (a forked child makes its own: sockets are not shared)."""
        if self._engine is None or self._pid != os.getpid():
            import sqlalchemy

            # Transactions are begun and ended by statements of their own, which name their
            # isolation; the driver's are off (autocommit).
            self._engine = sqlalchemy.create_engine(self.url, isolation_level="AUTOCOMMIT")
            self._pid = os.getpid()
        return self._engine

    def schema(self, tables: list[str]) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
        columns: dict[str, set[str]] = {}
        keys: dict[str, set[str]] = {}
        with self._transaction(write=False) as execute:
            for table in tables:
                columns[table] = {row[0] for row in execute(self.COLUMNS_SQL, (table,))}
                keys[table] = {row[0] for row in execute(self.KEYS_SQL, (table,))}
        return columns, keys

    @contextlib.contextmanager
    def _transaction(self, write: bool, snapshot: bool = True
                     ) -> Iterator[Callable[..., Any]]:
        begin = self.BEGIN_WRITE if write else self.BEGIN_SNAPSHOT if snapshot else ()
        error = self.engine.dialect.loaded_dbapi.Error
        conn = self.engine.raw_connection()  # the driver's connection, as the pool lends it
        first = True

        def execute(sql: str, args: tuple[Any, ...] = ()) -> Any:
            # Statements go to the driver directly, the cheapest way. No ping when a
            # connection is taken from the pool: the first statement (BEGIN, or the only
            # statements of a read outside a transaction) is tried again on a new connection
            # when the pooled one broke (the server restarted, say).
            nonlocal conn, first
            was_first, first = first, False
            try:
                cursor = conn.cursor()
                cursor.execute(sql, args)
                return cursor
            except error as exc:
                if not was_first or not self.engine.dialect.is_disconnect(
                        exc, conn.dbapi_connection, None):
                    raise
                conn.invalidate()
                conn = self.engine.raw_connection()
                cursor = conn.cursor()
                cursor.execute(sql, args)
                return cursor

        try:
            for statement in begin:
                execute(statement)
            yield execute
            if begin:
                execute("COMMIT")
        except BaseException as exc:
            if begin:
                try:
                    execute("ROLLBACK")
                except error:
                    conn.invalidate()  # never back into the pool inside a transaction
            if isinstance(exc, error):
                raise self._error(exc) from exc
            raise
        finally:
            conn.close()  # back into the pool

    def _error(self, orig: Any) -> Exception:
        """The modelops error for the driver's error ``orig``: Conflict when the database
        rolled the change back for meeting another one (to be tried again)."""
        where = f"MLflow database {self.url.render_as_string(hide_password=True)}"
        if self._met_another(orig):
            return Conflict(f"{where}: the change met another one and was rolled back "
                            f"({orig})")
        return StoreError(f"{where}: {orig}")

    def _met_another(self, orig: Any) -> bool:
        raise NotImplementedError

    def close(self) -> None:
        """Close the pool's connections (a forked child leaves its parent's alone)."""
        engine, self._engine = self._engine, None
        if engine is not None:
            engine.dispose(close=self._pid == os.getpid())


class PostgresDatabase(ServerDatabase):
    """An MLflow PostgreSQL database (psycopg by default)."""

    dialect = "postgresql"
    BEGIN_WRITE = ("BEGIN",)
    BEGIN_SNAPSHOT = ("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",)
    # The tables MLflow's statements find on the search path.
    COLUMNS_SQL = ("SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s)"
                   " AND attnum > 0 AND NOT attisdropped")
    KEYS_SQL = ("SELECT a.attname FROM pg_index i JOIN pg_attribute a"
                " ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
                " WHERE i.indrelid = to_regclass(%s) AND i.indisprimary")

    def _met_another(self, orig: Any) -> bool:
        code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
        return code in _TRY_AGAIN


class MysqlDatabase(ServerDatabase):
    """An MLflow MySQL or MariaDB database (InnoDB; PyMySQL or mysqlclient). Writes run READ
    COMMITTED, as on PostgreSQL, whatever the server's default; snapshot reads REPEATABLE
    READ with a consistent snapshot taken at once."""

    dialect = "mysql"
    BEGIN_WRITE = ("SET TRANSACTION ISOLATION LEVEL READ COMMITTED", "START TRANSACTION")
    BEGIN_SNAPSHOT = ("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ",
                      "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
    COLUMNS_SQL = ("SELECT column_name FROM information_schema.columns"
                   " WHERE table_schema = DATABASE() AND table_name = %s")
    KEYS_SQL = ("SELECT column_name FROM information_schema.key_column_usage"
                " WHERE table_schema = DATABASE() AND table_name = %s"
                " AND constraint_name = 'PRIMARY'")

    def _met_another(self, orig: Any) -> bool:
        code = orig.args[0] if getattr(orig, "args", None) else None
        return code in _MYSQL_TRY_AGAIN


class Reader:
    """SELECTs of the rows MLflow's client would return, in one transaction."""

    def __init__(self, execute: Callable[..., Any], database: Database) -> None:
        self._execute = execute
        self.workspace = database.workspace
        self._dialect = database.dialect

    def _q(self, sql: str, args: tuple[Any, ...] | list[Any] = ()) -> Any:
        """Run ``sql`` (parameters written ``?``, sqlite's way) with ``args``; the cursor."""
        return self._execute(_in_dialect(sql, self._dialect), tuple(args))

    def _in(self, alias: str = "") -> tuple[str, tuple[str, ...]]:
        """The workspace condition for a registry table (aliased ``alias``) and its value."""
        if self.workspace is None:
            return "", ()
        return f" AND {alias}workspace = ?", (self.workspace,)

    def model(self, name: str) -> ModelRow:
        """The registered model ``name`` with its tags and aliases (one statement); NotFound
        if there is none."""
        ws, arg = self._in()
        found: tuple[Any, ...] | None = None
        tags: dict[str, str] = {}
        aliases: dict[str, str] = {}
        for kind, key, value, number, updated in self._q(
                "SELECT 0, name, description, creation_time, last_updated_time FROM"
                f" registered_models WHERE name = ?{ws} UNION ALL"
                " SELECT 1, key, value, NULL, NULL FROM registered_model_tags"
                f" WHERE name = ?{ws} UNION ALL"
                " SELECT 2, alias, NULL, version, NULL FROM registered_model_aliases"
                f" WHERE name = ?{ws}", (name, *arg) * 3):
            if kind == 0:
                found = (key, value, number, updated)
            elif kind == 1:
                tags[key] = value
            else:
                aliases[key] = str(number)
        if found is None:
            raise NotFound(f"no model named {name!r}")
        return ModelRow(name=found[0], tags=tags, aliases=aliases, description=found[1],
                        creation_timestamp=found[2], last_updated_timestamp=found[3])

    def aliases(self, name: str) -> dict[str, str]:
        """MLflow alias -> version number of ``name``."""
        ws, arg = self._in()
        return {alias: str(version) for alias, version in self._q(
            f"SELECT alias, version FROM registered_model_aliases WHERE name = ?{ws}",
            (name, *arg))}

    def versions(self, name: str, *, after: int = 0, number: int | None = None,
                 tag: tuple[str, str] | None = None) -> list[VersionRow]:
        """The live versions of ``name`` numbered above ``after`` (or the one numbered
        ``number``; or those whose tag ``tag[0]`` is ``tag[1]``), with their tags, in number
        order."""
        ws, arg = self._in("v.")
        where, args = f"v.name = ? AND v.current_stage != ?{ws}", [name, _DELETED, *arg]
        if number is not None:
            where += " AND v.version = ?"
            args.append(number)
        else:
            where += " AND v.version > ?"
            args.append(after)
        if tag is not None:
            where += (" AND EXISTS (SELECT 1 FROM model_version_tags t WHERE t.name = v.name"
                      " AND t.version = v.version AND t.key = ? AND t.value = ?"
                      + (" AND t.workspace = v.workspace" if self.workspace else "") + ")")
            args.extend(tag)
        rows = self._q(
            "SELECT v.version, v.source, v.run_id, v.description, v.creation_time, v.user_id"
            f" FROM model_versions v WHERE {where} ORDER BY v.version", args).fetchall()
        if not rows:
            return []
        tags: dict[int, dict[str, str]] = {row[0]: {} for row in rows}
        tws, targ = self._in("t.")
        for version, key, value in self._q(
                "SELECT t.version, t.key, t.value FROM model_version_tags t"
                f" WHERE t.name = ? AND t.version >= ? AND t.version <= ?{tws}",
                (name, rows[0][0], rows[-1][0], *targ)):
            if version in tags:
                tags[version][key] = value
        return [VersionRow(version=row[0], tags=tags[row[0]], source=row[1], run_id=row[2],
                           description=row[3], creation_timestamp=row[4], user_id=row[5])
                for row in rows]

    def version_tags(self, name: str, key: str, after: int = 0) -> dict[int, str | None]:
        """Number -> value of the tag ``key`` (None: untagged) of the live versions of
        ``name`` numbered above ``after``."""
        ws, arg = self._in("v.")
        on = " AND t.workspace = v.workspace" if self.workspace else ""
        return dict(self._q(
            "SELECT v.version, t.value FROM model_versions v LEFT JOIN model_version_tags t"
            f" ON t.name = v.name AND t.version = v.version AND t.key = ?{on}"
            f" WHERE v.name = ? AND v.current_stage != ? AND v.version > ?{ws}",
            (key, name, _DELETED, after, *arg)))

    def has_param(self, run_id: str, key: str) -> bool:
        return self._q("SELECT 1 FROM params WHERE run_uuid = ? AND key = ?",
                                 (run_id, key)).fetchone() is not None

    def param(self, run_id: str, key: str) -> str | None:
        row = self._q("SELECT value FROM params WHERE run_uuid = ? AND key = ?",
                                (run_id, key)).fetchone()
        return None if row is None else row[0]

    def trail(self, run_id: str, after: str, mirrored_tag: str) -> TrailRow:
        """The params of the run ``run_id`` whose keys sort after ``after``, its tag
        ``mirrored_tag`` as a number (0 when unset) and its experiment."""
        run = self._q("SELECT experiment_id FROM runs WHERE run_uuid = ?",
                                (run_id,)).fetchone()
        if run is None:
            raise NotFound(f"no run {run_id}")
        params = dict(self._q(
            "SELECT key, value FROM params WHERE run_uuid = ? AND key > ?", (run_id, after)))
        mark = self._q("SELECT value FROM tags WHERE run_uuid = ? AND key = ?",
                                 (run_id, mirrored_tag)).fetchone()
        return TrailRow(params=params, mirrored=int(mark[0]) if mark else 0,
                        experiment_id=str(run[0]))


class Writer(Reader):
    """The writes of one transaction; reads inside it see them."""

    def add_param(self, run_id: str, key: str, value: str) -> None:
        """Log the param ``key`` of a live run; Conflict when the run has it already. On a
        database server, locks the run's row first: modelops' writers of one trail take
        turns."""
        lock = _ROW_LOCK.get(self._dialect, "")
        run = self._q(f"SELECT lifecycle_stage FROM runs WHERE run_uuid = ?{lock}",
                      (run_id,)).fetchone()
        if run is None:
            raise NotFound(f"no run {run_id}")
        if run[0] != "active":
            raise StoreError(f"run {run_id}, which holds the history, is deleted in MLflow; "
                             "restore it (mlflow runs restore) to record changes")
        # Inserting nothing (rather than failing) keeps a PostgreSQL transaction usable.
        # MySQL's INSERT IGNORE would also turn a value too long into a truncated one.
        args: tuple[str, ...] = (key, value, run_id)
        if self._dialect == "postgresql":
            insert = ("INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)"
                      " ON CONFLICT DO NOTHING")
        elif self._dialect == "mysql":
            insert = ("INSERT INTO params (key, value, run_uuid) SELECT ?, ?, ? FROM DUAL"
                      " WHERE NOT EXISTS (SELECT 1 FROM params WHERE run_uuid = ? AND key = ?)")
            args += (run_id, key)
        else:
            insert = "INSERT OR IGNORE INTO params (key, value, run_uuid) VALUES (?, ?, ?)"
        if self._q(insert, args).rowcount != 1:
            raise Conflict(f"run {run_id} has the param {key!r} already")

    def set_run_tag(self, run_id: str, key: str, value: str) -> None:
        self._put("tags", {"key": key, "run_uuid": run_id}, {"value": value})

    def _put(self, table: str, key: dict[str, Any], values: dict[str, Any],
             version: tuple[str, int] | None = None) -> None:
        """Insert the row ``key`` + ``values`` into ``table``, replacing the row with the
        same key (``key`` is the table's primary key, with the workspace where it has one);
        with ``version`` (a model's name and a version number), only while that version is
        live (not deleted meanwhile), in the same statement."""
        if self.workspace and table in _WORKSPACED:
            key = {"workspace": self.workspace, **key}
        row = {**key, **values}
        args = tuple(row.values())
        if self._dialect == "mysql":  # its upsert names the inserted row by an alias
            selected = ", ".join(f"? AS {column}" for column in row)
            sql = (f"INSERT INTO {table} ({', '.join(row)}) SELECT * FROM (SELECT {selected})"
                   " AS incoming")
        else:
            sql = f"INSERT INTO {table} ({', '.join(row)}) SELECT {', '.join('?' * len(row))}"
        if version is not None:
            ws, arg = self._in()
            sql += (" WHERE EXISTS (SELECT 1 FROM model_versions WHERE name = ? AND version = ?"
                    f" AND current_stage != ?{ws})")
            args += (*version, _DELETED, *arg)
        if self._dialect == "postgresql":
            sql += (f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET "
                    + ", ".join(f"{column} = EXCLUDED.{column}" for column in values))
        elif self._dialect == "mysql":
            sql += " ON DUPLICATE KEY UPDATE " + ", ".join(
                f"{column} = incoming.{column}" for column in values)
        else:
            sql = sql.replace("INSERT", "INSERT OR REPLACE", 1)
        self._q(sql, args)

    def set_tag(self, name: str, number: int | None, key: str, value: str) -> None:
        """Set a tag of a live version (``number``; a version deleted meanwhile is left
        alone) or of the model (None)."""
        if number is None:
            self._put("registered_model_tags", {"key": key, "name": name}, {"value": value})
        else:
            self._put("model_version_tags", {"key": key, "name": name, "version": number},
                      {"value": value}, version=(name, number))

    def delete_tag(self, name: str, number: int | None, key: str) -> None:
        """Remove a tag of a version (``number``) or of the model (None)."""
        ws, arg = self._in()
        if number is None:
            self._q(f"DELETE FROM registered_model_tags WHERE name = ? AND key = ?{ws}",
                    (name, key, *arg))
        else:
            self._q("DELETE FROM model_version_tags WHERE name = ? AND version = ? AND key = ?"
                    f"{ws}", (name, number, key, *arg))

    def set_alias(self, name: str, alias: str, number: int) -> None:
        """Point ``alias`` at a live version; InvalidInput for a name MLflow refuses."""
        from mlflow.exceptions import MlflowException

        checks = _alias_checks()
        assert checks is not None   # Database.open found them
        try:
            for check in checks:
                check(alias)
        except MlflowException as exc:
            raise InvalidInput(exc.message, field="alias") from exc
        self._put("registered_model_aliases", {"name": name, "alias": alias},
                  {"version": number}, version=(name, number))

    def delete_alias(self, name: str, alias: str) -> None:
        ws, arg = self._in()
        self._q(f"DELETE FROM registered_model_aliases WHERE name = ? AND alias = ?{ws}",
                (name, alias, *arg))


#: The row lock a write takes on the trail run first, per database kind (sqlite's
#: transaction holds the whole database's write lock already).
_ROW_LOCK = {"postgresql": " FOR NO KEY UPDATE", "mysql": " FOR UPDATE"}
_KEY_COLUMN = re.compile(r"\bkey\b")


@functools.lru_cache(maxsize=512)
def _in_dialect(sql: str, dialect: str) -> str:
    """``sql`` (sqlite's way) as the database kind ``dialect`` takes it: ``?`` parameters
    written ``%s`` for the drivers of PostgreSQL and MySQL (no statement here holds a ``?``
    or ``%`` of its own), and MySQL's reserved word ``key``, a column of MLflow's tables,
    quoted."""
    if dialect == "sqlite":
        return sql
    sql = sql.replace("?", "%s")
    return _KEY_COLUMN.sub("`key`", sql) if dialect == "mysql" else sql
