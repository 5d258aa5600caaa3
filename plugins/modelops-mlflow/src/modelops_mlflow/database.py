"""The registry's reads and event writes straight on an MLflow sqlite database.

Through MLflow's client each call is a transaction of its own, and on sqlite most of its
2 to 4 ms goes to MLflow's ORM rather than to the database. A promote needs several calls (the
event, a stage tag per version it moves, the aliases, the mark that all is mirrored) and
each read (the model, its aliases, the trail) another. On a database that MLflow's own
single-workspace SQL store opens, the registry store therefore reads with plain SELECTs and
writes an event together with everything it mirrors in one transaction; ``BEGIN IMMEDIATE``
takes the database's write lock first, so the writer reads a trail no one else is appending
to. Versions are still created by MLflow's ``create_model_version``, which numbers them.

Only rows MLflow's own calls write are written, with the same keys: a trail event is a row
of ``params`` (``log_batch``), the mirrored mark one of ``tags`` (``set_tag``), stage tags
rows of ``model_version_tags`` (``set_model_version_tag``), aliases rows of
``registered_model_aliases`` (``set_registered_model_alias``), none of which touches a
timestamp in MLflow either. :meth:`Database.open` checks that the tables have the columns
these statements name (``workspace`` included, when MLflow's schema has it); otherwise, and
for any other kind of MLflow store, it returns None and the store uses MLflow's client alone.
The connection option ``direct_sql=False`` asks for the client alone too.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
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


class Database:
    """One MLflow sqlite database, for the registry's reads and its event transactions."""

    def __init__(self, path: str, workspace: str | None) -> None:
        self.path = path
        # With MLflow's workspace column, every registry row names the workspace.
        self.workspace = workspace
        # A connection per thread, kept open: a new one reads the schema of MLflow's tables
        # again before its first statement, which costs more than the statements.
        self._local = threading.local()

    @classmethod
    def open(cls, client: Any) -> Database | None:
        """The database behind ``client`` when both its stores are MLflow's single-workspace
        SQL store on one sqlite file whose tables have the expected columns, else None."""
        try:
            from mlflow.store.model_registry.sqlalchemy_store import (
                SqlAlchemyStore as RegistrySql,
            )
            from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore as TrackingSql
            from mlflow.utils.validation import (  # noqa: F401 - checked to be there
                _validate_model_alias_name,
                _validate_model_alias_name_reserved,
            )
        except ImportError:
            return None
        registry = client._get_registry_client().store
        tracking = client._tracking_client.store
        if type(registry) is not RegistrySql or type(tracking) is not TrackingSql:
            return None
        if registry.db_type != "sqlite" or getattr(registry, "read_engine", None) is not None:
            return None
        url = registry.engine.url
        if url != tracking.engine.url or url.query or url.database in (None, "", ":memory:"):
            return None
        path = os.path.abspath(url.database)  # the file SQLAlchemy opens for MLflow
        try:
            with contextlib.closing(sqlite3.connect(path)) as conn:
                columns = {table: {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
                           for table in _COLUMNS}
        except sqlite3.Error:
            return None
        if any(not wanted <= columns[table] for table, wanted in _COLUMNS.items()):
            return None
        workspaced = {"workspace" in columns[t] for t in _WORKSPACED}
        if workspaced == {False}:
            return cls(path, None)
        active = getattr(registry, "_get_active_workspace", None)
        return cls(path, active()) if workspaced == {True} and active else None

    # -- connections ------------------------------------------------------------------------

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection (a forked child opens its own)."""
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
    def reading(self) -> Iterator[Reader]:
        """Reads in one snapshot of the database (the open transaction's, inside one)."""
        with self._connect() as conn:
            if conn.in_transaction:
                yield Reader(conn, self.workspace)
                return
            conn.execute("BEGIN")
            try:
                yield Reader(conn, self.workspace)
            finally:
                self._end(conn)

    @contextlib.contextmanager
    def writing(self) -> Iterator[Writer]:
        """One transaction holding the database's write lock from its start; committed when
        the block ends, rolled back when it raises."""
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield Writer(conn, self.workspace)
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


class Reader:
    """SELECTs of the rows MLflow's client would return."""

    def __init__(self, conn: sqlite3.Connection, workspace: str | None) -> None:
        self.conn = conn
        self.workspace = workspace

    def _in(self, alias: str = "") -> tuple[str, tuple[str, ...]]:
        """The workspace condition for a registry table (aliased ``alias``) and its value."""
        if self.workspace is None:
            return "", ()
        return f" AND {alias}workspace = ?", (self.workspace,)

    def model(self, name: str) -> ModelRow:
        """The registered model ``name``; NotFound if there is none."""
        ws, arg = self._in()
        row = self.conn.execute(
            "SELECT name, description, creation_time, last_updated_time FROM registered_models"
            f" WHERE name = ?{ws}", (name, *arg)).fetchone()
        if row is None:
            raise NotFound(f"no model named {name!r}")
        tags = dict(self.conn.execute(
            f"SELECT key, value FROM registered_model_tags WHERE name = ?{ws}", (name, *arg)))
        return ModelRow(name=row[0], tags=tags, aliases=self.aliases(name), description=row[1],
                        creation_timestamp=row[2], last_updated_timestamp=row[3])

    def aliases(self, name: str) -> dict[str, str]:
        """MLflow alias -> version number of ``name``."""
        ws, arg = self._in()
        return {alias: str(version) for alias, version in self.conn.execute(
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
        rows = self.conn.execute(
            "SELECT v.version, v.source, v.run_id, v.description, v.creation_time, v.user_id"
            f" FROM model_versions v WHERE {where} ORDER BY v.version", args).fetchall()
        if not rows:
            return []
        tags: dict[int, dict[str, str]] = {row[0]: {} for row in rows}
        tws, targ = self._in("t.")
        for version, key, value in self.conn.execute(
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
        return dict(self.conn.execute(
            "SELECT v.version, t.value FROM model_versions v LEFT JOIN model_version_tags t"
            f" ON t.name = v.name AND t.version = v.version AND t.key = ?{on}"
            f" WHERE v.name = ? AND v.current_stage != ? AND v.version > ?{ws}",
            (key, name, _DELETED, after, *arg)))

    def has_param(self, run_id: str, key: str) -> bool:
        return self.conn.execute("SELECT 1 FROM params WHERE run_uuid = ? AND key = ?",
                                 (run_id, key)).fetchone() is not None

    def param(self, run_id: str, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM params WHERE run_uuid = ? AND key = ?",
                                (run_id, key)).fetchone()
        return None if row is None else row[0]

    def trail(self, run_id: str, after: str, mirrored_tag: str) -> TrailRow:
        """The params of the run ``run_id`` whose keys sort after ``after``, its tag
        ``mirrored_tag`` as a number (0 when unset) and its experiment."""
        run = self.conn.execute("SELECT experiment_id FROM runs WHERE run_uuid = ?",
                                (run_id,)).fetchone()
        if run is None:
            raise NotFound(f"no run {run_id}")
        params = dict(self.conn.execute(
            "SELECT key, value FROM params WHERE run_uuid = ? AND key > ?", (run_id, after)))
        mark = self.conn.execute("SELECT value FROM tags WHERE run_uuid = ? AND key = ?",
                                 (run_id, mirrored_tag)).fetchone()
        return TrailRow(params=params, mirrored=int(mark[0]) if mark else 0,
                        experiment_id=str(run[0]))


class Writer(Reader):
    """The writes of one transaction; reads inside it see them."""

    def add_param(self, run_id: str, key: str, value: str) -> None:
        """Log the param ``key`` of a live run; Conflict when the run has it already."""
        run = self.conn.execute("SELECT lifecycle_stage FROM runs WHERE run_uuid = ?",
                                (run_id,)).fetchone()
        if run is None:
            raise NotFound(f"no run {run_id}")
        if run[0] != "active":
            raise StoreError(f"run {run_id}, which holds the history, is deleted in MLflow; "
                             "restore it (mlflow runs restore) to record changes")
        try:
            self.conn.execute("INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)",
                              (key, value, run_id))
        except sqlite3.IntegrityError as exc:
            raise Conflict(f"run {run_id} has the param {key!r} already") from exc

    def set_run_tag(self, run_id: str, key: str, value: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO tags (key, value, run_uuid) VALUES (?, ?, ?)",
                          (key, value, run_id))

    def _live(self, name: str, number: int) -> bool:
        ws, arg = self._in()
        return self.conn.execute(
            "SELECT 1 FROM model_versions WHERE name = ? AND version = ? AND current_stage != ?"
            f"{ws}", (name, number, _DELETED, *arg)).fetchone() is not None

    def _put(self, table: str, row: dict[str, Any]) -> None:
        """Insert ``row`` into ``table``, replacing the row with the same key."""
        if self.workspace:
            row = {"workspace": self.workspace, **row}
        self.conn.execute(f"INSERT OR REPLACE INTO {table} ({', '.join(row)}) "
                          f"VALUES ({', '.join('?' * len(row))})", tuple(row.values()))

    def set_version_tag(self, name: str, number: int, key: str, value: str) -> None:
        """Set a tag of a live version (a version deleted meanwhile is left alone)."""
        if self._live(name, number):
            self._put("model_version_tags",
                      {"name": name, "version": number, "key": key, "value": value})

    def set_alias(self, name: str, alias: str, number: int) -> None:
        """Point ``alias`` at a live version; InvalidInput for a name MLflow refuses."""
        from mlflow.exceptions import MlflowException
        from mlflow.utils.validation import (
            _validate_model_alias_name,
            _validate_model_alias_name_reserved,
        )

        try:
            _validate_model_alias_name(alias)
            _validate_model_alias_name_reserved(alias)
        except MlflowException as exc:
            raise InvalidInput(exc.message, field="alias") from exc
        if self._live(name, number):
            self._put("registered_model_aliases",
                      {"name": name, "alias": alias, "version": number})

    def delete_alias(self, name: str, alias: str) -> None:
        ws, arg = self._in()
        self.conn.execute(f"DELETE FROM registered_model_aliases WHERE name = ? AND alias = ?"
                          f"{ws}", (name, alias, *arg))
