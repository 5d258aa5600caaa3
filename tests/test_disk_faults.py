"""A full disk or a read-only store: failed writes leave no temporary file, and reads never
fail because a cache could not be written."""

import errno
import os
import time

import pytest

import modelops
from modelops import StoreError
from modelops.backends.layout import local as storage_module
from modelops.backends.layout.local import LocalStorage


def _fail(code):
    def write_all(fd, data):
        os.write(fd, data[: len(data) // 2])
        raise OSError(code, os.strerror(code))

    return write_all


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EIO, errno.EROFS])
def test_a_failed_write_leaves_no_temporary_file(tmp_path, monkeypatch, code):
    storage = LocalStorage(str(tmp_path))
    storage.create("kept.json", b"{}")
    monkeypatch.setattr(storage_module, "_write_all", _fail(code))
    for write in (lambda: storage.create("a/new.json", b"x" * 1000),
                  lambda: storage.replace("a/replaced.json", b"x" * 1000)):
        with pytest.raises(StoreError):
            write()
    assert os.listdir(tmp_path / ".tmp") == []
    assert storage.listdir("a") == []


def test_a_failed_rename_or_copy_leaves_no_temporary_file(tmp_path, monkeypatch):
    storage = LocalStorage(str(tmp_path))
    source = tmp_path / "local.bin"
    source.write_bytes(b"x" * 100)

    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(storage_module.os, "replace", refuse)
    monkeypatch.setattr(storage_module.os, "link", refuse)
    for write in (lambda: storage.replace("r.json", b"{}"),
                  lambda: storage.create("c.json", b"{}"),
                  lambda: storage.put_file(str(source), "p.bin")):
        with pytest.raises(StoreError):
            write()
    assert os.listdir(tmp_path / ".tmp") == []


def test_stale_temporary_files_are_removed_when_a_store_is_opened(tmp_path):
    tmp = tmp_path / "store" / ".tmp"
    tmp.mkdir(parents=True)
    old, young = tmp / "01a0-old", tmp / "01a0-young"
    old.write_bytes(b"left by a process killed long ago")
    young.write_bytes(b"a live writer's")
    an_hour_and_more = time.time() - LocalStorage.STALE_TEMP_SECONDS - 60
    os.utime(old, (an_hour_and_more, an_hour_and_more))
    modelops.connect(tmp_path / "store").tracking.list_experiments()
    assert sorted(os.listdir(tmp)) == ["01a0-young"]


def test_a_search_succeeds_when_its_cache_cannot_be_written(tmp_path, monkeypatch):
    ops = modelops.connect(tmp_path / "store")
    for i in range(20):
        with ops.tracking.start_run(experiment="e", name=f"r{i}") as run:
            run.log_metric("m", i)
    real_replace = LocalStorage.replace

    def full_disk(self, rel, data):
        if rel.endswith("search-index"):
            raise StoreError(f"writing {rel} failed: No space left on device")
        return real_replace(self, rel, data)

    monkeypatch.setattr(LocalStorage, "replace", full_disk)
    fresh = modelops.connect(tmp_path / "store")
    runs = fresh.tracking.search_runs("e", order_by=["metrics.m DESC"])
    assert [r.name for r in runs][:3] == ["r19", "r18", "r17"]
