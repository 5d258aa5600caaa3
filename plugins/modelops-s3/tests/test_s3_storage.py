"""S3Storage, the layout's primitives on S3, checked against what really reached the bucket
(read back with a separate client)."""

from __future__ import annotations

import hashlib

import pytest
from modelops_s3 import S3Storage, open_storage
from s3_support import BUCKET, fresh_prefix

from modelops.testing.base import in_threads


@pytest.fixture
def raw(s3_server):
    """A separate client on the server: what is really in the bucket."""
    return s3_server.filesystem()


@pytest.fixture
def storage(s3_server) -> S3Storage:
    return open_storage("s3", f"{BUCKET}/{fresh_prefix('storage')}",
                        s3_server.storage_options())


def test_create_is_exclusive_and_whole(storage, raw):
    storage.create("a/b.json", b'{"x": 1}')
    with pytest.raises(FileExistsError):
        storage.create("a/b.json", b'{"x": 2}')
    assert storage.read_bytes("a/b.json") == b'{"x": 1}'
    assert raw.cat_file(f"{storage.root}/a/b.json") == b'{"x": 1}'


def test_threads_racing_to_create_one_key_have_one_winner(storage):
    def create(i: int) -> bool:
        try:
            storage.create("claim.json", f"thread {i}".encode())
            return True
        except FileExistsError:
            return False

    won = in_threads(8, create)
    assert sum(won) == 1
    assert storage.read_bytes("claim.json") == f"thread {won.index(True)}".encode()


def test_an_empty_create_is_still_exclusive(storage):
    storage.create("empty", b"")
    with pytest.raises(FileExistsError):
        storage.create("empty", b"")
    assert storage.read_bytes("empty") == b""


def test_replace_overwrites(storage):
    storage.replace("x", b"1")
    storage.replace("x", b"22")
    assert storage.read_bytes("x") == b"22"


def test_missing_objects(storage):
    with pytest.raises(FileNotFoundError):
        storage.read_bytes("nope")
    assert storage.read_json("nope") is None
    assert not storage.exists("nope")
    assert not storage.is_dir("nope")
    assert storage.listdir("nope") == []
    assert storage.signature("nope") is None
    storage.remove_tree("nope")  # missing is fine


def test_listing_folders_and_files(storage):
    for rel in ("d/a.json", "d/b/c.json", "d/b/d.json", "d/e/f/g", "dx/h"):
        storage.create(rel, rel.encode())
    assert storage.list_detail("d") == [("a.json", False, 8), ("b", True, None),
                                        ("e", True, None)]
    assert storage.listdir("") == ["d", "dx"]
    assert storage.is_dir("d/b") and not storage.is_dir("d/a.json")
    assert storage.exists("d/a.json") and storage.exists("d/e") and not storage.exists("d/z")
    assert sorted(storage.walk_files("d")) == [("a.json", 8), ("b/c.json", 10),
                                               ("b/d.json", 10), ("e/f/g", 7)]


def test_listing_follows_pages(storage):
    """With 3 keys a page, every listing still sees everything."""
    storage.page_size = 3
    for i in range(10):
        storage.create(f"runs/r{i:02d}/summary.json", b"{}")
        storage.create(f"runs/r{i:02d}/log/{i}.json", b"{}")
    storage.create("runs/empty-run/run.json", b"{}")
    assert storage.listdir("runs") == ["empty-run"] + [f"r{i:02d}" for i in range(10)]
    sigs = storage.signatures("runs", "summary.json")
    assert set(sigs) == {f"r{i:02d}" for i in range(10)} | {"empty-run"}
    assert sigs["empty-run"] is None
    assert all(sigs[f"r{i:02d}"] is not None for i in range(10))
    assert len(list(storage.walk_files("runs"))) == 21
    storage.remove_tree("runs")
    assert storage.listdir("runs") == []


