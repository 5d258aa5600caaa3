"""The few storage primitives the layout store is built on, and what every Storage shares.

Every write is whole or absent: a reader never sees half a file. ``create`` claims a path
exclusively (of two racing writers exactly one wins); ``replace`` swaps a file's content
atomically. Storages that can (local disk on POSIX) also append to a file under a lock held
across processes, which lets a writer add a record without creating a file. Paths given to a
Storage are relative to its root and were validated by the layout; each Storage checks
them again (``confined``), since some are built from stored data. The storages:
``LocalStorage`` (``modelops.backends.layout.local``: local disk through the operating
system, never through a link) and ``FsspecStorage`` (``modelops.backends.layout.filesystem``:
any fsspec filesystem — memory here, S3 through its plugin).
"""

from __future__ import annotations

import contextlib
import json
import os
import warnings
from collections.abc import Iterator
from typing import Any

from modelops._json import loads
from modelops.errors import StoreError, StoreWarning

#: A file's identity and version, cheap to get without reading it; None when unknown.
Signature = tuple[Any, ...] | None


def confined(rel: str) -> str:
    """``rel`` if it names a place below a store's root: relative, with no empty, ``.`` or
    ``..`` segment, no backslash and no NUL; else ``StoreError``. Paths reach a Storage from
    validated names and from stored data alike, so the Storage checks them once more."""
    suspect = (".." in rel or "//" in rel or "\\" in rel or "\x00" in rel or "/./" in rel
               or rel.startswith(("/", "./")) or rel.endswith(("/", "/.")) or rel == ".")
    # The precise check only for what the quick one flags ("a..b" is a fine name).
    if suspect and ("\\" in rel or "\x00" in rel
                    or any(part in ("", ".", "..") for part in rel.split("/"))):
        raise StoreError(f"refusing the path {rel!r}: it would leave the store")
    return rel


#: What decoding a stored record of the wrong shape may raise (InvalidInput, from a value
#: object's validation, is a ValueError).
DECODE_ERRORS = (TypeError, ValueError, KeyError, AttributeError, IndexError)


def skipped(error: Exception) -> None:
    """Report a stored record a listing or a search goes on without (the error names it)."""
    warnings.warn(f"modelops: skipped {error}", StoreWarning, stacklevel=3)


def dumps(obj: Any) -> bytes:
    # allow_nan: NaN and ±inf round-trip as NaN/Infinity, which json.loads reads back exactly.
    return json.dumps(obj, separators=(",", ":"), allow_nan=True).encode()


