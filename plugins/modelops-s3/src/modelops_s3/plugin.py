"""The modelops plugin serving ``s3://`` and ``s3a://`` URIs (entry point ``s3``).

Every store kind is the shared log-structured layout store on an ``S3Storage``; the domain
logic (search, promotion rules, drift statistics, the prediction logger) is the core's.
"""

from __future__ import annotations

from typing import Any

from modelops.backends.layout.plugin import layout_store
from modelops.hookspecs import hookimpl
from modelops.stores import DriftStore, PredictionStore, RegistryStore, TrackingStore
from modelops.uri import StoreURI
from modelops_s3.location import SCHEMES


def open_storage(uri: StoreURI) -> Any:
    """The S3Storage for an ``s3://`` or ``s3a://`` URI, or None for other schemes."""
    if uri.scheme not in SCHEMES:
        return None
    from modelops_s3.location import open_storage as _open

    return _open(uri.scheme, uri.path, uri.options)


@hookimpl
def modelops_schemes() -> list[str]:
    return list(SCHEMES)


@hookimpl
def modelops_tracking_store(uri: StoreURI) -> TrackingStore | None:
    return layout_store("tracking", open_storage(uri))


@hookimpl
def modelops_registry_store(uri: StoreURI) -> RegistryStore | None:
    return layout_store("registry", open_storage(uri))


@hookimpl
def modelops_drift_store(uri: StoreURI) -> DriftStore | None:
    return layout_store("drift", open_storage(uri))


@hookimpl
def modelops_prediction_store(uri: StoreURI) -> PredictionStore | None:
    return layout_store("predictions", open_storage(uri))
