"""modelops removes only what it created: loading or downloading a version into a directory
the user gave keeps every file that was there."""

import hashlib
import os

import pytest

import modelops
from modelops import IntegrityError, InvalidInput


@pytest.fixture
def ops(tmp_path):
    ops = modelops.connect(tmp_path / "store")
    source = tmp_path / "source"
    (source / "sub").mkdir(parents=True)
    (source / "weights.bin").write_bytes(b"w" * 100)
    (source / "sub" / "config.json").write_bytes(b'{"a": 1}')
    ops.registry.register("m", str(source), flavor="path")
    return ops


def _user_dir(tmp_path):
    mine = tmp_path / "mine"
    (mine / "notes").mkdir(parents=True)
    (mine / "thesis.txt").write_text("years of work")
    (mine / "notes" / "todo.md").write_text("- finish")
    return mine


def _user_files_intact(mine):
    assert (mine / "thesis.txt").read_text() == "years of work"
    assert (mine / "notes" / "todo.md").read_text() == "- finish"


def _tamper(tmp_path, content):
    """Change the stored bytes of the version's weights (what a disk fault would do)."""
    digest = hashlib.sha256(content).hexdigest()
    blob = tmp_path / "store" / "models" / "m" / "blobs" / digest
    if blob.exists():
        blob.write_bytes(b"x" * len(content))
        return
    pack = tmp_path / "store" / "models" / "m" / "pack"
    data = pack.read_bytes()
    at = data.index(content)
    pack.write_bytes(data[:at] + b"x" * len(content) + data[at + len(content):])


def test_download_into_a_directory_holding_user_files_keeps_them(ops, tmp_path):
    mine = _user_dir(tmp_path)
    ops.registry.download("m", "1.0.0", str(mine))
    _user_files_intact(mine)
    assert (mine / "data" / "weights.bin").read_bytes() == b"w" * 100
    assert (mine / "data" / "sub" / "config.json").read_bytes() == b'{"a": 1}'


def test_load_with_dst_dir_holding_user_files_keeps_them(ops, tmp_path):
    mine = _user_dir(tmp_path)
    path = ops.registry.load("m", "1.0.0", dst_dir=str(mine))
    assert path == str(mine / "data")
    _user_files_intact(mine)


def test_a_failed_download_removes_only_what_it_wrote(ops, tmp_path):
    mine = _user_dir(tmp_path)
    _tamper(tmp_path, b"w" * 100)
    fresh = modelops.connect(tmp_path / "store")
    with pytest.raises(IntegrityError):
        fresh.registry.download("m", "1.0.0", str(mine))
    _user_files_intact(mine)
    assert sorted(os.listdir(mine)) == ["notes", "thesis.txt"]  # nothing of modelops left
    with pytest.raises(IntegrityError):
        fresh.registry.load("m", "1.0.0", dst_dir=str(mine))
    assert sorted(os.listdir(mine)) == ["notes", "thesis.txt"]


def test_a_failed_download_into_a_new_directory_removes_that_directory(ops, tmp_path):
    _tamper(tmp_path, b"w" * 100)
    target = tmp_path / "new" / "deeper"
    with pytest.raises(IntegrityError):
        modelops.connect(tmp_path / "store").registry.download("m", "1.0.0", str(target))
    assert not (tmp_path / "new").exists()


def test_a_user_file_in_the_way_is_refused_before_anything_is_written(ops, tmp_path):
    mine = _user_dir(tmp_path)
    (mine / "data" / "sub").mkdir(parents=True)
    (mine / "data" / "sub" / "config.json").write_text("the user's own config")
    with pytest.raises(InvalidInput, match=r"config\.json"):
        ops.registry.download("m", "1.0.0", str(mine))
    _user_files_intact(mine)
    assert (mine / "data" / "sub" / "config.json").read_text() == "the user's own config"
    assert sorted(os.listdir(mine / "data")) == ["sub"]  # weights.bin was not written


def test_a_file_already_holding_the_same_bytes_is_kept_as_it_is(ops, tmp_path):
    first = tmp_path / "first"
    ops.registry.download("m", "1.0.0", str(first))
    ops.registry.download("m", "1.0.0", str(first))  # again: the same bytes are there
    assert (first / "data" / "weights.bin").read_bytes() == b"w" * 100
    _tamper(tmp_path, b"w" * 100)
    with pytest.raises(IntegrityError):
        modelops.connect(tmp_path / "store").registry.download("m", "1.0.0", str(first))
    # The files were there before this call: they are not this call's to remove.
    assert (first / "data" / "weights.bin").read_bytes() == b"w" * 100


def test_load_without_dst_dir_leaves_no_temporary_copy(ops, tmp_path, monkeypatch):
    tmp = tmp_path / "tmpdir"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    _tamper(tmp_path, b"w" * 100)
    with pytest.raises(IntegrityError):
        modelops.connect(tmp_path / "store").registry.load("m", "1.0.0")
    assert os.listdir(tmp) == []


def test_download_artifacts_never_overwrites_a_user_file(tmp_path):
    ops = modelops.connect(tmp_path / "store")
    with ops.tracking.start_run(experiment="e") as run:
        run.log_text("from the run", "report.txt")
        run.log_text("plot", "plots/a.txt")
    mine = _user_dir(tmp_path)
    (mine / "report.txt").write_text("the user's report")
    with pytest.raises(InvalidInput, match=r"report\.txt"):
        ops.tracking.download_artifacts(run.run_id, "", str(mine))
    assert (mine / "report.txt").read_text() == "the user's report"
    assert not (mine / "plots").exists()
    _user_files_intact(mine)
    other = tmp_path / "other"
    local = ops.tracking.download_artifacts(run.run_id, "plots", str(other))
    assert local == str(other / "plots")
    assert (other / "plots" / "a.txt").read_text() == "plot"
