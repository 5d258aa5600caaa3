"""One MLflow connection per store URI, and MLflow's errors said in modelops' words.

``mlflow+<mlflow uri>`` names an MLflow tracking URI: ``mlflow+sqlite:///path/mlflow.db``,
``mlflow+postgresql://user:pw@host/mlflow`` (the driver: ``modelops-mlflow[postgres]``),
``mlflow+http://host:5000``, ``mlflow+https://…``, ``mlflow+databricks`` (or
``mlflow+databricks://profile``). Everything after ``mlflow+`` goes to MLflow unchanged, so
any URI MLflow understands works. Options (``connect(..., storage_options={...})``):

- ``registry_uri``: another MLflow URI for the model registry (default: the tracking URI).
- ``artifact_root``: where experiments that modelops creates keep their artifacts. For a
  sqlite database the default is ``mlartifacts`` beside the database file (MLflow's own
  default, ``./mlruns`` in the working directory, would scatter them); for a server, the
  server's default artifact root.
- ``experiment_prefix``: put before the names of the experiments modelops creates for the
  registry's audit trail and for drift reports (``/Shared/`` on Databricks, whose
  experiment names are workspace paths).
- ``mlflow_model_layout``: write scikit-learn versions as MLflow models too (default True),
  see ``modelops_mlflow.layout``.
- ``direct_sql``: on a sqlite, PostgreSQL or MySQL database, let the registry read and write its
  events in SQL on MLflow's tables, one transaction per change (default True), see
  ``modelops_mlflow.database``; through a server running modelops' app, let the server do
  so, one request per registry read or change (``modelops_mlflow.server``); False goes
  through MLflow's client alone.
"""

from __future__ import annotations

import contextlib
import os
import urllib.parse
import warnings
from collections.abc import Iterator
from typing import Any

import attrs

from modelops.errors import (
    AlreadyExists,
    Conflict,
    InvalidInput,
    MissingDependency,
    NotFound,
    StoreError,
    StoreWarning,
)
from modelops.uri import StoreURI

SCHEME_PREFIX = "mlflow+"

#: Every option a ``mlflow+`` URI takes in ``storage_options``.
OPTIONS = ("registry_uri", "artifact_root", "experiment_prefix", "mlflow_model_layout",
           "direct_sql")


@attrs.frozen
class Connection:
    """What a store needs to reach MLflow: the URIs and the options, parsed once."""

    uri: str
    tracking_uri: str
    registry_uri: str
    artifact_root: str | None = None
    experiment_prefix: str = ""
    mlflow_model_layout: bool = True
    direct_sql: bool = True

    @classmethod
    def from_uri(cls, uri: StoreURI) -> Connection | None:
        """The connection a ``mlflow+…`` URI names, or None for other schemes."""
        if not uri.scheme.startswith(SCHEME_PREFIX):
            return None
        tracking = uri.uri[len(SCHEME_PREFIX):]
        if not tracking or tracking.startswith(":"):
            raise InvalidInput(f"expected an MLflow URI after 'mlflow+', got {uri.uri!r} "
                               "(for example mlflow+sqlite:///mlflow.db or "
                               "mlflow+http://127.0.0.1:5000)", field="uri")
        options = dict(uri.options)
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise InvalidInput(f"unknown option {unknown[0]!r} for an MLflow store; options "
                               f"are {', '.join(OPTIONS)}", field="storage_options")
        for key in ("registry_uri", "artifact_root", "experiment_prefix"):
            value = options.get(key)
            if value is not None and not isinstance(value, str):
                raise InvalidInput(f"expected a string, got {value!r}",
                                   field=f"storage_options[{key!r}]")
        for key in ("mlflow_model_layout", "direct_sql"):
            value = options.get(key, True)
            if not isinstance(value, bool):
                raise InvalidInput(f"expected True or False, got {value!r}",
                                   field=f"storage_options[{key!r}]")
        root = options.get("artifact_root") or _default_artifact_root(tracking)
        return cls(uri=uri.uri, tracking_uri=tracking,
                   registry_uri=options.get("registry_uri") or tracking, artifact_root=root,
                   experiment_prefix=options.get("experiment_prefix") or "",
                   mlflow_model_layout=options.get("mlflow_model_layout", True),
                   direct_sql=options.get("direct_sql", True))

    def client(self) -> Any:
        """A new ``mlflow.MlflowClient`` on these URIs, its stores open (on a database that
        lacks MLflow's tables, the first process to get here creates them; see
        ``modelops_mlflow.schema``)."""
        try:
            from mlflow.tracking import MlflowClient
        except ImportError:  # pragma: no cover - the distribution depends on mlflow
            raise MissingDependency("mlflow+ store URIs", "mlflow") from None
        from modelops_mlflow.schema import open_client

        for uri in dict.fromkeys((self.tracking_uri, self.registry_uri)):
            check_reachable(uri)
        return open_client(lambda: MlflowClient(tracking_uri=self.tracking_uri,
                                                registry_uri=self.registry_uri),
                           self.tracking_uri, self.registry_uri)

    def artifact_location(self, folder: str) -> str | None:
        """Where a new experiment keeps its artifacts (None: MLflow's default)."""
        if self.artifact_root is None:
            return None
        return f"{self.artifact_root.rstrip('/')}/{folder}"


