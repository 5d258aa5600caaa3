"""Paths that come from stored data, and links planted in a store, never reach outside it."""

import hashlib
import json
import os

import pytest

import modelops
from modelops import ModelOpsError, StoreError
from modelops.backends.layout.registry import _log_line

SECRET = b"the content of a file outside the store\n"


@pytest.fixture
def outside(tmp_path):
    """A file outside the store that no read may ever return."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_bytes(SECRET)
    return folder


def _crafted_record(ops, tmp_path, blobs, files):
    """A version record as a malicious store would hold it: a valid line of the versions
    log (its checksum right) whose blob map points wherever the author liked."""
    source = tmp_path / "model.bin"
    source.write_bytes(b"real weights")
    ops.registry.register("m", str(source), flavor="path")
    log = tmp_path / "store" / "models" / "m" / "versions.log"
    (line,) = [x for x in log.read_bytes().split(b"\n") if x]
    record = json.loads(line.split(b"\t")[1])
    record.update(version="1.0.1", files=files, size=sum(f["size"] for f in files),
                  blobs=blobs, packed={})
    with open(log, "ab") as f:
        f.write(_log_line("1.0.1", json.dumps(record).encode()))


def _secret_file():
    return {"path": "data/model.bin", "sha256": hashlib.sha256(SECRET).hexdigest(),
            "size": len(SECRET)}


@pytest.mark.parametrize("trusted", [True, False])
def test_a_crafted_blob_map_cannot_read_a_file_outside_the_store(tmp_path, outside, trusted):
    ops = modelops.connect(tmp_path / "store")
    escape = os.path.relpath(outside / "secret.txt", tmp_path / "store" / "models" / "m" / "blobs")
    _crafted_record(ops, tmp_path, {"data/model.bin": escape}, [_secret_file()])
    fresh = modelops.connect(tmp_path / "store")
    with pytest.raises(StoreError, match=r"versions\.log"):
        fresh.registry.load("m", "1.0.1", trusted=trusted)
    with pytest.raises(StoreError):
        fresh.registry.download("m", "1.0.1", str(tmp_path / "dl"))
    assert not (tmp_path / "dl").exists()
    # The other versions are still listed and load.
    assert [v.version for v in fresh.registry.list_versions("m")] == ["1.0.0"]
    with open(fresh.registry.load("m", "1.0.0"), "rb") as f:
        assert f.read() == b"real weights"


def test_a_blob_map_naming_a_folder_copies_nothing(tmp_path):
    ops = modelops.connect(tmp_path / "store")
    folder = {"path": "data/model.bin", "sha256": "0" * 64, "size": 1}
    _crafted_record(ops, tmp_path, {"data/model.bin": "../../m"}, [folder])
    with pytest.raises(StoreError, match=r"versions\.log"):
        modelops.connect(tmp_path / "store").registry.download("m", "1.0.1",
                                                               str(tmp_path / "dl"))
    assert not (tmp_path / "dl").exists()


def test_a_crafted_claim_on_an_object_store_is_refused(outside):
    """The same on a store that keeps one claim file per version (memory, S3)."""
    import fsspec

    fsspec.filesystem("memory").pipe_file("/outside/secret.txt", SECRET)
    ops = modelops.connect("memory://crafted-claim")
    ops.registry.register("m", {"w": 1}, flavor="joblib")
    storage = ops.registry.store.storage
    claim = json.loads(storage.read_bytes("models/m/versions/1.0.0.json"))
    claim.update(version="1.0.1", files=[_secret_file()],
                 blobs={"data/model.bin": "../../../../outside/secret.txt"})
    storage.create("models/m/versions/1.0.1.json", json.dumps(claim).encode())
    fresh = modelops.connect("memory://crafted-claim")
    with pytest.raises(StoreError, match=r"1\.0\.1"):
        fresh.registry.load("m", "1.0.1", trusted=False)
    assert [v.version for v in fresh.registry.list_versions("m")] == ["1.0.0"]


def _run_with_artifacts(tmp_path):
    ops = modelops.connect(tmp_path / "store")
    with ops.tracking.start_run(experiment="e") as run:
        run.log_text("fine", "plots/ok.txt")
    (artifacts,) = list((tmp_path / "store" / "experiments").glob("*/runs/*/artifacts"))
    return ops, run.run_id, artifacts


def test_a_symlink_planted_in_artifacts_is_not_followed(tmp_path, outside):
    ops, run_id, artifacts = _run_with_artifacts(tmp_path)
    os.symlink(outside / "secret.txt", artifacts / "plots" / "link.txt")
    with pytest.raises(StoreError, match="link"):
        ops.tracking.read_text(run_id, "plots/link.txt")
    with pytest.raises(StoreError, match="link"):
        ops.tracking.download_artifacts(run_id, "plots", str(tmp_path / "dl"))
    assert not (tmp_path / "dl").exists()
    assert ops.tracking.read_text(run_id, "plots/ok.txt") == "fine"


def test_a_symlinked_folder_in_a_store_is_not_followed(tmp_path, outside):
    ops, run_id, artifacts = _run_with_artifacts(tmp_path)
    os.symlink(outside, artifacts / "elsewhere")
    for call in (lambda: ops.tracking.read_text(run_id, "elsewhere/secret.txt"),
                 lambda: ops.tracking.download_artifacts(run_id, "elsewhere",
                                                         str(tmp_path / "dl")),
                 lambda: ops.tracking.list_artifacts(run_id, "elsewhere")):
        with pytest.raises(StoreError):
            call()
    assert not (tmp_path / "dl").exists()


def test_a_store_folder_replaced_by_a_link_is_not_followed(tmp_path, outside):
    """A link higher up (the run's whole artifacts folder) is refused just the same."""
    ops, run_id, artifacts = _run_with_artifacts(tmp_path)
    (outside / "plots").mkdir()
    (outside / "plots" / "ok.txt").write_bytes(SECRET)
    os.rename(artifacts, tmp_path / "moved")
    os.symlink(outside, artifacts)
    with pytest.raises(StoreError):
        ops.tracking.read_text(run_id, "plots/ok.txt")


def test_a_link_in_a_model_folder_is_not_followed(tmp_path, outside):
    ops = modelops.connect(tmp_path / "store")
    source = tmp_path / "model.bin"
    source.write_bytes(SECRET)  # the same bytes: only the link can tell them apart
    ops.registry.register("m", str(source), flavor="path")
    pack = tmp_path / "store" / "models" / "m" / "pack"
    os.rename(pack, tmp_path / "pack-moved")
    os.symlink(outside / "secret.txt", pack)
    with pytest.raises(ModelOpsError):
        modelops.connect(tmp_path / "store").registry.load("m", "1.0.0")


def _edit_record(tmp_path, version: str, edit) -> None:  # type: ignore[no-untyped-def]
    """Rewrite ``version``'s line of the versions log through ``edit(record)``, its checksum
    right, as a malicious store would hold it."""
    log = tmp_path / "store" / "models" / "m" / "versions.log"
    lines = []
    for line in log.read_bytes().split(b"\n"):
        if not line:
            continue
        name, body, _ = line.split(b"\t")
        record = json.loads(body)
        if name.decode() == version:
            edit(record)
        lines.append(_log_line(name.decode(), json.dumps(record).encode()))
    log.write_bytes(b"".join(lines))


@pytest.mark.parametrize("where", ["absolute", "../up", "./model.joblib/../x", "a\\b", 5, None,
                                   "missing.joblib"])
@pytest.mark.parametrize("flavor", ["joblib", "path"])
def test_a_model_file_named_by_a_crafted_record_is_one_of_the_versions(tmp_path, outside,
                                                                      where, flavor):
    """The record's flavor metadata names the file a flavor loads. Joined unchecked to the
    folder the verified files were placed in, an absolute or ``..`` path unpickled a file
    nobody verified, from anywhere."""
    import joblib

    ops = modelops.connect(tmp_path / "store")
    source = tmp_path / "weights.bin"
    source.write_bytes(b"real weights")
    ops.registry.register("m", {"real": 1} if flavor == "joblib" else str(source),
                          flavor=flavor)
    joblib.dump({"planted": True}, outside / "evil.joblib")
    named = {"absolute": str(outside / "evil.joblib"),
             "../up": "../outside/evil.joblib"}.get(where, where)
    key = "file" if flavor == "joblib" else "root"
    _edit_record(tmp_path, "1.0.0", lambda r: r["flavor_meta"].update({key: named}))
    fresh = modelops.connect(tmp_path / "store")
    with pytest.raises(StoreError, match=r"m 1\.0\.0: .*not a path inside|none of the"):
        fresh.registry.load("m", "1.0.0", dst_dir=tmp_path / "dl", trusted=True)
    if flavor == "path":   # loaded through a temporary folder of modelops' own
        with pytest.raises(StoreError, match=r"m 1\.0\.0"):
            fresh.registry.load("m", "1.0.0")


@pytest.mark.parametrize("also_files", [False, True])
def test_a_crafted_pack_range_never_allocates_past_the_pack(tmp_path, also_files):
    """A version's pack map gives where its file lies in the model's pack. A crafted size of
    10**15 made every load and download ask pread for that many bytes: a raw MemoryError.
    A size other than the file's is refused; one the crafted record also gives the file is
    read to the pack's end, and the digest refuses it."""
    ops = modelops.connect(tmp_path / "store")
    ops.registry.register("m", {"real": 1}, flavor="joblib")

    def huge(record):  # type: ignore[no-untyped-def]
        (path, (start, _)), = record["packed"].items()
        record["packed"] = {path: [start, 10**15]}
        if also_files:
            record["files"][0]["size"] = record["size"] = 10**15

    _edit_record(tmp_path, "1.0.0", huge)
    fresh = modelops.connect(tmp_path / "store")
    with pytest.raises(StoreError, match=r"1\.0\.0"):
        fresh.registry.load("m", "1.0.0")
    with pytest.raises(StoreError, match=r"1\.0\.0"):
        fresh.registry.download("m", "1.0.0", str(tmp_path / "dl"))