class Storage:
    """Primitives over one root directory; subclasses implement them for a kind of storage."""

    root: str
    uri: str
    #: Whether ``locked`` and ``append`` work here.
    appends: bool = False

    def read_bytes(self, rel: str) -> bytes:
        """The file's bytes; ``FileNotFoundError`` if it does not exist."""
        raise NotImplementedError

    def read_range(self, rel: str, start: int, end: int | None = None) -> bytes:
        """The file's bytes from ``start`` up to ``end`` (its end when None); fewer when the
        file is shorter. ``FileNotFoundError`` if it does not exist."""
        return self.read_bytes(rel)[start:end]

    def read_ranges(self, rel: str, ranges: list[tuple[int, int]]) -> list[bytes]:
        """The bytes of each ``(start, end)`` range of one file, read as one version of it
        where the storage can (local disk: one open file). ``FileNotFoundError`` if it does
        not exist."""
        return [self.read_range(rel, start, end) for start, end in ranges]

    def create(self, rel: str, data: bytes) -> None:
        """Write a new file; ``FileExistsError`` if it exists, also under races."""
        raise NotImplementedError

    def replace(self, rel: str, data: bytes) -> None:
        """Write a file, replacing any previous content atomically."""
        raise NotImplementedError

    def locked(self, rel: str) -> contextlib.AbstractContextManager[LockedFile]:
        """Hold the exclusive lock of the file ``rel`` (created empty if missing) against
        every other process and thread that asks for it; the file, to read and append to.
        Only when ``appends``."""
        raise NotImplementedError

    def append(self, rel: str, data: bytes) -> int:
        """Add ``data`` at the end of the file ``rel`` (created if missing) in one write;
        return the offset it starts at. Only when ``appends``, and only under ``locked(...)``
        of the file that orders the appends: that is what keeps two writers' bytes apart."""
        raise NotImplementedError

    def listdir(self, rel: str) -> list[str]:
        """Sorted names of the entries of a directory; empty if it does not exist."""
        raise NotImplementedError

    def list_detail(self, rel: str) -> list[tuple[str, bool, int | None]]:
        """``(name, is_dir, size)`` for each entry of a directory, sorted by name."""
        raise NotImplementedError

    def exists(self, rel: str) -> bool:
        raise NotImplementedError

    def is_dir(self, rel: str) -> bool:
        raise NotImplementedError

    def signatures(self, rel: str, child_file: str) -> dict[str, Signature]:
        """For each subdirectory ``d`` of ``rel``: a signature of ``d/child_file``.

        Equal signatures mean the file was not replaced in between; ``None`` means unknown
        (the caller must read the file).
        """
        raise NotImplementedError

    def signature(self, rel: str) -> Signature:
        raise NotImplementedError

    def put_file(self, local_path: str, rel: str) -> None:
        """Copy a local file in, whole or absent."""
        raise NotImplementedError

    def get(self, rel: str, local_path: str) -> None:
        """Copy a file or a directory tree out to a local path."""
        raise NotImplementedError

    def get_file(self, rel: str, local_path: str) -> None:
        """Copy one file out to a local path (``FileNotFoundError`` if it does not exist,
        ``StoreError`` if it is a folder)."""
        data = self.read_bytes(rel)
        os.makedirs(os.path.dirname(os.path.abspath(local_path)), exist_ok=True)
        with open(local_path, "wb") as f:
            f.write(data)

    def remove_tree(self, rel: str) -> None:
        """Remove a file or directory tree; missing is fine."""
        raise NotImplementedError

    def uri_of(self, rel: str) -> str:
        raise NotImplementedError

    # -- derived ---------------------------------------------------------------------------

    def read_json(self, rel: str) -> Any:
        """Parsed JSON, or None when the file is missing or unreadable.

        A file cut short by a machine crash (possible without fsync) reads as absent, so the
        store stays readable; everything written by a process that was merely killed is whole.
        """
        try:
            return loads(self.read_bytes(rel))
        except FileNotFoundError:
            return None
        except (ValueError, UnicodeDecodeError):
            return None

    def walk_files(self, rel: str) -> Iterator[tuple[str, int | None]]:
        """Every file below ``rel`` as ``(path relative to rel, size)``, depth first."""
        for name, is_dir, size in self.list_detail(rel):
            if is_dir:
                for sub, sub_size in self.walk_files(f"{rel}/{name}" if rel else name):
                    yield f"{name}/{sub}", sub_size
            else:
                yield name, size


def store_error(exc: OSError, what: str, where: str) -> StoreError:
    """The StoreError for an OSError while doing ``what`` to ``where``."""
    return StoreError(f"{what} {where} failed: {exc.strerror or exc}")


def read_at(fd: int, path: str, start: int, end: int | None) -> bytes:
    """Bytes ``start`` to ``end`` (the file's end when None) of an open file."""
    try:
        # Never past the file's end: pread allocates what it is asked for, and a range from
        # a stored record is untrusted (10**15 bytes would be a MemoryError).
        size = os.fstat(fd).st_size
        end = size if end is None else min(end, size)
        parts = []
        while start < end and (part := os.pread(fd, end - start, start)):
            parts.append(part)
            start += len(part)
        return b"".join(parts)
    except OSError as exc:
        raise store_error(exc, "reading", path) from exc


def append_to(fd: int, path: str, data: bytes) -> int:
    """Append ``data`` to a file open with ``O_APPEND`` in one write; where it starts."""
    try:
        written = os.write(fd, data)
        # After an append the offset is its end; nothing written moves nothing.
        end = os.lseek(fd, 0, os.SEEK_CUR if written else os.SEEK_END)
    except OSError as exc:
        raise store_error(exc, "appending to", path) from exc
    if written != len(data):
        # The part written is never referred to (the caller raises before recording it).
        raise StoreError(f"appending to {path} failed: {written} of {len(data)} bytes "
                         "written (is the disk full?)")
    return end - written


class LockedFile:
    """A file held under its exclusive lock (``Storage.locked``): read it, append to it."""

    def __init__(self, fd: int, path: str) -> None:
        self._fd = fd
        self.path = path

    def read(self, start: int) -> bytes:
        """The file's bytes from ``start`` to its end."""
        return read_at(self._fd, self.path, start, None)

    def append(self, data: bytes) -> int:
        """Add ``data`` at the end in one write; the offset it starts at."""
        return append_to(self._fd, self.path, data)