#: Seconds a server gets to accept a connection before its store is said to be unreachable.
REACH_TIMEOUT = 10.0


def check_reachable(uri: str) -> None:
    """``StoreError`` naming the server of an ``http(s)://`` MLflow URI when nothing accepts a
    connection at its address: MLflow's client would retry for minutes before failing a
    request to a server that is not there (a wrong port, one not started). Only a direct
    connection is tried; through a proxy, the proxy answers for the server."""
    import socket
    import urllib.request

    from modelops.uri import hide_password

    parts = urllib.parse.urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return
    if parts.scheme in urllib.request.getproxies() and \
            not urllib.request.proxy_bypass(parts.hostname):
        return
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        socket.create_connection((parts.hostname, port), timeout=REACH_TIMEOUT).close()
    except (OSError, ValueError) as exc:   # ValueError: a port out of range
        raise StoreError(f"cannot reach the MLflow server at {hide_password(uri)}: "
                         f"{exc}") from None


def _default_artifact_root(tracking_uri: str) -> str | None:
    """``mlartifacts`` beside a sqlite database file, else None (the server decides)."""
    if not tracking_uri.startswith("sqlite:"):
        return None
    path = urllib.parse.urlparse(tracking_uri).path
    # sqlite:///relative.db has path "/relative.db"; sqlite:////abs.db has "//abs.db".
    path = path[1:] if path.startswith("/") else path
    if not path or path == ":memory:":
        return None
    directory = os.path.dirname(os.path.abspath(path))
    return "file://" + os.path.join(directory, "mlartifacts")


# -- MLflow's errors in modelops' words ---------------------------------------------------

def error_code(exc: BaseException) -> str:
    """The MLflow error code of ``exc`` (``RESOURCE_DOES_NOT_EXIST`` …), or ""."""
    code = getattr(exc, "error_code", "")
    return code if isinstance(code, str) else ""


def translate(exc: BaseException, what: str) -> Exception:
    """The modelops error for an MLflow failure while doing ``what``."""
    code = error_code(exc)
    message = getattr(exc, "message", None) or str(exc)
    text = f"{what}: {message}"
    if code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND", "ENDPOINT_NOT_FOUND"):
        return NotFound(text)
    if code in ("RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS"):
        return AlreadyExists(text)
    if code in ("INVALID_STATE", "ABORTED", "RESOURCE_CONFLICT"):
        return Conflict(text)
    if code == "INVALID_PARAMETER_VALUE":
        if "'active' state" in message or "non-active" in message:
            return Conflict(text)
        return InvalidInput(text)
    return StoreError(text)


@contextlib.contextmanager
def mlflow_errors(what: str) -> Iterator[None]:
    """Re-raise MLflow's (and its HTTP client's) errors as modelops errors."""
    try:
        yield
    except (InvalidInput, NotFound, AlreadyExists, Conflict, StoreError):
        raise
    except Exception as exc:
        from mlflow.exceptions import MlflowException

        if isinstance(exc, MlflowException):
            raise translate(exc, what) from exc
        if isinstance(exc, (OSError, ConnectionError)) or type(exc).__module__.startswith(
                ("requests", "urllib3", "sqlalchemy")):
            raise StoreError(f"{what}: {exc}") from exc
        raise


# -- records that do not read back ------------------------------------------------------

#: What decoding a record of the wrong shape raises (InvalidInput is a ValueError): the
#: tags, params and artifacts modelops keeps in MLflow can be edited by anyone.
DECODE_ERRORS = (TypeError, ValueError, KeyError, AttributeError, IndexError)


def skipped(error: StoreError) -> None:
    """Report a record a listing goes on without (the error names it)."""
    warnings.warn(f"modelops: skipped {error}", StoreWarning, stacklevel=3)
