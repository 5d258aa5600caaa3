"""Writing files into a local directory the caller named, without ever touching theirs.

A download into ``dst_dir`` goes first into a private staging folder inside it (so the final
step is a link on the same filesystem), is checked there, and then each file is linked into
place with an exclusive ``link``: a file of the caller's is never overwritten. A path modelops
would write that already holds other content is refused before anything is written; one that
already holds the very same bytes is left as it is. Should anything fail, exactly what this
call created — the files it linked, the folders it made, the staging folder — is removed, and
nothing else.
"""

from __future__ import annotations

import contextlib
import errno
import filecmp
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping

from modelops._files import check_local_path, sha256_file
from modelops.errors import InvalidInput, StoreError

_STAGING_PREFIX = ".modelops-staging-"


def _make_dirs(path: str, made: list[str]) -> None:
    """``os.makedirs``, noting each folder this call created (outermost first)."""
    missing = []
    while not os.path.isdir(path):
        if os.path.lexists(path):
            raise InvalidInput(f"{path!r} exists and is not a directory", field="dst_dir")
        missing.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder)
        except FileExistsError:
            if not os.path.isdir(folder):
                raise InvalidInput(f"{folder!r} exists and is not a directory",
                                   field="dst_dir") from None
            continue  # made by someone else meanwhile: not ours
        except OSError as exc:
            raise StoreError(f"creating {folder} failed: {exc.strerror or exc}") from exc
        made.append(folder)


def _same(path: str, staged: str, digest: tuple[str, int] | None) -> bool:
    """Whether the existing regular file ``path`` holds exactly the bytes to be placed."""
    if os.path.islink(path) or not os.path.isfile(path):
        return False
    if digest is not None:
        return sha256_file(path) == digest
    return filecmp.cmp(path, staged, shallow=False)


def _staged_files(staging: str) -> list[str]:
    """Every file below ``staging``, relative, with '/' separators; links refused."""
    out = []
    for dirpath, dirnames, names in os.walk(staging):
        for name in names + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, staging).replace(os.sep, "/")
            if os.path.islink(path):
                raise StoreError(f"refusing to place {rel!r}: it is a symbolic link")
            out.append(rel)
    return sorted(out)


def _link(staged: str, target: str) -> bool:
    """Put ``staged`` at ``target`` unless something is there; True if this call did."""
    try:
        os.link(staged, target)
        return True
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV,
                             errno.EMLINK):
            raise
    # A filesystem without hard links: an exclusive create claims the name just as well.
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                     0o666)
    except FileExistsError:
        return False
    try:
        with os.fdopen(fd, "wb") as out, open(staged, "rb") as src:
            shutil.copyfileobj(src, out)
    except BaseException:
        os.unlink(target)
        raise
    return True


def place_into(dst_dir: str, fill: Callable[[str], None],
               expected: Mapping[str, tuple[str, int]] | None = None,
               field: str = "dst_dir") -> list[str]:
    """Fill a private folder with ``fill(folder)``, then put what it holds into ``dst_dir``.

    ``expected`` (relative path -> sha256 and size), when the files are known in advance,
    lets a conflict be refused before anything is written. Returns the relative paths
    placed. ``InvalidInput`` (field ``dst_dir``) when a file of the caller's is in the way;
    on any failure, what this call created is removed and nothing else.
    """
    dst_dir = os.path.abspath(check_local_path(dst_dir, field))
    if expected:
        for rel in sorted(expected):
            _refuse_if_taken(dst_dir, rel, expected[rel])
    made_dirs: list[str] = []
    placed: list[str] = []
    staging = None
    done = False
    try:
        _make_dirs(dst_dir, made_dirs)
        staging = tempfile.mkdtemp(prefix=_STAGING_PREFIX, dir=dst_dir)
        fill(staging)
        files = _staged_files(staging)
        for rel in files:
            _refuse_if_taken(dst_dir, rel, None if expected is None else expected.get(rel),
                             os.path.join(staging, *rel.split("/")))
        for rel in files:
            staged = os.path.join(staging, *rel.split("/"))
            target = os.path.join(dst_dir, *rel.split("/"))
            _make_dirs(os.path.dirname(target), made_dirs)
            if _link(staged, target):
                placed.append(target)
            elif not _same(target, staged, None):  # someone wrote it since the check
                raise InvalidInput(f"{target!r} appeared meanwhile with other content; "
                                   "modelops does not overwrite files it did not write",
                                   field="dst_dir")
        done = True
        return files
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        if not done:
            for path in reversed(placed):
                with contextlib.suppress(OSError):
                    os.unlink(path)
            for folder in reversed(made_dirs):
                with contextlib.suppress(OSError):
                    os.rmdir(folder)  # only if empty: never a folder with someone's files


def _refuse_if_taken(dst_dir: str, rel: str, digest: tuple[str, int] | None,
                     staged: str | None = None) -> None:
    target = os.path.join(dst_dir, *rel.split("/"))
    if not os.path.lexists(target):
        return
    if digest is not None and _same(target, "", digest):
        return
    if digest is None and staged is not None and _same(target, staged, None):
        return
    raise InvalidInput(f"{target!r} already exists with other content; modelops does not "
                       "overwrite files it did not write (choose an empty or new directory)",
                       field="dst_dir")
