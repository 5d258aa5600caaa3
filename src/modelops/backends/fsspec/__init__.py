"""The log-structured layout store, on local disk and any fsspec filesystem."""

from modelops.backends.fsspec.storage import FsspecStorage, LocalStorage, LockedFile, Storage
from modelops.backends.fsspec.tracking import LayoutTrackingStore

__all__ = ["FsspecStorage", "LayoutTrackingStore", "LocalStorage", "LockedFile", "Storage"]
