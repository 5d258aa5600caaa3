"""The log-structured layout store (tracking, registry, drift and predictions stores written
as immutable files), on any Storage: local disk (``LocalStorage``, through the operating
system) and any fsspec filesystem (``FsspecStorage``: memory here, S3 through its plugin)."""

from modelops.backends.layout.filesystem import FsspecStorage
from modelops.backends.layout.local import LocalStorage
from modelops.backends.layout.storage import LockedFile, Storage
from modelops.backends.layout.tracking import LayoutTrackingStore

__all__ = ["FsspecStorage", "LayoutTrackingStore", "LocalStorage", "LockedFile", "Storage"]
