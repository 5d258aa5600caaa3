"""The built-in plugin serving ``file://`` (and plain paths) and ``memory://``."""

from __future__ import annotations

from typing import Any

from modelops._ids import new_id
from modelops.hookspecs import hookimpl
from modelops.stores import DriftStore, PredictionStore, RegistryStore, TrackingStore
from modelops.uri import StoreURI


def open_storage(uri: StoreURI):  # type: ignore[no-untyped-def]
    """The Storage for a ``file`` or ``memory`` URI, or None for other schemes.

    ``memory://`` with no path is a fresh private store; ``memory://name`` is shared by every
    ``connect`` in the process, as fsspec's memory filesystem is.
    """
    from modelops.backends.layout.filesystem import FsspecStorage
    from modelops.backends.layout.local import LocalStorage

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


def layout_store(kind: str, storage: Any) -> Any:
    """The layout store of ``kind`` (``tracking``, ``registry``, ``drift``, ``predictions``)
    on ``storage``, or None when there is no storage (the URI is not the plugin's). Plugins
    that bring a new Storage (``modelops-s3``) serve every store kind through this."""
    if storage is None:
        return None
    if kind == "tracking":
        from modelops.backends.layout.tracking import LayoutTrackingStore

        return LayoutTrackingStore(storage)
    if kind == "registry":
        from modelops.backends.layout.registry import LayoutRegistryStore

        return LayoutRegistryStore(storage)
    if kind == "drift":
        from modelops.backends.layout.drift import LayoutDriftStore

        return LayoutDriftStore(storage)
    from modelops.backends.layout.predictions import LayoutPredictionStore

    return LayoutPredictionStore(storage)


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
