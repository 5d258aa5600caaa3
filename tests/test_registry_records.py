"""A damaged or stray file in a model's folder costs at most that record: the model's history
moves on past a torn event, and one model's trouble never breaks another's."""

import json
import threading

import pytest

import modelops
from modelops import StoreWarning


@pytest.fixture
def store(tmp_path):
    source = tmp_path / "model.bin"
    source.write_bytes(b"weights")
    ops = modelops.connect(tmp_path / "store")
    for _ in range(3):
        ops.registry.register("m", str(source), flavor="path")
    ops.registry.register("other", str(source), flavor="path")
    ops.registry.promote("m", "1.0.0")
    ops.registry.promote("m", "1.0.1")
    return tmp_path / "store"


def _events(store, model="m"):
    return store / "models" / model / "events"


def _tear(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # what a machine crash without fsync can leave
    return data[: len(data) // 2]


def test_a_torn_newest_event_is_set_aside_and_the_history_moves_on(store):
    torn = _tear(_events(store) / "000000000002.json")
    ops = modelops.connect(store)
    with pytest.warns(StoreWarning, match=r"000000000002\.json"):
        assert ops.registry.get_version("m", stage="production").version == "1.0.0"
    # The next change claims a number after the torn one instead of failing for good.
    with pytest.warns(StoreWarning, match="quarantine"):
        ops.registry.promote("m", "1.0.2")
    history = modelops.connect(store).registry.history("m")
    assert [(e.seq, e.action) for e in history] == [(1, "promote"), (2, "quarantined"),
                                                     (3, "promote")]
    assert "000000000002.json" in history[1].reason
    assert modelops.connect(store).registry.get_version("m", stage="production").version \
        == "1.0.2"
    # The torn bytes are kept, never deleted.
    (kept,) = (store / "models" / "m" / "quarantine").iterdir()
    assert kept.read_bytes() == torn


@pytest.mark.filterwarnings("ignore::modelops.StoreWarning")
def test_two_writers_meeting_a_torn_event_claim_each_number_once(store):
    _tear(_events(store) / "000000000002.json")
    clients = [modelops.connect(store) for _ in range(4)]
    barrier = threading.Barrier(len(clients))
    errors = []

    def promote(i):
        try:
            barrier.wait()
            clients[i].registry.set_alias("m", f"a{i}", "1.0.2")
        except Exception as exc:  # re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=promote, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    history = modelops.connect(store).registry.history("m")
    assert [e.seq for e in history] == list(range(1, 7))
    assert [e.action for e in history].count("quarantined") == 1
    assert sorted(e.payload["target"] for e in history[2:]) == ["a0", "a1", "a2", "a3"]
    assert len(list((store / "models" / "m" / "quarantine").iterdir())) == 1


@pytest.mark.parametrize("stray", [".DS_Store", "notes.txt", "000000000009.json.bak", "7.json"])
def test_a_stray_file_in_events_is_ignored(store, stray):
    (_events(store) / stray).write_text("not an event")
    ops = modelops.connect(store)
    assert [m.name for m in ops.registry.list_models()] == ["m", "other"]
    assert [e.seq for e in ops.registry.history("m")] == [1, 2]
    ops.registry.promote("m", "1.0.2")
    assert [e.seq for e in ops.registry.history("m")] == [1, 2, 3]


@pytest.mark.parametrize("shape", [{}, [], {"seq": 1}, "text", 3,
                                   {"model": "m", "seq": 1, "action": "promote",
                                    "changes": "production"},
                                   {"model": "other", "seq": 1, "action": "promote"}])
def test_an_event_of_the_wrong_shape_is_skipped_with_a_warning_naming_it(store, shape):
    (_events(store) / "000000000001.json").write_text(json.dumps(shape))
    ops = modelops.connect(store)
    with pytest.warns(StoreWarning, match=r"000000000001\.json"):
        assert [m.name for m in ops.registry.list_models()] == ["m", "other"]
    assert [e.seq for e in ops.registry.history("m")] == [2]
    assert ops.registry.get_version("m", stage="production").version == "1.0.1"


@pytest.mark.parametrize("payload", [{"set": ["a"]}, {"set": {"k": 1}}, {"unset": "k"}])
def test_an_event_whose_payload_makes_no_sense_counts_but_changes_nothing(store, payload):
    """A record the store reads whole but whose payload the registry cannot apply: its
    number stays taken (the history moves on after it), its effect is none."""
    (_events(store) / "000000000002.json").write_text(json.dumps(
        {"model": "m", "seq": 2, "action": "tag", "payload": payload}))
    ops = modelops.connect(store)
    with pytest.warns(StoreWarning, match="event 2 of model 'm'"):
        assert ops.registry.get_model("m").tags == {}
    ops.registry.tag("m", {"k": "v"})
    assert [e.seq for e in ops.registry.history("m")] == [1, 2, 3]
    assert modelops.connect(store).registry.get_model("m").tags == {"k": "v"}


@pytest.mark.parametrize("shape", [{}, [], {"name": 3}, {"name": "m", "tags": [1]}, "x"])
def test_a_model_record_of_the_wrong_shape_costs_only_that_model(store, shape):
    (store / "models" / "m" / "model.json").write_text(json.dumps(shape))
    (store / "models" / ".DS_Store").write_text("finder")
    ops = modelops.connect(store)
    with pytest.warns(StoreWarning, match=r"model\.json"):
        assert [m.name for m in ops.registry.list_models()] == ["other"]
    with pytest.raises(modelops.StoreError, match=r"model\.json"):
        ops.registry.get_model("m")
    assert ops.registry.get_model("other").name == "other"


def test_undecodable_bytes_in_an_event_are_skipped(store):
    (_events(store) / "000000000001.json").write_bytes(b'{"model": "\xff\xfe"}')
    ops = modelops.connect(store)
    with pytest.warns(StoreWarning, match=r"000000000001\.json"):
        assert [e.seq for e in ops.registry.history("m")] == [2]


#: JSON nested deeper than any parser recurses: Python's refuses it with a RecursionError.
DEEP = b'{"model": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


def test_an_event_nested_too_deeply_to_parse_is_skipped_as_any_unreadable_one(store):
    (_events(store) / "000000000001.json").write_bytes(DEEP)
    ops = modelops.connect(store)
    with pytest.warns(StoreWarning, match=r"000000000001\.json"):
        assert [e.seq for e in ops.registry.history("m")] == [2]
    assert ops.registry.get_version("m", stage="production").version == "1.0.1"


def test_a_model_record_nested_too_deeply_to_parse_reads_as_one_that_is_not_json(store):
    """As a record cut short by a crash: the model reads as absent, the others as they are."""
    for damaged in (DEEP, b'{"name": "m", "tags": {'):
        (store / "models" / "m" / "model.json").write_bytes(damaged)
        ops = modelops.connect(store)
        assert [m.name for m in ops.registry.list_models()] == ["other"]
        with pytest.raises(modelops.NotFound, match="'m'"):
            ops.registry.get_model("m")
        assert ops.registry.get_model("other").name == "other"
