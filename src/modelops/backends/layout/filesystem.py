"""``FsspecStorage``: the layout store's primitives on any fsspec filesystem (memory here, S3
and others through plugins)."""

from __future__ import annotations

import contextlib
import os
import threading
from typing import Any

from modelops.backends.layout.storage import Signature, Storage, confined, store_error
from modelops.errors import StoreError


class FsspecStorage(Storage):
    """Any fsspec filesystem: memory here, S3 and others through plugins.

    Object stores replace objects atomically by nature. ``create`` uses the filesystem's
    ``pipe_file(mode="create")`` (a conditional PUT on S3); filesystems that check and write
    in two steps are guarded by a lock here, which is exact for in-process filesystems such
    as ``memory://``.
    """

    def __init__(self, fs: Any, root: str, *, protocol: str) -> None:
        self.fs = fs
        self.root = root.rstrip("/")
        self.protocol = protocol
        self.uri = f"{protocol}://{self.root.lstrip('/')}" if protocol != "memory" \
            else f"memory://{self.root}"
        self._create_lock = threading.Lock()

    def _abs(self, rel: str) -> str:
        return f"{self.root}/{confined(rel)}" if rel else self.root

    def _call(self, what: str, rel: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (FileNotFoundError, FileExistsError):
            raise
        except OSError as exc:
            raise store_error(exc, what, self.uri_of(rel)) from exc

    def read_bytes(self, rel: str) -> bytes:
        return self._call("reading", rel, self.fs.cat_file, self._abs(rel))

    def read_range(self, rel: str, start: int, end: int | None = None) -> bytes:
        return self._call("reading", rel, self.fs.cat_file, self._abs(rel), start=start, end=end)

    def create(self, rel: str, data: bytes) -> None:
        with self._create_lock:
            self._call("creating", rel, self.fs.pipe_file, self._abs(rel), data, mode="create")

    def replace(self, rel: str, data: bytes) -> None:
        self._call("writing", rel, self.fs.pipe_file, self._abs(rel), data)

    def list_detail(self, rel: str) -> list[tuple[str, bool, int | None]]:
        try:
            entries = self._call("listing", rel, self.fs.ls, self._abs(rel), detail=True)
        except FileNotFoundError:
            return []
        out = []
        for e in entries:
            name = e["name"].rstrip("/").rsplit("/", 1)[-1]
            if e["name"].rstrip("/") == self._abs(rel):
                continue
            is_dir = e.get("type") == "directory"
            out.append((name, is_dir, None if is_dir else e.get("size")))
        return sorted(out)

    def listdir(self, rel: str) -> list[str]:
        return [name for name, _, _ in self.list_detail(rel)]

    def exists(self, rel: str) -> bool:
        return bool(self._call("checking", rel, self.fs.exists, self._abs(rel)))

    def is_dir(self, rel: str) -> bool:
        return bool(self._call("checking", rel, self.fs.isdir, self._abs(rel)))

    def signature(self, rel: str) -> Signature:
        # Memory files carry no version; object stores' ETags come with the S3 plugin.
        return None

    def signatures(self, rel: str, child_file: str) -> dict[str, Signature]:
        return {name: None for name, is_dir, _ in self.list_detail(rel) if is_dir}

    def put_file(self, local_path: str, rel: str) -> None:
        with open(local_path, "rb") as f:
            data = f.read()
        self.replace(rel, data)

    def get(self, rel: str, local_path: str) -> None:
        if self.is_dir(rel):
            for sub, _ in self.walk_files(rel):
                self.get_file(f"{rel}/{sub}", os.path.join(local_path, *sub.split("/")))
            return
        self.get_file(rel, local_path)

    def get_file(self, rel: str, local_path: str) -> None:
        if self.is_dir(rel):
            raise StoreError(f"reading {self.uri_of(rel)} failed: it is a folder, not a file")
        super().get_file(rel, local_path)

    def remove_tree(self, rel: str) -> None:
        # Listed, never globbed: fs.rm would expand "*", "?" and "[x]" in a name and remove
        # other names' data too. Files and folders go deepest first.
        try:
            found = self._call("listing", rel, self.fs.find, self._abs(rel), withdirs=True)
        except FileNotFoundError:
            return
        for path in sorted(found, key=lambda p: p.rstrip("/").count("/"), reverse=True):
            with contextlib.suppress(FileNotFoundError):
                if self.fs.isdir(path):
                    self.fs.rmdir(path)
                else:
                    self.fs.rm_file(path)

    def uri_of(self, rel: str) -> str:
        return f"{self.uri}/{rel}" if rel else self.uri
