"""modelops' app for ``mlflow server``: each registry read and each change one request.

Through MLflow's REST API every read and write is a request of its own: a promote takes ten
(the model, the trail, the version, the event, a tag per version it moves, the alias, the
mark that all is mirrored), where ``MlflowClient.set_registered_model_alias`` takes two.
Started as

    mlflow server --app-name modelops --backend-store-uri postgresql://…/mlflow …

(with ``modelops-mlflow`` installed beside MLflow), the server is MLflow's own, UI and REST
API unchanged, with these endpoints more, which run modelops' registry store inside the
server on its database, in SQL (``modelops_mlflow.database``):

- ``GET /api/2.0/modelops/registry/info``: whether they work here. They do on a server whose
  backend store (tracking and registry alike) is one sqlite or PostgreSQL database with the
  tables the store expects; on any other, clients use MLflow's API alone.
- ``POST …/events``: a model's events after a sequence number.
- ``POST …/read``: those events and the record of one version, read together.
- ``POST …/versions``: the numbers of a model's versions after a number, with their
  semantic versions (for choosing the next version and claiming it).
- ``POST …/append``: an event, claimed and mirrored onto MLflow's aliases and stage tags in
  one transaction. The client names the claim id, so a request sent again (MLflow's client
  retries on a lost connection) finds its own event and succeeds.

A ``mlflow+http(s)://`` store asks ``info`` once and then uses them
(``modelops_mlflow.remote``). An error answer names the kind of modelops error (NotFound,
AlreadyExists, Conflict, InvalidInput or StoreError), so a client raises what a store on the
database would.
"""

from __future__ import annotations

import functools
import os
import threading
import urllib.parse
from collections.abc import Callable
from typing import Any

from modelops.entities.registry_codec import event_from_data, to_data
from modelops.errors import (
    AlreadyExists,
    Conflict,
    InvalidInput,
    ModelOpsError,
    NotFound,
    StoreError,
)
from modelops_mlflow.connection import Connection
from modelops_mlflow.registry import PARAM_LIMIT, MlflowRegistryStore, event_text
from modelops_mlflow.remote import API, API_VERSION
from modelops_mlflow.schema import dialect


class _ServerRegistryStore(MlflowRegistryStore):
    """The registry store inside the server, which reads the artifacts it proxies (events
    too long for a param) from where it keeps them, not through its own HTTP API."""

    def _event_file(self, trail: str, path: str, dst: str) -> str:
        uri = self._artifact_uri(trail)
        if not uri.startswith("mlflow-artifacts:"):
            return super()._event_file(trail, path, dst)
        from mlflow.server.handlers import _get_artifact_repo_mlflow_artifacts

        root = urllib.parse.urlparse(uri).path.strip("/")
        return _get_artifact_repo_mlflow_artifacts().download_artifacts(f"{root}/{path}", dst)


# A modelops error as an answer: the kind a client raises again, its HTTP status, and
# MLflow's nearest error code (for other clients).
_ANSWERS = ((NotFound, 404, "RESOURCE_DOES_NOT_EXIST"), (AlreadyExists, 409, "RESOURCE_CONFLICT"),
            (Conflict, 409, "RESOURCE_CONFLICT"), (InvalidInput, 400, "INVALID_PARAMETER_VALUE"),
            (ModelOpsError, 400, "INVALID_STATE"))
_stores: dict[str, MlflowRegistryStore | None] = {}
_stores_lock = threading.Lock()


def create_app(app: Any = None) -> Any:
    """MLflow's server app with modelops' endpoints: the ``modelops`` entry of MLflow's
    ``mlflow.app`` group, which ``mlflow server --app-name modelops`` starts."""
    from mlflow.environment_variables import _MLFLOW_SGI_NAME
    from mlflow.server import app as mlflow_app

    app = mlflow_app if app is None else app
    for op, view, method in (("info", _info, "GET"), ("events", _events, "POST"),
                             ("read", _read, "POST"), ("versions", _versions, "POST"),
                             ("append", _append, "POST")):
        app.add_url_rule(f"{API}/{op}", endpoint=f"modelops_registry_{op}", view_func=view,
                         methods=[method])
    if _MLFLOW_SGI_NAME.get() == "uvicorn":  # MLflow's default server wraps Flask so too
        from mlflow.server.fastapi_app import create_fastapi_app

        return create_fastapi_app(app)
    return app


