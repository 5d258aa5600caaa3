"""``PredictionStoreSuite``: the conformance tests every ``PredictionStore`` must pass.

A backend author subclasses the suite in a test module and provides a ``store`` fixture
returning a fresh, empty store::

    import pytest
    from modelops.testing import PredictionStoreSuite, StoreCapabilities

    class TestMyPredictionStore(PredictionStoreSuite):
        capabilities = StoreCapabilities(concurrent_processes=False)

        @pytest.fixture
        def store(self, tmp_path):
            store = MyPredictionStore(tmp_path)
            yield store
            store.close()

The suite talks to the store only through the ``PredictionStore`` interface. It checks the
contract written there: a part is stored whole and read back byte for byte, and a part
written with a ``part_id`` at most once; parts are listed
by day, then in the order they were written, within the days asked for; predictions and
feedback, and models, are kept apart; a compaction (``replace_parts``) is one change for
readers, who never see both the new part and a part it replaced; retention removes whole
days before a cut; unknown kinds and formats are refused with ``InvalidInput``; and several
handles, threads and processes writing parts at once lose none.

Capabilities come from ``StoreCapabilities`` (shared with the other suites); the ones this
suite uses are ``concurrent_threads``, ``reopen`` and ``concurrent_processes``. This module
needs pytest (it is a pytest test class); it does not need hypothesis.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from typing import Any

import pytest

from modelops.errors import InvalidInput, NotFound
from modelops.stores import PredictionStore
from modelops.stores.predictions import KINDS, Part
from modelops.testing.base import StoreCapabilities, StoreSuite, in_threads
from modelops.testing.tracking import AWKWARD_NAMES

__all__ = ["PredictionStoreSuite", "StoreCapabilities", "lines"]

D1, D2, D3, D4 = "2026-09-20", "2026-09-21", "2026-09-22", "2026-09-23"


def lines(*ids: Any, model: str = "fraud") -> bytes:
    """A part of JSON lines, one prediction record per id, as the logger writes them."""
    return "".join(json.dumps({"id": str(i), "ts": 1_790_000_000_000, "version": "1.0.0",
                               "prediction": model, "features": {"x": i}},
                              separators=(",", ":")) + "\n"
                   for i in ids).encode()


def _names(parts: Sequence[Part]) -> list[str]:
    return [p.name for p in parts]


_CHILD_SCRIPT = textwrap.dedent("""
    import json, os, sys, time
    from modelops.client import open_store
    from modelops.testing.predictions import lines
    from modelops.uri import parse_uri

    uri, model, barrier, index, count = sys.argv[1:6]
    index, count = int(index), int(count)
    store = open_store("predictions", parse_uri(uri))
    open(os.path.join(barrier, str(index)), "w").close()
    deadline = time.monotonic() + 60
    while len(os.listdir(barrier)) < count and time.monotonic() < deadline:
        time.sleep(0.001)
    names = [store.write_part(model, "predictions", "2026-09-21",
                              lines(index * 100 + i)).name for i in range(5)]
    store.close()
    print(json.dumps(names))
