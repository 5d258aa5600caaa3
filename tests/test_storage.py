"""The storage primitives under the layout stores: ranges, appends and their lock."""

import subprocess
import sys
import threading
from pathlib import Path

import fsspec
import pytest
from conftest import python_env

from modelops.backends.layout import FsspecStorage, LocalStorage

pytestmark = pytest.mark.skipif(not LocalStorage.appends, reason="no flock on this platform")


def test_append_returns_where_each_write_starts_and_read_range_reads_it_back(tmp_path):
    storage = LocalStorage(str(tmp_path))
    with storage.locked("a/log") as log:
        starts = [log.append(part) for part in (b"one", b"", b"three")]
        assert log.read(3) == b"three"
        starts.append(storage.append("a/log", b"4"))  # another file description, same end
    assert starts == [0, 3, 3, 8]
    assert storage.read_range("a/log", 3, 8) == b"three"
    assert storage.read_range("a/log", 8) == b"4"
    assert storage.read_range("a/log", 5, 100) == b"ree4"
    assert storage.read_range("a/log", 9) == b""
    with pytest.raises(FileNotFoundError):
        storage.read_range("a/missing", 0)


def test_a_storage_without_appends_still_reads_ranges():
    storage = FsspecStorage(fsspec.filesystem("memory"), "/ranges-test", protocol="memory")
    try:
        assert not storage.appends
        storage.create("f", b"0123456789")
        assert storage.read_range("f", 2, 5) == b"234"
        assert storage.read_range("f", 7) == b"789"
        with pytest.raises(FileNotFoundError):
            storage.read_range("missing", 0)
    finally:
        storage.remove_tree("")


def _increment(storage: LocalStorage) -> None:
    """Read a counter and write it back plus one, with a gap between: without the lock,
    racing writers lose increments."""
    with storage.locked("counter.lock"):
        try:
            value = int(storage.read_bytes("counter"))
        except FileNotFoundError:
            value = 0
        storage.exists("counter")  # a system call between the read and the write
        storage.replace("counter", str(value + 1).encode())


INCREMENTER = """
import sys
from modelops.backends.layout import LocalStorage
sys.path.insert(0, sys.argv[2])
from test_storage import _increment
storage = LocalStorage(sys.argv[1])
for _ in range(100):
    _increment(storage)
"""


def test_the_lock_orders_processes_and_threads(tmp_path):
    here = str(Path(__file__).parent)
    procs = [subprocess.Popen([sys.executable, "-c", INCREMENTER, str(tmp_path), here],
                              env=python_env()) for _ in range(4)]
    # Meanwhile, threads of this process, each with its own storage object on the same root.
    failures = []

    def increments():
        try:
            for _ in range(50):
                _increment(LocalStorage(str(tmp_path)))
        except Exception as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=increments) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
    for p in procs:
        assert p.wait(timeout=300) == 0
    assert LocalStorage(str(tmp_path)).read_bytes("counter") == b"600"