def _store(experiment_prefix: str = "") -> MlflowRegistryStore | None:
    """The registry store on the server's own database (one per experiment prefix), or None
    when that is not a sqlite, PostgreSQL or MySQL database the store can work on in SQL."""
    with _stores_lock:
        if experiment_prefix not in _stores:
            from mlflow.server import (
                ARTIFACT_ROOT_ENV_VAR,
                BACKEND_STORE_URI_ENV_VAR,
                REGISTRY_STORE_URI_ENV_VAR,
            )

            backend = os.environ.get(BACKEND_STORE_URI_ENV_VAR) or ""
            registry = os.environ.get(REGISTRY_STORE_URI_ENV_VAR) or backend
            store = None
            if dialect(backend) in ("sqlite", "postgresql", "mysql") and registry == backend:
                # Experiments made here (a trail for a model plain MLflow registered) keep
                # their artifacts where the server's own would.
                try:
                    store = _ServerRegistryStore(Connection(
                        uri="the MLflow server's database", tracking_uri=backend,
                        registry_uri=registry,
                        artifact_root=os.environ.get(ARTIFACT_ROOT_ENV_VAR),
                        experiment_prefix=experiment_prefix, mlflow_model_layout=False))
                except StoreError:
                    return None  # the database does not answer now: asked again next time
                if store._db is None:
                    store.close()
                    store = None
            _stores[experiment_prefix] = store
        return _stores[experiment_prefix]


def _json(data: dict[str, Any], status: int = 200) -> Any:
    from flask import jsonify

    response = jsonify(data)
    response.status_code = status
    return response


def _info() -> Any:
    return _json({"api": API_VERSION, "available": _store() is not None})


def _answer(view: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[[], Any]:
    """A view taking the request's JSON body; a modelops error becomes an answer naming its
    kind (``_ANSWERS``)."""

    @functools.wraps(view)
    def answer() -> Any:
        from flask import request

        try:
            body = request.get_json(silent=True)
            if not isinstance(body, dict):
                raise InvalidInput("expected a JSON object", field="body")
            return _json(view(body))
        except ModelOpsError as exc:
            kind, status, code = next(a for a in _ANSWERS if isinstance(exc, a[0]))
            if kind is ModelOpsError:
                kind = StoreError
            return _json({"error_code": code, "message": str(exc),
                          "modelops_error": kind.__name__}, status)

    return answer


def _field(body: dict[str, Any], key: str, kind: type) -> Any:
    value = body.get(key)
    if not isinstance(value, kind) or isinstance(value, bool) or (kind is int and value < 0):
        raise InvalidInput(f"expected {kind.__name__}, got {value!r}", field=key)
    return value


def _available(body: dict[str, Any]) -> MlflowRegistryStore:
    store = _store(body.get("experiment_prefix") or "")
    if store is None:
        raise InvalidInput("this server's backend store is not a database modelops works "
                           "on in SQL; use MLflow's API", field="server")
    return store


@_answer
def _events(body: dict[str, Any]) -> dict[str, Any]:
    events = _available(body).list_events(_field(body, "name", str),
                                          _field(body, "after_seq", int))
    return {"events": [to_data(e) for e in events]}


@_answer
def _read(body: dict[str, Any]) -> dict[str, Any]:
    events, record, plain = _available(body).read_recorded(
        _field(body, "name", str), _field(body, "version", str), _field(body, "after_seq", int))
    return {"events": [to_data(e) for e in events],
            "version": None if record is None else to_data(record), "plain": plain}


@_answer
def _versions(body: dict[str, Any]) -> dict[str, Any]:
    after = _field(body, "after", int)
    seen = _available(body).version_tags(_field(body, "name", str), after)
    return {"versions": {str(number): tag for number, tag in seen.items()}}


@_answer
def _append(body: dict[str, Any]) -> dict[str, Any]:
    try:
        event = event_from_data(_field(body, "event", dict))
    except (TypeError, ValueError, KeyError) as exc:
        raise InvalidInput(f"not an event: {exc}", field="event") from None
    claim = _field(body, "claim", str)
    if len(event_text(event, claim)) > PARAM_LIMIT:
        raise InvalidInput(f"an event longer than MLflow's {PARAM_LIMIT}-character params is "
                           "stored as an artifact by the client", field="event")
    _available(body).append_claimed(event, claim)
    return {}
