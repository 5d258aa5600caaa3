"""Reading local files whole or for digests, with as few system calls as the OS allows; the
file or folder name a (validated) name is stored under (``path_name``); a local path a caller
gave, checked (``check_local_path``).

Registering a version reads every artifact file once or twice; Python's buffered ``open``
adds an fstat, an ioctl and a seek to each, which for a model of a few KB costs more than
the reading itself. These helpers use the raw descriptor calls, and size each read by the
file so a small file is read in one call without a large buffer.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Iterator
from typing import Any

from modelops.errors import InvalidInput

_BLOCK = 1 << 20
_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0)


#: Longest name (in UTF-8 bytes) used as a file or folder name as it is.
MAX_PATH_NAME_BYTES = 200


@functools.lru_cache(maxsize=4096)  # a store's few names, asked for on every call
def path_name(name: str) -> str:
    """The file or folder name for a (validated) name: the name itself, or — when its UTF-8
    form is too long for file systems (255 bytes) — ``~`` and its sha256 digest. Records
    inside keep the real name."""
    if len(name.encode("utf-8", "surrogatepass")) <= MAX_PATH_NAME_BYTES:
        return name
    return "~" + hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()


def _chunks(fd: int, size: int) -> Iterator[bytes]:
    """The file's content from the current offset to its end, in reads of at most 1 MB."""
    want = min(size + 1, _BLOCK)  # one byte more than expected: a single read sees the end
    while chunk := os.read(fd, want):
        yield chunk
        if len(chunk) < want:
            # A short read of a regular file is its end (a file still growing is the
            # writer's race; whatever was read is what gets digested and stored).
            return
        want = _BLOCK


def sha256_file(path: str) -> tuple[str, int]:
    """The sha256 hex digest and the size of a local file."""
    digest = hashlib.sha256()
    size = 0
    fd = os.open(path, _FLAGS)
    try:
        for chunk in _chunks(fd, os.fstat(fd).st_size):
            digest.update(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    return digest.hexdigest(), size


def read_file(path: str) -> bytes:
    """The whole content of a local file."""
    data = read_file_up_to(path, None)
    assert data is not None
    return data


def read_file_up_to(path: str, limit: int | None) -> bytes | None:
    """The whole content of a local file; None if it is larger than ``limit`` bytes (the
    caller then streams it)."""
    fd = os.open(path, _FLAGS)
    try:
        return read_open(fd, limit)
    finally:
        os.close(fd)


def read_open(fd: int, limit: int | None = None, size: int | None = None) -> bytes | None:
    """The content of an open file from its current offset; None if the file is larger
    than ``limit`` bytes. ``size`` is the file's size when the caller already knows it."""
    if size is None:
        size = os.fstat(fd).st_size
    if limit is not None and size > limit:
        return None
    data = b"".join(_chunks(fd, size))
    return data if limit is None or len(data) <= limit else None


def check_local_path(value: Any, field: str) -> str:
    """A path on this machine (a string or ``os.PathLike``) the operating system can take:
    no NUL, no character without a file-system encoding (a lone surrogate)."""
    try:
        path = os.fspath(value)
    except TypeError:
        raise InvalidInput(f"expected a path, got {type(value).__name__} {value!r}",
                           field=field) from None
    if isinstance(path, bytes) or "\0" in path:
        raise InvalidInput(f"expected a path as text without NUL, got {path!r}", field=field)
    try:
        os.fsencode(path)
    except UnicodeEncodeError:
        raise InvalidInput(f"is not a path this system can encode, got {path!r}",
                           field=field) from None
    return path
