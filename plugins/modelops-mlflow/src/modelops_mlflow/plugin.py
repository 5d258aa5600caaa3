"""The modelops plugin serving ``mlflow+…`` URIs: tracking, registry and drift on MLflow.

Registered through the ``modelops`` entry-point group, like any third-party plugin. Each
factory opens its store only for ``mlflow+`` URIs and returns None for others. Predictions
stay on a filesystem store: MLflow has no place for millions of logged predictions, so the
prediction factory refuses with an error saying how to combine the two.
"""

from __future__ import annotations

from typing import Any

from modelops.errors import NotFound
from modelops.hookspecs import hookimpl
from modelops.stores import DriftStore, PredictionStore, RegistryStore, TrackingStore
from modelops.uri import StoreURI, hide_password
from modelops_mlflow.connection import SCHEME_PREFIX, Connection

#: The schemes listed by ``modelops plugins``; any ``mlflow+<scheme>`` works.
SCHEMES = ["mlflow+sqlite", "mlflow+http", "mlflow+https", "mlflow+databricks",
           "mlflow+postgresql", "mlflow+mysql", "mlflow+file"]


@hookimpl
def modelops_schemes() -> list[str]:
    return list(SCHEMES)


@hookimpl
def modelops_tracking_store(uri: StoreURI) -> TrackingStore | None:
    connection = Connection.from_uri(uri)
    if connection is None:
        return None
    from modelops_mlflow.tracking import MlflowTrackingStore

    return MlflowTrackingStore(connection)


@hookimpl
def modelops_registry_store(uri: StoreURI) -> RegistryStore | None:
    connection = Connection.from_uri(uri)
    if connection is None:
        return None
    from modelops_mlflow.registry import MlflowRegistryStore

    return MlflowRegistryStore(connection)


@hookimpl
def modelops_drift_store(uri: StoreURI) -> DriftStore | None:
    connection = Connection.from_uri(uri)
    if connection is None:
        return None
    from modelops_mlflow.drift import MlflowDriftStore

    return MlflowDriftStore(connection)


@hookimpl
def modelops_prediction_store(uri: StoreURI) -> PredictionStore | None:
    if not uri.scheme.startswith(SCHEME_PREFIX):
        return None
    shown = hide_password(uri.uri)
    raise NotFound(
        f"MLflow keeps no predictions, so {shown} has no prediction store: predictions stay "
        "on a filesystem store. Combine the two with "
        f"modelops.connect({shown!r}, predictions='file:///var/mlops') (or an s3:// URI)")


@hookimpl
def modelops_model_flavors() -> list[Any]:
    from modelops_mlflow.flavor import MlflowFlavor

    return [MlflowFlavor()]
