"""The client of modelops' app in an MLflow server (``modelops_mlflow.server``).

A registry store on ``mlflow+http(s)://`` asks the server once whether it runs the app
(``mlflow server --app-name modelops``) on a database the app works on. If it does, the
store reads a model's events, reads them with a version's record, lists its version numbers
and appends an event in one request each; if not, it uses MLflow's REST API alone, as
before. Requests go through MLflow's own HTTP helper, so MLflow's credentials, TLS settings
and retries apply.
"""

from __future__ import annotations

from typing import Any

from modelops.entities.registry import ModelVersion, RegistryEvent
from modelops.entities.registry_codec import event_from_data, to_data, version_from_data
from modelops.errors import (
    AlreadyExists,
    Conflict,
    InvalidInput,
    ModelOpsError,
    NotFound,
    StoreError,
)

API = "/api/2.0/modelops/registry"
#: Changed when a request or an answer changes shape; a client uses the endpoints only when
#: the server speaks its version.
API_VERSION = 1

_ERRORS: dict[str, type[ModelOpsError]] = {
    cls.__name__: cls for cls in (NotFound, AlreadyExists, Conflict, InvalidInput, StoreError)}


class Remote:
    """modelops' endpoints in one MLflow server."""

    def __init__(self, host_creds: Any, uri: str, experiment_prefix: str) -> None:
        self._host_creds = host_creds  # MLflow's: called before each request
        self.uri = uri
        self._experiment_prefix = experiment_prefix

    @classmethod
    def open(cls, client: Any, uri: str, experiment_prefix: str) -> Remote | None:
        """The app's endpoints in the server ``client`` talks to (tracking and registry
        alike), or None when it is not there or cannot serve here; StoreError when the
        server does not answer (so the question is asked again later)."""
        from mlflow.store.model_registry.rest_store import RestStore as RegistryRestStore
        from mlflow.store.tracking.rest_store import RestStore
        from mlflow.utils.rest_utils import http_request

        tracking = client._tracking_client.store
        registry = client._get_registry_client().store
        if not (isinstance(tracking, RestStore) and isinstance(registry, RegistryRestStore)):
            return None
        if tracking.get_host_creds().host != registry.get_host_creds().host:
            return None
        try:
            response = http_request(tracking.get_host_creds(), f"{API}/info", "GET",
                                    max_retries=0, timeout=30)
        except Exception as exc:
            raise StoreError(f"asking {uri} for modelops' app: {exc}") from exc
        try:
            info = response.json() if response.status_code == 200 else {}
        except ValueError:  # not JSON: not the app (MLflow's API still works)
            return None
        if not isinstance(info, dict) or info.get("api") != API_VERSION \
                or info.get("available") is not True:
            return None
        return cls(tracking.get_host_creds, uri, experiment_prefix)

    def _post(self, op: str, body: dict[str, Any], what: str) -> dict[str, Any]:
        from mlflow.utils.rest_utils import http_request

        try:
            response = http_request(self._host_creds(), f"{API}/{op}", "POST",
                                    json={**body, "experiment_prefix": self._experiment_prefix})
            data = response.json()
        except Exception as exc:
            raise StoreError(f"{what} in {self.uri}: {exc}") from exc
        if response.status_code == 200:
            return data
        error = _ERRORS.get(data.get("modelops_error"), StoreError)
        raise error(f"{what} in {self.uri}: {data.get('message', response.text)}")

    def events(self, name: str, after_seq: int) -> list[RegistryEvent]:
        data = self._post("events", {"name": name, "after_seq": after_seq},
                          f"reading the history of {name!r}")
        return [event_from_data(e) for e in data["events"]]

    def read(self, name: str, version: str, after_seq: int
             ) -> tuple[list[RegistryEvent], ModelVersion | None, bool]:
        """The events after ``after_seq``, the record of ``version`` (None if there is
        none) and whether that is a version plain MLflow code registered (None too: its
        record is read by the client, which digests its files)."""
        data = self._post("read", {"name": name, "version": version, "after_seq": after_seq},
                          f"reading {name} {version}")
        record = data["version"]
        return ([event_from_data(e) for e in data["events"]],
                None if record is None else version_from_data(record), bool(data["plain"]))

    def version_tags(self, name: str, after: int) -> dict[int, str | None]:
        """MLflow number -> ``modelops.version`` tag (None: plain) of the versions numbered
        after ``after``."""
        data = self._post("versions", {"name": name, "after": after},
                          f"listing versions of {name!r}")
        return {int(number): tag for number, tag in data["versions"].items()}

    def append(self, event: RegistryEvent, claim: str) -> None:
        self._post("append", {"event": to_data(event), "claim": claim},
                   f"appending event {event.seq} to {event.model!r}")
