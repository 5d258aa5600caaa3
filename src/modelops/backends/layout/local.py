"""``LocalStorage``: the layout store's primitives on local disk, through the operating system
(no fsspec): exclusive creates by hard link, atomic replaces by rename, and appends under an
``flock`` held across processes.

Nothing is read through a link: every file and folder is opened with ``O_NOFOLLOW`` and the
path the open descriptor really names is checked to lie under the store's root
(``/proc/self/fd`` on Linux, ``F_GETPATH`` on macOS) before a byte is read, so a link swapped
in between a check and the open cannot redirect the read. A link planted anywhere in a
store — on a file, on a folder, on a folder higher up — is refused with a ``StoreError``
naming it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import threading
import time
from collections.abc import Iterator

from modelops._crash import crash_point
from modelops._files import read_open
from modelops._ids import new_id
from modelops.backends.layout.storage import (
    LockedFile,
    Signature,
    Storage,
    append_to,
    confined,
    read_at,
    store_error,
)
from modelops.errors import StoreError

try:
    import fcntl
except ImportError:  # Windows: no advisory locks, so no appends
    fcntl = None  # type: ignore[assignment]

_BINARY = getattr(os, "O_BINARY", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_PROC_FD = "/proc/self/fd"

#: Path -> the lock of this process's threads on it (``flock`` locks open files, and two
#: threads appending to one path must also exclude each other where it is emulated per process).
_THREAD_LOCKS: dict[str, threading.Lock] = {}


def _write_all(fd: int, data: bytes) -> None:
    # Raw descriptor calls: buffered open adds three system calls to every small write.
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _fd_path(fd: int) -> str | None:
    """The path an open descriptor names, from the kernel; None where it cannot tell."""
    if _HAS_PROC_FD:
        return os.readlink(f"{_PROC_FD}/{fd}")
    get_path = getattr(fcntl, "F_GETPATH", None) if fcntl is not None else None
    if get_path is not None:  # macOS
        return fcntl.fcntl(fd, get_path, b"\0" * 1024).rstrip(b"\0").decode(
            "utf-8", "surrogateescape")
    return None


_HAS_PROC_FD = os.path.isdir(_PROC_FD)
#: How many folders a storage remembers having made and checked (see ``_ensure_dir``).
_MADE_KEPT = 4096
#: The temporary-file folders this process has already swept.
_SWEPT: set[str] = set()


def _unlink_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


class LocalStorage(Storage):
    """Local disk, with the primitives the OS gives for free.

    ``replace`` writes a temporary file and renames it over the target (atomic on POSIX and
    Windows). ``create`` writes a temporary file and hard-links it into place: ``link`` fails
    if the target exists, so the claim is exclusive and the content is whole. Temporary files
    live in ``<root>/.tmp`` so no listing ever shows them. Appends (POSIX only) are single
    writes under an ``flock`` of the file that orders them; the lock dies with its process, so
    a crash never leaves it held.

    A write that fails removes its temporary file; temporary files older than
    ``STALE_TEMP_SECONDS`` (left by a process killed mid-write) are removed when a process
    first opens the store. A live writer's are young: each is written and renamed within
    one call.

    Reads open with ``O_NOFOLLOW`` and check where the descriptor really points (see the
    module's docstring); folders are listed through a descriptor checked the same way, and a
    link inside one is listed as a file that cannot be read. Writes make their folders and
    check, once per folder, that it resolves inside the root.
    """

    appends = fcntl is not None
    #: Temporary files older than this were left by a dead writer.
    STALE_TEMP_SECONDS = 3600

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        self.uri = "file://" + self.root
        self._tmp = os.path.join(self.root, ".tmp")
        self._made: set[str] = set()
        self._real_root = os.path.realpath(self.root)
        if self._tmp not in _SWEPT:
            _SWEPT.add(self._tmp)
            self._remove_stale_temp()

    def _remove_stale_temp(self) -> None:
        """Remove temporary files a killed writer left (a store that cannot be written,
        read-only say, keeps them: opening it must not fail)."""
        cutoff = time.time() - self.STALE_TEMP_SECONDS
        try:
            with os.scandir(self._tmp) as entries:
                for e in entries:
                    with contextlib.suppress(OSError):
                        if e.is_file(follow_symlinks=False) and \
                                e.stat(follow_symlinks=False).st_mtime < cutoff:
                            os.unlink(e.path)
        except OSError:
            pass

    def _abs(self, rel: str) -> str:
        return f"{self.root}{os.sep}{confined(rel)}" if rel else self.root

    def _inside(self, real: str) -> bool:
        root = self._real_root
        if real == root or real.startswith(root + os.sep):
            return True
        # The root may have been made (through a link of the user's) since it was resolved.
        self._real_root = os.path.realpath(self.root)
        return real == self._real_root or real.startswith(self._real_root + os.sep)

    def _open(self, rel: str, flags: int, what: str = "reading") -> tuple[int, str, os.stat_result]:
        """A descriptor of ``rel`` opened without following a link, checked to lie in the
        store and to be a regular file or a folder (a FIFO or a device planted in a store
        would hang or flood a read); its path and status. ``FileNotFoundError`` if it does
        not exist."""
        path = self._abs(rel)
        try:
            fd = os.open(path, flags | _NOFOLLOW | _NONBLOCK | _BINARY, 0o666)
        except FileNotFoundError:
            raise
        except NotADirectoryError:
            if flags & _DIRECTORY and os.path.islink(path):  # Linux says ENOTDIR for a link
                raise StoreError(f"{what} {path} refused: it is a symbolic link, and modelops "
                                 "never follows links in a store") from None
            raise FileNotFoundError(path) from None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise StoreError(f"{what} {path} refused: it is a symbolic link, and modelops "
                                 "never follows links in a store") from None
            raise store_error(exc, what, path) from exc
        try:
            real = _fd_path(fd)
            if real is None:  # no way to ask the kernel: resolve the path (not race-free)
                real = os.path.realpath(path)
            st = os.fstat(fd)
        except OSError as exc:
            os.close(fd)
            raise store_error(exc, what, path) from exc
        if not self._inside(real):
            os.close(fd)
            raise StoreError(f"{what} {path} refused: it leads to {real!r}, outside the "
                             f"store {self.root} (through a symbolic link)")
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
            os.close(fd)
            raise StoreError(f"{what} {path} refused: it is neither a file nor a folder")
        return fd, path, st

    def _ensure_dir(self, path: str) -> None:
        if path not in self._made:
            os.makedirs(path, exist_ok=True)
            if not self._inside(os.path.realpath(path)):
                raise StoreError(f"writing in {path} refused: it leads outside the store "
                                 f"{self.root} (through a symbolic link)")
            if len(self._made) >= _MADE_KEPT:
                # Bounded: a process writing runs for days would otherwise keep two folders
                # per run; a folder forgotten is only made and checked again.
                self._made.clear()
            self._made.add(path)

    def _write_temp(self, data: bytes) -> str:
        self._ensure_dir(self._tmp)
        tmp = os.path.join(self._tmp, new_id())
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY, 0o666)
        try:
            _write_all(fd, data)
        except BaseException:
            _unlink_quietly(tmp)
            raise
        finally:
            os.close(fd)
        return tmp

    def read_bytes(self, rel: str) -> bytes:
        fd, path, st = self._open(rel, os.O_RDONLY)
        try:
            data = read_open(fd, size=st.st_size)
        except OSError as exc:
            raise store_error(exc, "reading", path) from exc
        finally:
            os.close(fd)
        assert data is not None
        return data

    def create(self, rel: str, data: bytes) -> None:
        path = self._abs(rel)
        try:
            self._ensure_dir(os.path.dirname(path))
            tmp = self._write_temp(data)
            crash_point("storage.create.written")
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
                _unlink_quietly(tmp)
        except FileExistsError:
            raise
        except OSError as exc:
            raise store_error(exc, "creating", path) from exc

    def replace(self, rel: str, data: bytes) -> None:
        path = self._abs(rel)
        try:
            self._ensure_dir(os.path.dirname(path))
            tmp = self._write_temp(data)
            try:
                os.replace(tmp, path)
            except BaseException:
                _unlink_quietly(tmp)
                raise
        except OSError as exc:
            raise store_error(exc, "writing", path) from exc

    def read_range(self, rel: str, start: int, end: int | None = None) -> bytes:
        fd, path, _ = self._open(rel, os.O_RDONLY)
        try:
            return read_at(fd, path, start, end)
        finally:
            os.close(fd)

    def read_ranges(self, rel: str, ranges: list[tuple[int, int]]) -> list[bytes]:
        fd, path, _ = self._open(rel, os.O_RDONLY)
        try:
            return [read_at(fd, path, start, end) for start, end in ranges]
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def locked(self, rel: str) -> Iterator[LockedFile]:
        path = self._abs(rel)
        with _THREAD_LOCKS.setdefault(path, threading.Lock()):
            fd = self._open_appending(rel, "locking")
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield LockedFile(fd, path)
            finally:
                os.close(fd)  # releases the lock, also when the process dies

    def append(self, rel: str, data: bytes) -> int:
        fd = self._open_appending(rel, "appending to")
        try:
            return append_to(fd, self._abs(rel), data)
        finally:
            os.close(fd)

    def _open_appending(self, rel: str, what: str) -> int:
        """A descriptor that appends to ``rel``, created if missing. Read-write: where flock
        is emulated with POSIX locks (NFS), an exclusive lock needs one open for writing."""
        path = self._abs(rel)
        try:
            self._ensure_dir(os.path.dirname(path))
        except OSError as exc:
            raise store_error(exc, what, path) from exc
        fd = self._open(rel, os.O_RDWR | os.O_APPEND | os.O_CREAT, what)[0]
        os.set_blocking(fd, True)
        return fd

    def _hidden(self, rel: str, name: str) -> bool:
        # Only the temporary-file folder at the root is ours to hide.
        return rel == "" and name == ".tmp"

    @contextlib.contextmanager
    def _folder(self, rel: str) -> Iterator[tuple[int, str] | None]:
        """A checked descriptor of the folder ``rel`` and its path; None if there is none."""
        try:
            fd, path, _ = self._open(rel, os.O_RDONLY | _DIRECTORY, "listing")
        except FileNotFoundError:
            yield None
            return
        try:
            yield fd, path
        except OSError as exc:
            raise store_error(exc, "listing", path) from exc
        finally:
            os.close(fd)

    def listdir(self, rel: str) -> list[str]:
        with self._folder(rel) as folder:
            if folder is None:
                return []
            return sorted(n for n in os.listdir(folder[0]) if not self._hidden(rel, n))

    def list_detail(self, rel: str) -> list[tuple[str, bool, int | None]]:
        out = []
        with self._folder(rel) as folder:
            if folder is None:
                return []
            with os.scandir(folder[0]) as entries:
                for e in entries:
                    if self._hidden(rel, e.name):
                        continue
                    # A link is listed as what it is (not a folder), never as its target.
                    is_dir = e.is_dir(follow_symlinks=False)
                    out.append((e.name, is_dir,
                                None if is_dir else e.stat(follow_symlinks=False).st_size))
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
        stat_of = os.stat
        try:
            with os.scandir(self._abs(rel)) as entries:
                for e in entries:
                    if self._hidden(rel, e.name):
                        continue
                    try:
                        st = stat_of(f"{e.path}/{child_file}")
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
            try:
                shutil.copyfile(local_path, tmp)
                os.replace(tmp, path)
            except BaseException:
                _unlink_quietly(tmp)
                raise
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise store_error(exc, "copying to", path) from exc

    def get(self, rel: str, local_path: str) -> None:
        fd, _, st = self._open(rel, os.O_RDONLY)
        os.close(fd)
        if not stat.S_ISDIR(st.st_mode):
            self.get_file(rel, local_path)
            return
        os.makedirs(local_path, exist_ok=True)
        for sub, _ in self.walk_files(rel):
            self.get_file(f"{rel}/{sub}" if rel else sub, os.path.join(local_path, *sub.split("/")))

    def get_file(self, rel: str, local_path: str) -> None:
        fd, path, st = self._open(rel, os.O_RDONLY)
        try:
            if stat.S_ISDIR(st.st_mode):
                raise StoreError(f"reading {path} failed: it is a folder, not a file")
            os.makedirs(os.path.dirname(os.path.abspath(local_path)), exist_ok=True)
            with open(local_path, "wb") as out:
                while chunk := os.read(fd, 1 << 20):
                    out.write(chunk)
        except StoreError:
            raise
        except OSError as exc:
            raise store_error(exc, "copying", path) from exc
        finally:
            os.close(fd)

    def remove_tree(self, rel: str) -> None:
        path = self._abs(rel)
        # Never through a link: the folder holding what is removed must be the store's own.
        if not self._inside(os.path.realpath(os.path.dirname(path))):
            raise StoreError(f"removing {path} refused: it leads outside the store "
                             f"{self.root} (through a symbolic link)")
        # Drop cached "directory exists" facts below the removed path.
        self._made = {d for d in self._made if not (d == path or d.startswith(path + os.sep))}
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                # rmtree never follows links below it (it removes the links themselves).
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise store_error(exc, "removing", path) from exc

    def uri_of(self, rel: str) -> str:
        return "file://" + self._abs(rel)