""")


class PredictionStoreSuite(StoreSuite):
    """Conformance tests of the ``PredictionStore`` contract.

    Subclass it as ``class TestMyStore(PredictionStoreSuite)`` and define a ``store``
    fixture that returns a fresh, empty store. The class name has no ``Test`` prefix, so
    pytest collects it only through subclasses.
    """

    # -- fixtures and shared steps -------------------------------------------------------------

    @pytest.fixture
    def store(self) -> PredictionStore:
        """Overridden by the subclass: a fresh, empty PredictionStore."""
        pytest.fail(f"{type(self).__name__} must define a `store` fixture returning a fresh, "
                    "empty PredictionStore")

    def open_again(self, store: PredictionStore) -> PredictionStore:
        """A second handle on the same data, as another process would open it."""
        from modelops.client import open_store
        from modelops.uri import parse_uri

        other = open_store("predictions", parse_uri(self.store_uri(store)))
        assert other is not None, f"no prediction store at {self.store_uri(store)}"
        return other

    @staticmethod
    def read_all(store: PredictionStore, model: str, kind: str = "predictions",
                 first_day: str | None = None, last_day: str | None = None) -> bytes:
        """Every live part's bytes, in listing order, concatenated."""
        return b"".join(store.read_part(model, p)
                        for p in store.list_parts(model, kind, first_day, last_day))

    # -- the store object -----------------------------------------------------------------

    def test_store_is_a_prediction_store(self, store: PredictionStore) -> None:
        assert isinstance(store, PredictionStore)
        assert isinstance(store.uri, str)

    def test_fresh_store_is_empty(self, store: PredictionStore) -> None:
        assert store.list_models() == []
        for kind in KINDS:
            assert store.list_parts("fraud", kind) == []
        assert store.delete_before("fraud", "predictions", D4) == []

    # -- writing and reading parts --------------------------------------------------------

    def test_write_part_returns_the_part(self, store: PredictionStore) -> None:
        data = lines(1, 2, 3)
        part = store.write_part("fraud", "predictions", D2, data)
        assert isinstance(part, Part)
        assert (part.kind, part.day, part.fmt) == ("predictions", D2, "jsonl")
        assert part.size in (None, len(data))
        assert store.list_parts("fraud", "predictions") == [part]
        assert store.read_part("fraud", part) == data

    def test_a_part_id_is_written_once(self, store: PredictionStore) -> None:
        """A part written with a ``part_id`` is named by it; writing that id again (a
        replay done twice) stores nothing more and keeps the first bytes."""
        part_id = "0" * 31 + "1-000000"
        first = store.write_part("fraud", "predictions", D2, lines(1, 2), part_id=part_id)
        again = store.write_part("fraud", "predictions", D2, lines(9), part_id=part_id)
        assert part_id in first.name and again.name == first.name
        (part,) = store.list_parts("fraud", "predictions")
        assert store.read_part("fraud", part) == lines(1, 2)
        for bad in ("../x", "A", "", "x/y", 5):
            with pytest.raises(InvalidInput, match="part_id"):
                store.write_part("fraud", "predictions", D2, lines(3), part_id=bad)
        assert len(store.list_parts("fraud", "predictions")) == 1

    def test_a_part_keeps_its_time_range(self, store: PredictionStore) -> None:
        """A part written with its records' time range is listed with it (or, by a store
        that cannot keep one, without any: never with another), and opens as a file of its
        bytes."""
        data = lines(1, 2)
        part = store.write_part("fraud", "predictions", D2, data,
                                span=(1_790_000_000_000, 1_790_000_360_000))
        (listed,) = store.list_parts("fraud", "predictions")
        assert listed == part
        assert (listed.first_ts, listed.last_ts) in (
            (1_790_000_000_000, 1_790_000_360_000), (None, None))
        assert listed.overlaps(1_790_000_360_000, None)
        with store.open_part("fraud", listed) as file:
            assert file.read() == data
        with store.open_part("fraud", listed) as file:
            file.seek(-3, 2)
            assert file.read(2) == data[-3:-1]

    def test_parts_round_trip_byte_for_byte(self, store: PredictionStore) -> None:
        """Non-ASCII text, escapes, long lines and a large part come back exactly."""
        odd = ('{"id":"é","features":{"名前":"😀","q":"a\\"b\\\\c\\u0000"},'
               '"prediction":null}\n').encode()
        large = lines(*range(20_000))
        for data in (odd, large, b"\n", odd * 3):
            part = store.write_part("fraud", "predictions", D2, data)
            assert store.read_part("fraud", part) == data

    def test_parts_listed_by_day_then_write_order(self, store: PredictionStore) -> None:
        """Parts written over days out of order are listed by day, each day's in the order
        written."""
        written = []
        for i, day in enumerate([D3, D1, D3, D2, D1, D3]):
            written.append(store.write_part("fraud", "predictions", day, lines(i)))
        listed = store.list_parts("fraud", "predictions")
        expected = [p for day in (D1, D2, D3) for p in written if p.day == day]
        assert _names(listed) == _names(expected)
        assert [p.day for p in listed] == [D1, D1, D2, D3, D3, D3]

    def test_many_parts_of_one_day_keep_their_order(self, store: PredictionStore) -> None:
        written = [store.write_part("fraud", "predictions", D2, lines(i)) for i in range(30)]
        assert _names(store.list_parts("fraud", "predictions")) == _names(written)
        assert self.read_all(store, "fraud") == b"".join(lines(i) for i in range(30))

    def test_list_parts_day_range_is_inclusive(self, store: PredictionStore) -> None:
        for i, day in enumerate([D1, D2, D3, D4]):
            store.write_part("fraud", "predictions", day, lines(i))

        def days(first: str | None, last: str | None) -> list[str]:
            return [p.day for p in store.list_parts("fraud", "predictions", first, last)]

        assert days(D2, D3) == [D2, D3]
        assert days(D2, D2) == [D2]
        assert days(None, D2) == [D1, D2]
        assert days(D3, None) == [D3, D4]
        assert days("2026-09-24", None) == []
        assert days(D3, D2) == []

    def test_predictions_and_feedback_are_kept_apart(self, store: PredictionStore) -> None:
        p = store.write_part("fraud", "predictions", D2, lines(1))
        f = store.write_part("fraud", "feedback", D2, b'{"id":"1","ts":1,"actual":0}\n')
        assert store.list_parts("fraud", "predictions") == [p]
        assert store.list_parts("fraud", "feedback") == [f]
        assert f.kind == "feedback"
        assert store.read_part("fraud", f) == b'{"id":"1","ts":1,"actual":0}\n'

    def test_models_are_kept_apart(self, store: PredictionStore) -> None:
        store.write_part("fraud", "predictions", D2, lines(1, model="fraud"))
        store.write_part("churn", "predictions", D2, lines(2, model="churn"))
        assert self.read_all(store, "fraud") == lines(1, model="fraud")
        assert self.read_all(store, "churn") == lines(2, model="churn")
        assert store.list_parts("fraud-2", "predictions") == []
        assert sorted(store.list_models()) == ["churn", "fraud"]

    def test_a_model_with_only_feedback_is_listed(self, store: PredictionStore) -> None:
        store.write_part("fraud", "feedback", D2, b'{"id":"1","ts":1,"actual":0}\n')
        assert store.list_models() == ["fraud"]

    @pytest.mark.parametrize("name", AWKWARD_NAMES)
    def test_awkward_model_names(self, store: PredictionStore, name: str) -> None:
        """Model names that are awkward as paths, keys or URLs keep their parts apart."""
        part = store.write_part(name, "predictions", D2, lines(1, model=name))
        store.write_part(name + "x", "predictions", D2, lines(2))
        assert store.list_parts(name, "predictions") == [part]
        assert store.read_part(name, part) == lines(1, model=name)
        assert name in store.list_models()

    def test_unknown_kind_refused(self, store: PredictionStore) -> None:
        with pytest.raises(InvalidInput, match="kind"):
            store.write_part("fraud", "logs", D2, lines(1))
        with pytest.raises(InvalidInput, match="kind"):
            store.list_parts("fraud", "logs")
        assert store.list_models() == []

    def test_read_of_a_missing_part_raises_not_found(self, store: PredictionStore) -> None:
        part = store.write_part("fraud", "predictions", D2, lines(1))
        with pytest.raises(NotFound):
            store.read_part("fraud", Part("predictions", D2, "part-" + "0" * 32 + ".jsonl"))
        with pytest.raises(NotFound):
            store.read_part("churn", part)

    # -- compaction -----------------------------------------------------------------------

    def test_replace_parts_is_one_change_for_readers(self, store: PredictionStore) -> None:
        """The compacted part is listed in place of the parts it replaces, never beside
        them; other days and the other kind are untouched."""
        day2 = [store.write_part("fraud", "predictions", D2, lines(i)) for i in range(4)]
        other_day = store.write_part("fraud", "predictions", D3, lines(9))
        feedback = store.write_part("fraud", "feedback", D2, b'{"id":"1","ts":1,"actual":0}\n')
        data = b"".join(store.read_part("fraud", p) for p in day2)
        compacted = store.replace_parts("fraud", "predictions", D2, data, "jsonl", day2)
        assert (compacted.kind, compacted.day, compacted.fmt) == ("predictions", D2, "jsonl")
        listed = store.list_parts("fraud", "predictions")
        assert _names(listed) == [compacted.name, other_day.name]
        assert store.read_part("fraud", listed[0]) == data
        assert self.read_all(store, "fraud") == data + lines(9)
        assert store.list_parts("fraud", "feedback") == [feedback]
        for part in day2:
            with pytest.raises(NotFound):
                store.read_part("fraud", part)

    def test_replace_some_parts_keeps_the_rest(self, store: PredictionStore) -> None:
        parts = [store.write_part("fraud", "predictions", D2, lines(i)) for i in range(4)]
        data = lines(0) + lines(1)
        compacted = store.replace_parts("fraud", "predictions", D2, data, "jsonl", parts[:2])
        listed = _names(store.list_parts("fraud", "predictions"))
        assert sorted(listed) == sorted([compacted.name, parts[2].name, parts[3].name])
        assert sorted(self.read_all(store, "fraud").splitlines()) == \
            sorted(b"".join(lines(i) for i in range(4)).splitlines())

    def test_parts_written_after_a_compaction_are_listed(self, store: PredictionStore) -> None:
        parts = [store.write_part("fraud", "predictions", D2, lines(i)) for i in range(2)]
        compacted = store.replace_parts("fraud", "predictions", D2, lines(0, 1), "jsonl",
                                        parts)
        later = store.write_part("fraud", "predictions", D2, lines(2))
        assert _names(store.list_parts("fraud", "predictions")) == \
            [compacted.name, later.name]

    def test_replace_parts_as_parquet_bytes(self, store: PredictionStore) -> None:
        """The store moves a Parquet part's bytes without reading them."""
        parts = [store.write_part("fraud", "predictions", D2, lines(i)) for i in range(2)]
        blob = b"PAR1" + bytes(range(256)) * 4 + b"PAR1"
        compacted = store.replace_parts("fraud", "predictions", D2, blob, "parquet", parts)
        assert compacted.fmt == "parquet"
        (listed,) = store.list_parts("fraud", "predictions")
        assert listed.fmt == "parquet"
        assert store.read_part("fraud", listed) == blob

    def test_unknown_format_refused(self, store: PredictionStore) -> None:
        parts = [store.write_part("fraud", "predictions", D2, lines(1))]
        with pytest.raises(InvalidInput, match="fmt"):
            store.replace_parts("fraud", "predictions", D2, b"x", "csv", parts)
        assert store.list_parts("fraud", "predictions") == parts

    # -- retention ------------------------------------------------------------------------

    def test_delete_before_removes_whole_days(self, store: PredictionStore) -> None:
        for i, day in enumerate([D1, D2, D2, D3, D4]):
            store.write_part("fraud", "predictions", day, lines(i))
        feedback = store.write_part("fraud", "feedback", D1, b'{"id":"0","ts":1,"actual":0}\n')
        other = store.write_part("churn", "predictions", D1, lines(7))
        assert sorted(store.delete_before("fraud", "predictions", D3)) == [D1, D2]
        assert [p.day for p in store.list_parts("fraud", "predictions")] == [D3, D4]
        assert self.read_all(store, "fraud") == lines(3) + lines(4)
        assert store.list_parts("fraud", "feedback") == [feedback]
        assert store.list_parts("churn", "predictions") == [other]
        assert store.delete_before("fraud", "predictions", D3) == []
        assert sorted(store.delete_before("fraud", "feedback", D4)) == [D1]
        assert store.list_parts("fraud", "feedback") == []

    @pytest.mark.parametrize("name", ["*", "[f]raud", "fr?ud", "fraud*"])
    def test_retention_of_a_pattern_like_name_spares_other_models(self, store: PredictionStore,
                                                                  name: str) -> None:
        """Names such as ``*`` or ``[f]raud`` are names, not patterns: removing their old
        days leaves the parts of every other model alone."""
        store.write_part(name, "predictions", D1, lines(1))
        others = {m: store.write_part(m, "predictions", D1, lines(2, model=m))
                  for m in ("fraud", "frbud")}
        assert store.delete_before(name, "predictions", D2) == [D1]
        assert store.list_parts(name, "predictions") == []
        for model, part in others.items():
            assert store.list_parts(model, "predictions") == [part]

    # -- several handles ------------------------------------------------------------------

    def test_second_handle_sees_parts(self, store: PredictionStore) -> None:
        """A handle opened later by URI reads the parts the first wrote; the first reads
        the second's."""
        self.require("reopen")
        first = store.write_part("fraud", "predictions", D2, lines(1))
        other = self.open_again(store)
        try:
            assert other.list_parts("fraud", "predictions") == [first]
            assert other.read_part("fraud", first) == lines(1)
            second = other.write_part("fraud", "predictions", D2, lines(2))
        finally:
            other.close()
        assert _names(store.list_parts("fraud", "predictions")) == [first.name, second.name]
        assert store.list_models() == ["fraud"]

    # -- concurrency ----------------------------------------------------------------------

    def test_threads_writing_parts_lose_none(self, store: PredictionStore) -> None:
        """8 threads writing 5 parts each to one model and day: all 40 are listed, each
        whole, and no name is used twice."""
        self.require("concurrent_threads")

        def write(i: int) -> list[Part]:
            return [store.write_part("fraud", "predictions", D2, lines(i * 100 + j))
                    for j in range(5)]

        written = [p for ps in in_threads(8, write) for p in ps]
        listed = store.list_parts("fraud", "predictions")
        assert len(set(_names(listed))) == 40
        assert sorted(_names(listed)) == sorted(_names(written))
        assert sorted(self.read_all(store, "fraud").splitlines()) == sorted(
            b"".join(lines(i * 100 + j) for i in range(8) for j in range(5)).splitlines())

    @pytest.mark.slow
    def test_processes_writing_parts_lose_none(self, store: PredictionStore,
                                               tmp_path: Any) -> None:
        """4 processes open the store by URI and write 5 parts each to one model and day at
        once: all 20 are there, each whole."""
        self.require("concurrent_processes")
        count = 4
        barrier = tmp_path / "barrier"
        barrier.mkdir()
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", _CHILD_SCRIPT, self.store_uri(store), "shared",
                 str(barrier), str(i), str(count)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for i in range(count)
        ]
        written = []
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            written += json.loads(out.strip().splitlines()[-1])
        listed = store.list_parts("shared", "predictions")
        assert sorted(_names(listed)) == sorted(written)
        assert sorted(self.read_all(store, "shared").splitlines()) == sorted(
            b"".join(lines(i * 100 + j) for i in range(count) for j in range(5)).splitlines())
