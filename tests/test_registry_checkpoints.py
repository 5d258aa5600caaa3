"""Checkpoints of a model's folded state: a fresh reader starts from the latest one and reads
only the events after it, and gets the same answers as one that folds the whole trail; a
damaged checkpoint is ignored with a warning. Choosing the next version reads only the
versions registered since the last choice."""

import json
import warnings
import zlib

import pytest

import modelops
from modelops import StoreWarning
from modelops.registry import service

EVERY = 4


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A model with 10 versions and 11 events of every kind the state folds (checkpoints
    after events 4 and 8)."""
    monkeypatch.setattr(service, "CHECKPOINT_EVERY", EVERY)
    source = tmp_path / "model.bin"
    source.write_bytes(b"weights")
    ops = modelops.connect(tmp_path / "store")
    for _ in range(10):
        ops.registry.register("m", str(source), flavor="path")
    reg = ops.registry
    reg.promote("m", "1.0.1", stage="production")
    reg.promote("m", "1.0.3", stage="production")
    reg.set_alias("m", "champion", "1.0.2")
    reg.tag("m", {"team": "risk"})
    reg.tag("m", {"owner": "ana"}, version="1.0.3")
    reg.describe("m", "the credit model")
    reg.promote("m", "1.0.5", stage="staging")
    reg.rollback("m")
    reg.describe("m", "current", version="1.0.1")
    reg.set_alias("m", "challenger", "1.0.5")
    reg.remove_alias("m", "challenger")
    return tmp_path / "store"


def _checkpoints(store):
    return sorted((store / "models" / "m" / "checkpoints").iterdir())


def _view(ops):
    """Everything the folded state decides, as a reader sees it."""
    reg = ops.registry
    model = reg.get_model("m")
    return ([(v.version, v.stage.value, v.aliases, v.tags, v.description)
             for v in reg.list_versions("m")],
            model.tags, model.description, reg.get_version("m", stage="production").version)


def _folded_from_the_first_event(store):
    """The view of a reader with no checkpoints (they are moved away, then back)."""
    folder = store / "models" / "m" / "checkpoints"
    aside = folder.with_name("aside")
    folder.rename(aside)
    try:
        return _view(modelops.connect(store))
    finally:
        aside.rename(folder)


def test_writers_checkpoint_every_few_events_and_fresh_readers_agree(store):
    assert [p.name for p in _checkpoints(store)] == ["000000000004.json", "000000000008.json"]
    expected = _folded_from_the_first_event(store)
    assert expected[3] == "1.0.1"  # the rollback put 1.0.1 back in production
    fresh = modelops.connect(store)
    assert _view(fresh) == expected
    assert fresh.registry._states["m"].seq == 11
    # The fresh reader went on from the checkpoint: later events fold on top of it.
    fresh.registry.promote("m", "1.0.9", stage="production")
    assert modelops.connect(store).registry.get_version("m", stage="production").version \
        == "1.0.9"


def test_a_fresh_reader_reads_only_the_events_after_the_checkpoint(store, monkeypatch):
    from modelops.backends.layout.registry import LayoutRegistryStore

    asked = []
    real = LayoutRegistryStore.list_events

    def spy(self, name, after_seq=0):
        asked.append(after_seq)
        return real(self, name, after_seq)

    monkeypatch.setattr(LayoutRegistryStore, "list_events", spy)
    assert modelops.connect(store).registry.get_version("m", stage="production").version \
        == "1.0.1"
    assert asked == [8]


def _damage(path, how):
    data = path.read_bytes()
    if how == "torn":
        path.write_bytes(data[: len(data) // 2])
    elif how == "flipped":  # one byte changed: the checksum catches it
        at = data.index(b'"production"') + 2
        path.write_bytes(data[:at] + b"X" + data[at + 1:])
    else:  # checksum right, content of the wrong shape
        _, _, body = data.partition(b"\n")
        record = json.loads(body)
        record["state"]["stages"] = {"1.0.3": "everywhere"}
        body = json.dumps(record).encode()
        path.write_bytes(b"%08x\n%s" % (zlib.crc32(body), body))


@pytest.mark.parametrize("how", ["torn", "flipped", "wrong shape"])
def test_a_damaged_checkpoint_is_ignored_with_a_warning(store, how):
    expected = _folded_from_the_first_event(store)
    latest = _checkpoints(store)[-1]
    _damage(latest, how)
    with pytest.warns(StoreWarning, match="checkpoint"):
        assert _view(modelops.connect(store)) == expected


def test_every_checkpoint_damaged_means_the_whole_trail_is_read(store):
    expected = _folded_from_the_first_event(store)
    for path in _checkpoints(store):
        _damage(path, "torn")
    with pytest.warns(StoreWarning, match="checkpoint"):
        ops = modelops.connect(store)
        assert _view(ops) == expected


def test_a_checkpoint_that_cannot_be_written_fails_nothing(tmp_path, monkeypatch):
    from modelops.backends.layout.registry import LayoutRegistryStore

    monkeypatch.setattr(service, "CHECKPOINT_EVERY", 1)

    def refuse(self, name, seq, data, versions=()):
        raise modelops.StoreError("disk full")

    monkeypatch.setattr(LayoutRegistryStore, "write_checkpoint", refuse)
    source = tmp_path / "model.bin"
    source.write_bytes(b"weights")
    ops = modelops.connect(tmp_path / "store")
    ops.registry.register("m", str(source), flavor="path")
    ops.registry.promote("m", "1.0.0", stage="production")
    assert modelops.connect(tmp_path / "store").registry.get_version(
        "m", stage="production").version == "1.0.0"


def test_the_next_version_counts_versions_another_process_registered(tmp_path):
    source = tmp_path / "model.bin"
    source.write_bytes(b"weights")
    one, two = modelops.connect(tmp_path / "s"), modelops.connect(tmp_path / "s")
    assert one.registry.register("m", str(source), flavor="path").version == "1.0.0"
    two.registry.register("m", str(source), flavor="path", version="3.1.0")
    two.registry.register("m", str(source), flavor="path", version="2.0.0")
    assert one.registry.register("m", str(source), flavor="path").version == "3.1.1"
    assert one.registry.register("m", str(source), bump="minor",
                                 flavor="path").version == "3.2.0"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert [v.version for v in two.registry.list_versions("m")] == \
            ["1.0.0", "2.0.0", "3.1.0", "3.1.1", "3.2.0"]


def test_a_fresh_look_up_reads_the_line_the_checkpoint_points_to(store, monkeypatch):
    from modelops.backends.layout.local import LocalStorage

    whole = []
    real = LocalStorage.read_bytes

    def spy(self, rel):
        whole.append(rel)
        return real(self, rel)

    monkeypatch.setattr(LocalStorage, "read_bytes", spy)
    ops = modelops.connect(store)
    assert ops.registry.get_version("m", stage="production").version == "1.0.1"
    assert ops.registry.get_version("m", alias="champion").version == "1.0.2"
    assert not [rel for rel in whole if rel.endswith("versions.log")]


def test_a_checkpoint_pointing_to_the_wrong_line_costs_only_a_scan(store):
    latest = _checkpoints(store)[-1]
    _, _, body = latest.read_bytes().partition(b"\n")
    record = json.loads(body)
    assert record["at"]  # where the versions looked up are
    record["at"] = {version: [0, 40] for version in record["at"]}
    body = json.dumps(record).encode()
    latest.write_bytes(b"%08x\n%s" % (zlib.crc32(body), body))
    ops = modelops.connect(store)
    assert ops.registry.get_version("m", stage="production").version == "1.0.1"
    assert ops.registry.get_version("m", alias="champion").version == "1.0.2"
