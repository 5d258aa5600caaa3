"""``LocalStorage``: the layout store's primitives on local disk, through the operating system
(no fsspec): exclusive creates by hard link, atomic replaces by rename, and appends under an
``flock`` held across processes."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import threading
from collections.abc import Iterator

from modelops._files import read_file
from modelops._ids import new_id
from modelops.backends.layout.storage import (
    LockedFile,
    Signature,
    Storage,
    append_to,
    read_at,
    store_error,
)

try:
    import fcntl
except ImportError:  # Windows: no advisory locks, so no appends
    fcntl = None  # type: ignore[assignment]

_BINARY = getattr(os, "O_BINARY", 0)

#: Path -> the lock of this process's threads on it (``flock`` locks open files, and two
#: threads appending to one path must also exclude each other where it is emulated per process).
_THREAD_LOCKS: dict[str, threading.Lock] = {}


def _write_all(fd: int, data: bytes) -> None:
    # Raw descriptor calls: buffered open adds three system calls to every small write.
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]




class LocalStorage(Storage):
    """Local disk, with the primitives the OS gives for free.

    ``replace`` writes a temporary file and renames it over the target (atomic on POSIX and
    Windows). ``create`` writes a temporary file and hard-links it into place: ``link`` fails
    if the target exists, so the claim is exclusive and the content is whole. Temporary files
    live in ``<root>/.tmp`` so no listing ever shows them. Appends (POSIX only) are single
    writes under an ``flock`` of the file that orders them; the lock dies with its process, so
    a crash never leaves it held.
    """

    appends = fcntl is not None

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        self.uri = "file://" + self.root
        self._tmp = os.path.join(self.root, ".tmp")
        self._made: set[str] = set()

    def _abs(self, rel: str) -> str:
        return f"{self.root}{os.sep}{rel}" if rel else self.root

    def _ensure_dir(self, path: str) -> None:
        if path not in self._made:
            os.makedirs(path, exist_ok=True)
            self._made.add(path)

    def _write_temp(self, data: bytes) -> str:
        self._ensure_dir(self._tmp)
        tmp = os.path.join(self._tmp, new_id())
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY, 0o666)
        try:
            _write_all(fd, data)
        finally:
            os.close(fd)
        return tmp

    def read_bytes(self, rel: str) -> bytes:
        path = self._abs(rel)
        try:
            return read_file(path)
        except FileNotFoundError:
            raise
        except NotADirectoryError:
            raise FileNotFoundError(path) from None
        except OSError as exc:
            raise store_error(exc, "reading", path) from exc

    def create(self, rel: str, data: bytes) -> None:
        path = self._abs(rel)
        try:
            self._ensure_dir(os.path.dirname(path))
            tmp = self._write_temp(data)
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise
            except OSError as exc:
                if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
                    raise
                # A filesystem without hard links: exclusive open still claims the name.
                with open(path, "xb") as f:
                    f.write(data)
            finally:
                os.unlink(tmp)
        except FileExistsError:
            raise
        except OSError as exc:
            raise store_error(exc, "creating", path) from exc

    def replace(self, rel: str, data: bytes) -> None:
        path = self._abs(rel)
        try:
            self._ensure_dir(os.path.dirname(path))
            os.replace(self._write_temp(data), path)
        except OSError as exc:
            raise store_error(exc, "writing", path) from exc

    def read_range(self, rel: str, start: int, end: int | None = None) -> bytes:
        path = self._abs(rel)
        try:
            fd = os.open(path, os.O_RDONLY | _BINARY)
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise store_error(exc, "reading", path) from exc
        try:
            return read_at(fd, path, start, end)
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def locked(self, rel: str) -> Iterator[LockedFile]:
        path = self._abs(rel)
        with _THREAD_LOCKS.setdefault(path, threading.Lock()):
            fd = self._open_appending(path, "locking")
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield LockedFile(fd, path)
            finally:
                os.close(fd)  # releases the lock, also when the process dies

    def append(self, rel: str, data: bytes) -> int:
        path = self._abs(rel)
        fd = self._open_appending(path, "appending to")
        try:
            return append_to(fd, path, data)
        finally:
            os.close(fd)

    def _open_appending(self, path: str, what: str) -> int:
        """A descriptor that appends to ``path``, created if missing. Read-write: where flock
        is emulated with POSIX locks (NFS), an exclusive lock needs one open for writing."""
        try:
            self._ensure_dir(os.path.dirname(path))
            return os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | _BINARY, 0o666)
        except OSError as exc:
            raise store_error(exc, what, path) from exc

    def _hidden(self, rel: str, name: str) -> bool:
        # Only the temporary-file folder at the root is ours to hide.
        return rel == "" and name == ".tmp"

    def listdir(self, rel: str) -> list[str]:
        try:
            names = os.listdir(self._abs(rel))
            if rel == "":
                names = [n for n in names if not self._hidden(rel, n)]
            return sorted(names)
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as exc:
            raise store_error(exc, "listing", self._abs(rel)) from exc

    def list_detail(self, rel: str) -> list[tuple[str, bool, int | None]]:
        out = []
        try:
            with os.scandir(self._abs(rel)) as entries:
                for e in entries:
                    if self._hidden(rel, e.name):
                        continue
                    is_dir = e.is_dir()
                    out.append((e.name, is_dir, None if is_dir else e.stat().st_size))
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as exc:
            raise store_error(exc, "listing", self._abs(rel)) from exc
        return sorted(out)

    def exists(self, rel: str) -> bool:
        return os.path.exists(self._abs(rel))

    def is_dir(self, rel: str) -> bool:
        return os.path.isdir(self._abs(rel))

    def signature(self, rel: str) -> Signature:
        try:
            st = os.stat(self._abs(rel))
        except OSError:
            return None
        # A replace is a rename of a new file, so the inode changes even within one tick.
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def signatures(self, rel: str, child_file: str) -> dict[str, Signature]:
        out: dict[str, Signature] = {}
        stat = os.stat
        try:
            with os.scandir(self._abs(rel)) as entries:
                for e in entries:
                    if self._hidden(rel, e.name):
                        continue
                    try:
                        st = stat(f"{e.path}/{child_file}")
                        out[e.name] = (st.st_ino, st.st_mtime_ns, st.st_size)
                    except OSError:
                        out[e.name] = None
        except (FileNotFoundError, NotADirectoryError):
            return {}
        return out

    def put_file(self, local_path: str, rel: str) -> None:
        path = self._abs(rel)
        try:
            self._ensure_dir(self._tmp)
            self._ensure_dir(os.path.dirname(path))
            tmp = os.path.join(self._tmp, new_id())
            shutil.copyfile(local_path, tmp)
            os.replace(tmp, path)
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise store_error(exc, "copying to", path) from exc

    def get(self, rel: str, local_path: str) -> None:
        src = self._abs(rel)
        if os.path.isdir(src):
            shutil.copytree(src, local_path, dirs_exist_ok=True)
        else:
            os.makedirs(os.path.dirname(os.path.abspath(local_path)), exist_ok=True)
            shutil.copyfile(src, local_path)

    def remove_tree(self, rel: str) -> None:
        path = self._abs(rel)
        # Drop cached "directory exists" facts below the removed path.
        self._made = {d for d in self._made if not (d == path or d.startswith(path + os.sep))}
        if os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
        elif os.path.exists(path):
            os.unlink(path)

    def uri_of(self, rel: str) -> str:
        return "file://" + self._abs(rel)