def test_signatures_are_etags_that_change_with_content(storage):
    storage.replace("runs/a/summary.json", b"one")
    first = storage.signature("runs/a/summary.json")
    assert first == storage.signatures("runs", "summary.json")["a"]
    assert first[0].strip('"') == hashlib.md5(b"one").hexdigest()  # a single PUT's ETag
    storage.replace("runs/a/summary.json", b"two")
    assert storage.signatures("runs", "summary.json")["a"] != first
    assert storage.signature("runs/a/summary.json") != first


def test_a_signature_after_a_write_pairs_with_the_bytes_written(storage, raw):
    """The signature handed out right after this process replaced an object is the ETag of
    its own bytes, even if another machine overwrote the object in between — so a search
    cache pairing the two never mistakes the other machine's summary for its own."""
    storage.replace("runs/a/summary.json", b"mine")
    raw.pipe_file(f"{storage.root}/runs/a/summary.json", b"theirs")
    mine = storage.signature("runs/a/summary.json")
    assert mine[0].strip('"') == hashlib.md5(b"mine").hexdigest()
    assert storage.signatures("runs", "summary.json")["a"] != mine


def test_remove_tree_never_globs(storage):
    """Names are names: removing ``*`` or ``[a]`` removes only what is under that name."""
    for name in ("*", "[a]", "a", "a?", "b"):
        storage.create(f"m/{name}/x", b"1")
    storage.remove_tree("m/*")
    storage.remove_tree("m/[a]")
    assert storage.listdir("m") == sorted(["a", "a?", "b"])
    storage.remove_tree("m/a")
    assert storage.listdir("m") == sorted(["a?", "b"])


def test_remove_tree_in_batches(storage):
    storage.create("keep", b"1")
    for i in range(25):
        storage.create(f"gone/{i}", b"x")
    storage.remove_tree("gone")
    assert storage.listdir("") == ["keep"]


def test_put_file_and_get(storage, tmp_path):
    local = tmp_path / "weights.bin"
    local.write_bytes(bytes(range(256)) * 1000)
    storage.put_file(str(local), "art/w.bin")
    storage.put_file(str(local), "art/sub/w2.bin")
    storage.get("art/w.bin", str(tmp_path / "out" / "w.bin"))
    assert (tmp_path / "out" / "w.bin").read_bytes() == local.read_bytes()
    storage.get("art", str(tmp_path / "tree"))
    assert (tmp_path / "tree" / "sub" / "w2.bin").read_bytes() == local.read_bytes()
    with pytest.raises(FileNotFoundError):
        storage.get("art/none", str(tmp_path / "none"))
    with pytest.raises(FileNotFoundError):
        storage.put_file(str(tmp_path / "missing"), "art/m")
    assert not storage.exists("art/m")


def test_folder_markers_made_by_other_tools_are_ignored(storage, raw):
    """Consoles and some tools create empty ``folder/`` objects; they are not entries."""
    raw.call_s3("put_object", Bucket=BUCKET, Key=f"{storage.prefix}/models/", Body=b"")
    storage.create("models/m/model.json", b"{}")
    assert storage.listdir("models") == ["m"]
    assert storage.list_detail("") == [("models", True, None)]


@pytest.mark.parametrize("key", ["art/../x.bin", "art/./x.bin", "art//x.bin", "art/a\\b"])
def test_keys_no_read_could_address_are_not_listed(storage, raw, key):
    """An object another tool (or a crafted writer) put at a key with a ``.``, ``..`` or
    empty segment is refused by every read: listings showed ``.`` and ``..`` as folders."""
    raw.call_s3("put_object", Bucket=BUCKET, Key=f"{storage.prefix}/{key}", Body=b"x")
    storage.create("art/ok.bin", b"ok")
    assert storage.listdir("art") == ["ok.bin"]
    assert list(storage.walk_files("art")) == [("ok.bin", 2)]


def test_uris(s3_server):
    storage = open_storage("s3a", f"{BUCKET}/team/mlops/", s3_server.storage_options())
    assert storage.uri == f"s3a://{BUCKET}/team/mlops"
    assert storage.uri_of("models/m") == f"s3a://{BUCKET}/team/mlops/models/m"
    root = open_storage("s3", BUCKET, s3_server.storage_options())
    assert root.uri == f"s3://{BUCKET}" and root.prefix == ""
