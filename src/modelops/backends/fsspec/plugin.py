"""The built-in plugin serving ``file://`` (and plain paths) and ``memory://``."""

from __future__ import annotations

from modelops._ids import new_id
from modelops.hookspecs import hookimpl
from modelops.stores import DriftStore, PredictionStore, RegistryStore, TrackingStore
from modelops.uri import StoreURI


def open_storage(uri: StoreURI):  # type: ignore[no-untyped-def]
    """The Storage for a ``file`` or ``memory`` URI, or None for other schemes.

    ``memory://`` with no path is a fresh private store; ``memory://name`` is shared by every
    ``connect`` in the process, as fsspec's memory filesystem is.
    """
    from modelops.backends.fsspec.storage import FsspecStorage, LocalStorage

    if uri.scheme == "file":
        return LocalStorage(uri.path)
    if uri.scheme == "memory":
        import fsspec

        root = uri.path.strip("/") or f"modelops-{new_id()}"
        return FsspecStorage(fsspec.filesystem("memory"), "/" + root, protocol="memory")
    return None


@hookimpl
def modelops_schemes() -> list[str]:
    return ["file", "memory"]


@hookimpl
def modelops_tracking_store(uri: StoreURI) -> TrackingStore | None:
    storage = open_storage(uri)
    if storage is None:
        return None
    from modelops.backends.fsspec.tracking import LayoutTrackingStore

    return LayoutTrackingStore(storage)


@hookimpl
def modelops_registry_store(uri: StoreURI) -> RegistryStore | None:
    storage = open_storage(uri)
    if storage is None:
        return None
    from modelops.backends.fsspec.registry import LayoutRegistryStore

    return LayoutRegistryStore(storage)


@hookimpl
def modelops_drift_store(uri: StoreURI) -> DriftStore | None:
    storage = open_storage(uri)
    if storage is None:
        return None
    from modelops.backends.fsspec.drift import LayoutDriftStore

    return LayoutDriftStore(storage)


@hookimpl
def modelops_prediction_store(uri: StoreURI) -> PredictionStore | None:
    storage = open_storage(uri)
    if storage is None:
        return None
    from modelops.backends.fsspec.predictions import LayoutPredictionStore

    return LayoutPredictionStore(storage)
