"""``TrackingStoreSuite``: the conformance tests every ``TrackingStore`` must pass, by area.

A backend author subclasses the suite in a test module and provides a ``store`` fixture
returning a fresh, empty store::

    import pytest
    from modelops.testing import StoreCapabilities, TrackingStoreSuite

    class TestMyStore(TrackingStoreSuite):
        capabilities = StoreCapabilities(concurrent_processes=False)

        @pytest.fixture
        def store(self, tmp_path):
            store = MyTrackingStore(tmp_path)
            yield store
            store.close()

The suite talks to the store only through the ``TrackingStore`` interface, so it runs
unchanged against any backend. A capability a backend lacks (see ``StoreCapabilities``)
turns the tests that need it into a named ``pytest.skip``. To mark a test as a known failure
of one backend, override it in the subclass with a ``pytest.mark.xfail`` and call
``super()``: marking the inherited function object itself would mark it for every backend.

The suite is the union of one mixin per area — ``ExperimentTests``, ``RunTests``,
``LoggingTests``, ``SearchTests``, ``ArtifactTests`` and ``SharingTests`` (several handles,
threads, processes), all built on ``TrackingStoreTests`` (the fixtures) — so a backend can
take the areas it serves piecemeal, as fsspec's abstract tests are split by operation.

This module needs pytest (it is a pytest test class); it does not need hypothesis.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import struct
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterable, Sequence
from typing import Any

import pytest

from modelops.entities import (
    Experiment,
    FileInfo,
    LifecycleStage,
    MetricSeries,
    Page,
    Run,
    RunStatus,
    ViewType,
)
from modelops.entities.validators import (
    MAX_NAME_LENGTH,
    MAX_PARAM_VALUE_LENGTH,
    MAX_TAG_VALUE_LENGTH,
)
from modelops.errors import (
    AlreadyExists,
    Conflict,
    InvalidInput,
    NotFound,
    ParamConflict,
)
from modelops.query import parse_filter, parse_order_by
from modelops.stores import TrackingStore
from modelops.testing.base import StoreCapabilities, StoreSuite, in_threads

__all__ = [
    "AWKWARD_NAMES",
    "INVALID_ARTIFACT_PATHS",
    "INVALID_NAMES",
    "StoreCapabilities",
    "TrackingStoreSuite",
    "assert_same_floats",
    "series",
]

#: A start time (epoch ms) the suite gives its runs.
T0 = 1_700_000_000_000

#: An id no store hands out: well-formed (32 hex digits), but unknown.
UNKNOWN_ID = "0" * 31 + "1"

#: Names every store must refuse with ``InvalidInput``, writing nothing: (id, value).
INVALID_NAMES: tuple[tuple[str, Any], ...] = (
    ("empty", ""),
    ("dot", "."),
    ("dotdot", ".."),
    ("traversal", "../x"),
    ("deep-traversal", "../../etc/passwd"),
    ("slash", "a/b"),
    ("leading-slash", "/abs"),
    ("trailing-slash", "a/"),
    ("backslash", "a\\b"),
    ("backslash-traversal", "..\\x"),
    ("nul", "a\x00b"),
    ("only-nul", "\x00"),
    ("newline", "a\nb"),
    ("tab", "a\tb"),
    ("carriage-return", "a\rb"),
    ("escape", "\x1b[31mred"),
    ("unit-separator", "a\x1fb"),
    ("delete", "a\x7fb"),
    ("leading-space", " lead"),
    ("trailing-space", "trail "),
    ("only-spaces", "   "),
    ("too-long", "x" * (MAX_NAME_LENGTH + 1)),
    ("version-id", "a?versionId=1"),
    ("question-mark", "a?b"),
    ("hash", "a#b"),
    ("leading-tilde", "~x"),
    ("lone-surrogate", "a\ud800b"),
    ("none", None),
    ("int", 42),
    ("bytes", b"name"),
)

#: Artifact paths every store must refuse with ``InvalidInput``: (id, value).
INVALID_ARTIFACT_PATHS: tuple[tuple[str, str], ...] = (
    ("dotdot", ".."),
    ("traversal", "../x"),
    ("deep-traversal", "../../../../etc/passwd"),
    ("inner-traversal", "a/../../x"),
    ("trailing-dotdot", "a/.."),
    ("dot-segment", "a/./b"),
    ("empty-segment", "a//b"),
    ("backslash", "a\\b"),
    ("backslash-traversal", "..\\x"),
    ("nul", "a\x00b"),
    ("newline", "a\nb"),
    ("question-mark", "a?versionId=1"),
    ("hash", "a#b"),
    ("long-segment", "é" * 128),
)

#: Valid names that are awkward for stores that map names to paths, keys or URLs.
AWKWARD_NAMES: tuple[str, ...] = (
    "a b", "a.b", "a..b", "-x", "x.json", "a:b", "a::b", "[x]", "*", "a=b&c", "%2F",
    "x~", "a~b", "$HOME", "a|b", "{x}", "'quoted'", '"dq"', "CON", "nul", "é", "Überprüfung",
    "名前", "😀", "a\u200bb", "Ωmega ∑",
)


def _bits(value: float) -> bytes:
    return struct.pack("<d", value)


def assert_same_floats(actual: Iterable[float], expected: Iterable[float]) -> None:
    """Element-wise exact equality: same bits, except that any NaN equals any NaN."""
    actual, expected = list(actual), list(expected)
    assert len(actual) == len(expected), (actual, expected)
    for i, (a, e) in enumerate(zip(actual, expected)):
        if math.isnan(e):
            assert math.isnan(a), f"point {i}: expected NaN, got {a!r}"
        else:
            assert _bits(a) == _bits(e), f"point {i}: expected {e!r}, got {a!r}"


def series(key: str, points: Sequence[tuple[int, float, int]]) -> MetricSeries:
    """A MetricSeries from ``(step, value, timestamp)`` points."""
    return MetricSeries(key, [p[0] for p in points], [p[1] for p in points],
                        [p[2] for p in points])


def _ids(items: Iterable[Run]) -> list[str]:
    return [r.info.run_id for r in items]


_CHILD_SCRIPT = textwrap.dedent("""
    import json, os, sys, time
    from modelops.client import open_store
    from modelops.entities import MetricSeries
    from modelops.errors import AlreadyExists
    from modelops.uri import parse_uri

    uri, name, barrier, index, count = sys.argv[1:6]
    index, count = int(index), int(count)
    store = open_store("tracking", parse_uri(uri))
    open(os.path.join(barrier, str(index)), "w").close()
    deadline = time.monotonic() + 60
    while len(os.listdir(barrier)) < count and time.monotonic() < deadline:
        time.sleep(0.001)
    try:
        exp = store.create_experiment(name)
        won = True
    except AlreadyExists:
        won = False
        exp = store.get_experiment_by_name(name)
    run = store.create_run(exp.experiment_id, run_name=f"proc-{index}", start_time=index)
    for b in range(5):
        steps = list(range(b * 10, b * 10 + 10))
        store.log_batch(run.run_id, [MetricSeries("m", steps, [float(index)] * 10, steps)],
                        params={f"p{b}": str(index)}, tags={"proc": str(index)})
    print(json.dumps({"won": won, "experiment_id": exp.experiment_id,
                      "run_id": run.run_id}))
""")


class TrackingStoreTests(StoreSuite):
    """What every part of the tracking suite shares: the ``store`` fixture a backend defines,
    the ``experiment`` and ``run`` fixtures, shared methods, and the checks of the store object
    itself. Not collected by pytest on its own (no ``Test`` prefix)."""

    # -- fixtures and helpers -------------------------------------------------------------

    @pytest.fixture
    def store(self) -> TrackingStore:
        """Overridden by the subclass: a fresh, empty TrackingStore."""
        pytest.fail(f"{type(self).__name__} must define a `store` fixture returning a fresh, "
                    "empty TrackingStore")

    @pytest.fixture
    def experiment(self, store: TrackingStore) -> Experiment:
        """An active experiment named ``conformance``."""
        return store.create_experiment("conformance")

    @pytest.fixture
    def run(self, store: TrackingStore, experiment: Experiment) -> Run:
        """A RUNNING run in ``experiment``."""
        return store.create_run(experiment.experiment_id, run_name="run-1", start_time=T0)

    @staticmethod
    def new_run(store: TrackingStore, experiment: Experiment, name: str = "run",
                start_time: int = T0, **kwargs: Any) -> Run:
        return store.create_run(experiment.experiment_id, run_name=name,
                                start_time=start_time, **kwargs)

    @staticmethod
    def all_runs(store: TrackingStore, experiment_ids: Sequence[str],
                 view: ViewType = ViewType.ALL) -> list[Run]:
        """Every run of the experiments, following page tokens."""
        out: list[Run] = []
        token = None
        while True:
            page = store.search_runs(list(experiment_ids), max_results=1000, page_token=token,
                                     view=view)
            out.extend(page.items)
            token = page.token
            if token is None:
                return out

    @staticmethod
    def snapshot(store: TrackingStore) -> list[Experiment]:
        return store.list_experiments(ViewType.ALL)

    def _search_fixture(self, store: TrackingStore) -> tuple[Experiment, dict[str, Run]]:
        """Four runs with varied metrics, params, tags and statuses."""
        exp = store.create_experiment("search")
        spec = {
            "r1": ({"acc": 0.9, "loss": 0.3}, {"model": "rf", "depth": "3"}, {"team": "a"},
                   RunStatus.FINISHED),
            "r2": ({"acc": 0.7, "loss": math.nan}, {"model": "lr"}, {"team": "b"},
                   RunStatus.RUNNING),
            "r3": ({"loss": 0.1}, {"model": "rf", "depth": "5"}, {"team": "a"},
                   RunStatus.FAILED),
            "r4": ({"acc": math.inf}, {"model": "xgb"}, {"team": "c", "extra": "yes"},
                   RunStatus.FINISHED),
        }
        runs = {}
        for i, (name, (metrics, params, tags, status)) in enumerate(spec.items()):
            run = self.new_run(store, exp, name, start_time=T0 + i)
            store.log_batch(run.run_id, [series(k, [(0, v, T0)]) for k, v in metrics.items()],
                            params, tags)
            if status is not RunStatus.RUNNING:
                store.update_run(run.run_id, status=status, end_time=T0 + 10)
            runs[name] = store.get_run(run.run_id)
        return exp, runs

    def open_again(self, store: TrackingStore) -> TrackingStore:
        """A second handle on the same data, as another process would open it."""
        from modelops.client import open_store
        from modelops.uri import parse_uri

        other = open_store("tracking", parse_uri(self.store_uri(store)))
        assert other is not None, f"no tracking store at {self.store_uri(store)}"
        return other

    # -- the store object -----------------------------------------------------------------

    def test_store_is_a_tracking_store(self, store: TrackingStore) -> None:
        """The fixture yields a TrackingStore whose ``uri`` is a string."""
        assert isinstance(store, TrackingStore)
        assert isinstance(store.uri, str)

    def test_fresh_store_is_empty(self, store: TrackingStore) -> None:
        """A fresh store lists no experiments in any view."""
        for view in ViewType:
            assert store.list_experiments(view) == []


class ExperimentTests(TrackingStoreTests):
    """Experiments: create, get, list, refusals, delete and restore."""

    # -- experiments: create, get, list ---------------------------------------------------

    def test_create_experiment_returns_it_active(self, store: TrackingStore) -> None:
        """``create_experiment`` returns an ACTIVE experiment with the name and tags given."""
        exp = store.create_experiment("exp", tags={"team": "ml", "empty": ""})
        assert isinstance(exp, Experiment)
        assert exp.name == "exp"
        assert dict(exp.tags) == {"team": "ml", "empty": ""}
        assert exp.lifecycle_stage is LifecycleStage.ACTIVE
        assert isinstance(exp.experiment_id, str) and exp.experiment_id
        assert isinstance(exp.creation_time, int)

    def test_get_experiment_returns_what_create_returned(self, store: TrackingStore) -> None:
        """``get_experiment(id)`` equals the experiment ``create_experiment`` returned."""
        exp = store.create_experiment("exp", tags={"k": "v"})
        assert store.get_experiment(exp.experiment_id) == exp

    def test_get_experiment_by_name(self, store: TrackingStore) -> None:
        """``get_experiment_by_name`` finds the experiment; an unknown name gives None."""
        exp = store.create_experiment("exp")
        assert store.get_experiment_by_name("exp") == exp
        assert store.get_experiment_by_name("no-such-experiment") is None

    def test_experiment_ids_are_distinct(self, store: TrackingStore) -> None:
        """Every experiment gets its own id."""
        ids = [store.create_experiment(f"exp-{i}").experiment_id for i in range(10)]
        assert len(set(ids)) == 10

    def test_list_experiments_in_creation_order(self, store: TrackingStore) -> None:
        """``list_experiments`` returns experiments in creation order, not name order."""
        names = ["zeta", "alpha", "mid", "Beta", "0"]
        created = [store.create_experiment(n) for n in names]
        assert [e.experiment_id for e in store.list_experiments()] == \
            [e.experiment_id for e in created]
        assert store.list_experiments() == created

    def test_experiment_tags_round_trip(self, store: TrackingStore) -> None:
        """Experiment tags, unicode and empty values included, are kept exactly."""
        tags = {"note": "Überprüfung 实验 😀", "empty": "", "multi/line": "a\nb",
                "long": "v" * MAX_TAG_VALUE_LENGTH}
        exp = store.create_experiment("tagged", tags=tags)
        assert dict(store.get_experiment(exp.experiment_id).tags) == tags
        assert dict(store.get_experiment_by_name("tagged").tags) == tags

    def test_explicit_artifact_location_is_kept(self, store: TrackingStore) -> None:
        """An ``artifact_location`` given at creation is returned unchanged."""
        location = "s3://bucket/some/prefix"
        exp = store.create_experiment("located", artifact_location=location)
        assert exp.artifact_location == location
        assert store.get_experiment(exp.experiment_id).artifact_location == location

    def test_experiment_names_are_case_sensitive(self, store: TrackingStore) -> None:
        """``Exp`` and ``exp`` are two experiments."""
        upper = store.create_experiment("Exp")
        lower = store.create_experiment("exp")
        assert upper.experiment_id != lower.experiment_id
        assert store.get_experiment_by_name("Exp") == upper
        assert store.get_experiment_by_name("exp") == lower

    def test_awkward_valid_names(self, store: TrackingStore) -> None:
        """Valid names with spaces, dots, glob, URL and shell characters, unicode: all work."""
        created = {n: store.create_experiment(n) for n in AWKWARD_NAMES}
        for name, exp in created.items():
            assert store.get_experiment_by_name(name) == exp, name
            assert store.get_experiment(exp.experiment_id).name == name
        assert [e.name for e in store.list_experiments()] == list(AWKWARD_NAMES)

    def test_dot_prefixed_names_are_listed(self, store: TrackingStore) -> None:
        """Names starting with a dot (``.hidden``, ``...``) are valid and are listed."""
        names = [".hidden", "...", ".x.json"]
        for name in names:
            store.create_experiment(name)
        for name in names:
            assert store.get_experiment_by_name(name) is not None, name
        assert [e.name for e in store.list_experiments()] == names

    def test_name_at_the_length_limit(self, store: TrackingStore) -> None:
        """A name of exactly ``MAX_NAME_LENGTH`` ASCII characters is accepted."""
        name = "n" * MAX_NAME_LENGTH
        exp = store.create_experiment(name)
        assert store.get_experiment_by_name(name) == exp
        assert [e.name for e in store.list_experiments()] == [name]

    def test_non_ascii_name_at_the_length_limit(self, store: TrackingStore) -> None:
        """The limit counts characters: ``MAX_NAME_LENGTH`` multi-byte characters work."""
        names = ["é" * MAX_NAME_LENGTH, "实" * MAX_NAME_LENGTH, "😀" * MAX_NAME_LENGTH]
        for name in names:
            exp = store.create_experiment(name)
            assert store.get_experiment_by_name(name) == exp
        assert [e.name for e in store.list_experiments()] == names

    # -- experiments: refusals ------------------------------------------------------------

    def test_duplicate_name_raises_already_exists(self, store: TrackingStore) -> None:
        """A second ``create_experiment`` with a taken name raises AlreadyExists, writes
        nothing."""
        store.create_experiment("exp")
        before = self.snapshot(store)
        with pytest.raises(AlreadyExists):
            store.create_experiment("exp", tags={"other": "tags"})
        assert self.snapshot(store) == before

    def test_name_of_deleted_experiment_stays_taken(self, store: TrackingStore) -> None:
        """A soft-deleted experiment keeps its name: creating it again raises AlreadyExists."""
        exp = store.create_experiment("exp")
        store.set_experiment_lifecycle(exp.experiment_id, deleted=True)
        before = self.snapshot(store)
        with pytest.raises(AlreadyExists):
            store.create_experiment("exp")
        assert self.snapshot(store) == before

    @pytest.mark.parametrize("name", [v for _, v in INVALID_NAMES],
                             ids=[i for i, _ in INVALID_NAMES])
    def test_invalid_experiment_name_refused(self, store: TrackingStore, name: Any) -> None:
        """Path traversal, separators, NUL/control characters, empty or too long names raise
        InvalidInput and write nothing."""
        store.create_experiment("existing")
        before = self.snapshot(store)
        with pytest.raises(InvalidInput):
            store.create_experiment(name)
        assert self.snapshot(store) == before

    @pytest.mark.parametrize("tags", [
        {"../k": "v"}, {"": "v"}, {"a//b": "v"}, {"k\x00": "v"}, {"k": "a\x00b"},
        {"k": "v" * (MAX_TAG_VALUE_LENGTH + 1)},
    ], ids=["traversal-key", "empty-key", "empty-segment", "nul-key", "nul-value", "too-long"])
    def test_invalid_experiment_tags_refused(self, store: TrackingStore,
                                             tags: dict[str, str]) -> None:
        """Invalid experiment tags raise InvalidInput; the experiment is not created."""
        with pytest.raises(InvalidInput):
            store.create_experiment("exp", tags=tags)
        assert self.snapshot(store) == []
        assert store.get_experiment_by_name("exp") is None
        store.create_experiment("exp")  # the name was not claimed

    @pytest.mark.parametrize("name", ["../x", "a/b", "a\x00b", ""])
    def test_invalid_name_lookup_does_not_escape(self, store: TrackingStore, name: str) -> None:
        """``get_experiment_by_name`` with an invalid name gives None or InvalidInput."""
        store.create_experiment("x")
        with contextlib.suppress(InvalidInput):
            assert store.get_experiment_by_name(name) is None

    def test_unknown_experiment_id_raises_not_found(self, store: TrackingStore) -> None:
        """Every call taking an experiment id raises NotFound for an unknown one."""
        store.create_experiment("exp")
        with pytest.raises(NotFound):
            store.get_experiment(UNKNOWN_ID)
        with pytest.raises(NotFound):
            store.set_experiment_lifecycle(UNKNOWN_ID, deleted=True)
        with pytest.raises(NotFound):
            store.create_run(UNKNOWN_ID, run_name="r", start_time=T0)
        with pytest.raises(NotFound):
            store.search_runs([UNKNOWN_ID])

    @pytest.mark.parametrize("experiment_id", ["../x", "..", "a/b", "a\x00b"])
    def test_path_like_experiment_id_refused(self, store: TrackingStore,
                                             experiment_id: str) -> None:
        """An id that looks like a path raises InvalidInput or NotFound, never escapes."""
        with pytest.raises((InvalidInput, NotFound)):
            store.get_experiment(experiment_id)
        with pytest.raises((InvalidInput, NotFound)):
            store.create_run(experiment_id, run_name="r", start_time=T0)

    # -- experiments: lifecycle -----------------------------------------------------------

    def test_delete_and_restore_experiment(self, store: TrackingStore) -> None:
        """Soft-delete moves an experiment from the ACTIVE_ONLY to the DELETED_ONLY view;
        restore moves it back; ALL shows it throughout."""
        keep = store.create_experiment("keep")
        gone = store.create_experiment("gone")
        store.set_experiment_lifecycle(gone.experiment_id, deleted=True)
        deleted = store.get_experiment(gone.experiment_id)
        assert deleted.lifecycle_stage is LifecycleStage.DELETED
        assert store.list_experiments() == [keep]
        assert store.list_experiments(ViewType.ACTIVE_ONLY) == [keep]
        assert store.list_experiments(ViewType.DELETED_ONLY) == [deleted]
        assert store.list_experiments(ViewType.ALL) == [keep, deleted]
        store.set_experiment_lifecycle(gone.experiment_id, deleted=False)
        assert store.get_experiment(gone.experiment_id) == gone
        assert store.list_experiments() == [keep, gone]
        assert store.list_experiments(ViewType.DELETED_ONLY) == []

    def test_deleted_experiment_found_by_id_and_name(self, store: TrackingStore) -> None:
        """A soft-deleted experiment is still returned by id and by name, marked DELETED."""
        exp = store.create_experiment("exp")
        store.set_experiment_lifecycle(exp.experiment_id, deleted=True)
        by_name = store.get_experiment_by_name("exp")
        assert by_name is not None
        assert by_name.lifecycle_stage is LifecycleStage.DELETED
        assert store.get_experiment(exp.experiment_id) == by_name

    def test_lifecycle_changes_are_idempotent(self, store: TrackingStore) -> None:
        """Deleting twice or restoring an active experiment is harmless."""
        exp = store.create_experiment("exp")
        store.set_experiment_lifecycle(exp.experiment_id, deleted=False)
        assert store.get_experiment(exp.experiment_id) == exp
        store.set_experiment_lifecycle(exp.experiment_id, deleted=True)
        store.set_experiment_lifecycle(exp.experiment_id, deleted=True)
        assert store.get_experiment(exp.experiment_id).lifecycle_stage is LifecycleStage.DELETED
        store.set_experiment_lifecycle(exp.experiment_id, deleted=False)
        assert store.get_experiment(exp.experiment_id) == exp

    def test_deleting_experiment_keeps_its_runs(self, store: TrackingStore) -> None:
        """Runs of a soft-deleted experiment stay readable, and are back after restore."""
        exp = store.create_experiment("exp")
        run = self.new_run(store, exp)
        store.log_batch(run.run_id, params={"p": "1"})
        store.set_experiment_lifecycle(exp.experiment_id, deleted=True)
        assert store.get_run(run.run_id).params == {"p": "1"}
        store.set_experiment_lifecycle(exp.experiment_id, deleted=False)
        assert _ids(self.all_runs(store, [exp.experiment_id])) == [run.run_id]


class RunTests(TrackingStoreTests):
    """Runs: create, get, update, delete and restore, purge."""

    # -- runs: create, get, update --------------------------------------------------------

    def test_create_run_returns_a_running_run(self, store: TrackingStore,
                                              experiment: Experiment) -> None:
        """A new run is RUNNING and ACTIVE, with the name, start time, tags, user and parent
        given, no end time, no metrics and no params; ``get_run`` returns the same."""
        parent = self.new_run(store, experiment, "parent")
        run = store.create_run(experiment.experiment_id, run_name="child", start_time=T0 + 5,
                               tags={"t": "1"}, parent_run_id=parent.run_id, user="alice")
        info = run.info
        assert isinstance(run, Run)
        assert info.experiment_id == experiment.experiment_id
        assert info.run_name == "child"
        assert info.status is RunStatus.RUNNING
        assert info.start_time == T0 + 5
        assert info.end_time is None
        assert info.lifecycle_stage is LifecycleStage.ACTIVE
        assert info.user == "alice"
        assert info.parent_run_id == parent.run_id
        assert dict(run.tags) == {"t": "1"}
        assert dict(run.params) == {}
        assert dict(run.data.latest) == {}
        assert store.get_run(run.run_id) == run

    def test_run_ids_are_distinct(self, store: TrackingStore, experiment: Experiment) -> None:
        """Every run gets its own id, even with equal names and start times."""
        ids = {self.new_run(store, experiment, "same").run_id for _ in range(20)}
        assert len(ids) == 20

    def test_run_names_need_not_be_unique(self, store: TrackingStore,
                                          experiment: Experiment) -> None:
        """Two runs may share a name (and awkward names are fine)."""
        a = self.new_run(store, experiment, "dup")
        b = self.new_run(store, experiment, "dup")
        c = self.new_run(store, experiment, "名前 😀 .x")
        assert store.get_run(a.run_id).name == store.get_run(b.run_id).name == "dup"
        assert store.get_run(c.run_id).name == "名前 😀 .x"

    def test_create_run_in_unknown_experiment(self, store: TrackingStore) -> None:
        """``create_run`` in an unknown experiment raises NotFound."""
        with pytest.raises(NotFound):
            store.create_run(UNKNOWN_ID, run_name="r", start_time=T0)

    def test_create_run_in_deleted_experiment_refused(self, store: TrackingStore,
                                                      experiment: Experiment) -> None:
        """A soft-deleted experiment takes no new runs (Conflict) and none is written;
        after restore it does."""
        store.set_experiment_lifecycle(experiment.experiment_id, deleted=True)
        with pytest.raises(Conflict):
            self.new_run(store, experiment)
        assert self.all_runs(store, [experiment.experiment_id]) == []
        store.set_experiment_lifecycle(experiment.experiment_id, deleted=False)
        assert self.all_runs(store, [experiment.experiment_id]) == []
        run = self.new_run(store, experiment)
        assert _ids(self.all_runs(store, [experiment.experiment_id])) == [run.run_id]

    @pytest.mark.parametrize("name", [v for _, v in INVALID_NAMES],
                             ids=[i for i, _ in INVALID_NAMES])
    def test_invalid_run_name_refused(self, store: TrackingStore, experiment: Experiment,
                                      name: Any) -> None:
        """An invalid run name raises InvalidInput and creates no run."""
        with pytest.raises(InvalidInput):
            store.create_run(experiment.experiment_id, run_name=name, start_time=T0)
        assert self.all_runs(store, [experiment.experiment_id]) == []

    @pytest.mark.parametrize("tags", [
        {"../k": "v"}, {"": "v"}, {"/k": "v"}, {"k": "a\x00b"},
        {"k": "v" * (MAX_TAG_VALUE_LENGTH + 1)},
    ], ids=["traversal-key", "empty-key", "leading-slash", "nul-value", "too-long"])
    def test_invalid_run_tags_refused(self, store: TrackingStore, experiment: Experiment,
                                      tags: dict[str, str]) -> None:
        """Invalid initial run tags raise InvalidInput and create no run."""
        with pytest.raises(InvalidInput):
            self.new_run(store, experiment, tags=tags)
        assert self.all_runs(store, [experiment.experiment_id]) == []

    def test_get_unknown_run_raises_not_found(self, store: TrackingStore, run: Run) -> None:
        """``get_run`` of an unknown id raises NotFound."""
        with pytest.raises(NotFound):
            store.get_run(UNKNOWN_ID)

    @pytest.mark.parametrize("run_id", ["../x", "..", "a/b", "a\x00b", "../" + "0" * 32])
    def test_path_like_run_id_refused(self, store: TrackingStore, run: Run,
                                      run_id: str) -> None:
        """A run id that looks like a path raises InvalidInput or NotFound, never escapes."""
        with pytest.raises((InvalidInput, NotFound)):
            store.get_run(run_id)
        with pytest.raises((InvalidInput, NotFound)):
            store.log_batch(run_id, params={"p": "1"})
        with pytest.raises((InvalidInput, NotFound)):
            store.get_metric_history(run_id, "m")

    def test_update_run_status_end_time_and_name(self, store: TrackingStore, run: Run) -> None:
        """``update_run`` changes status, end time and name, returns the updated run, and
        ``get_run`` agrees."""
        updated = store.update_run(run.run_id, status=RunStatus.FINISHED, end_time=T0 + 100,
                                   run_name="renamed")
        assert updated.info.status is RunStatus.FINISHED
        assert updated.info.end_time == T0 + 100
        assert updated.info.run_name == "renamed"
        assert updated.info.start_time == run.info.start_time
        assert store.get_run(run.run_id) == updated

    def test_update_run_changes_only_what_is_given(self, store: TrackingStore,
                                                   run: Run) -> None:
        """Fields not passed to ``update_run`` keep their values."""
        store.update_run(run.run_id, status=RunStatus.FAILED)
        got = store.get_run(run.run_id)
        assert (got.info.status, got.info.end_time, got.info.run_name) == \
            (RunStatus.FAILED, None, "run-1")
        store.update_run(run.run_id, end_time=T0 + 7)
        got = store.get_run(run.run_id)
        assert (got.info.status, got.info.end_time, got.info.run_name) == \
            (RunStatus.FAILED, T0 + 7, "run-1")
        store.update_run(run.run_id, run_name="other")
        got = store.get_run(run.run_id)
        assert (got.info.status, got.info.end_time, got.info.run_name) == \
            (RunStatus.FAILED, T0 + 7, "other")
        assert store.update_run(run.run_id) == got

    def test_update_run_to_every_status(self, store: TrackingStore, run: Run) -> None:
        """Every RunStatus can be set, and the run can be set RUNNING again (resume)."""
        for status in [*RunStatus, RunStatus.RUNNING]:
            assert store.update_run(run.run_id, status=status).info.status is status
            assert store.get_run(run.run_id).info.status is status

    def test_update_run_keeps_logged_data(self, store: TrackingStore, run: Run) -> None:
        """Updating a run's status leaves its metrics, params and tags alone."""
        store.log_batch(run.run_id, [series("m", [(0, 1.5, T0)])], {"p": "1"}, {"t": "x"})
        before = store.get_run(run.run_id).data
        store.update_run(run.run_id, status=RunStatus.FINISHED, end_time=T0 + 1)
        assert store.get_run(run.run_id).data == before

    @pytest.mark.parametrize("name", ["../x", "a/b", "", "a\x00b", "x" * (MAX_NAME_LENGTH + 1)])
    def test_update_run_invalid_name_refused(self, store: TrackingStore, run: Run,
                                             name: str) -> None:
        """An invalid new run name raises InvalidInput and changes nothing (not even the
        status passed with it)."""
        with pytest.raises(InvalidInput):
            store.update_run(run.run_id, status=RunStatus.FINISHED, run_name=name)
        assert store.get_run(run.run_id) == run

    def test_update_unknown_run_raises_not_found(self, store: TrackingStore, run: Run) -> None:
        """``update_run`` of an unknown id raises NotFound."""
        with pytest.raises(NotFound):
            store.update_run(UNKNOWN_ID, status=RunStatus.FINISHED)

    # -- runs: lifecycle ------------------------------------------------------------------

    def test_delete_and_restore_run(self, store: TrackingStore, run: Run) -> None:
        """Soft-delete marks a run DELETED (still readable with its data); restore makes it
        ACTIVE again."""
        store.log_batch(run.run_id, [series("m", [(0, 2.0, T0)])], {"p": "1"}, {"t": "x"})
        data = store.get_run(run.run_id).data
        store.set_run_lifecycle(run.run_id, deleted=True)
        got = store.get_run(run.run_id)
        assert got.info.lifecycle_stage is LifecycleStage.DELETED
        assert got.data == data
        store.set_run_lifecycle(run.run_id, deleted=False)
        got = store.get_run(run.run_id)
        assert got.info.lifecycle_stage is LifecycleStage.ACTIVE
        assert got.data == data

    def test_set_run_lifecycle_unknown_run(self, store: TrackingStore, run: Run) -> None:
        """``set_run_lifecycle`` of an unknown id raises NotFound."""
        with pytest.raises(NotFound):
            store.set_run_lifecycle(UNKNOWN_ID, deleted=True)

    def test_log_to_deleted_run_refused(self, store: TrackingStore, run: Run) -> None:
        """Logging to a soft-deleted run raises Conflict and writes nothing."""
        store.set_run_lifecycle(run.run_id, deleted=True)
        with pytest.raises(Conflict):
            store.log_batch(run.run_id, [series("m", [(0, 1.0, T0)])], {"p": "1"}, {"t": "x"})
        store.set_run_lifecycle(run.run_id, deleted=False)
        got = store.get_run(run.run_id)
        assert got.data == run.data
        assert len(store.get_metric_history(run.run_id, "m")) == 0

    # -- purge_run ------------------------------------------------------------------------

    def test_purge_run_removes_it_for_good(self, store: TrackingStore,
                                           experiment: Experiment) -> None:
        """After ``purge_run`` the run is gone from get_run, histories, searches in every
        view and lifecycle calls; other runs are untouched."""
        self.require("purge")
        keep = self.new_run(store, experiment, "keep")
        doomed = self.new_run(store, experiment, "doomed")
        for run in (keep, doomed):
            store.log_batch(run.run_id, [series("m", [(0, 1.0, T0)])], {"p": "1"}, {"t": "1"})
        kept = store.get_run(keep.run_id)
        store.purge_run(doomed.run_id)
        with pytest.raises(NotFound):
            store.get_run(doomed.run_id)
        with pytest.raises(NotFound):
            store.get_metric_history(doomed.run_id, "m")
        with pytest.raises(NotFound):
            store.log_batch(doomed.run_id, params={"q": "1"})
        with pytest.raises(NotFound):
            store.set_run_lifecycle(doomed.run_id, deleted=False)
        assert _ids(self.all_runs(store, [experiment.experiment_id], ViewType.ALL)) == \
            [keep.run_id]
        assert store.get_run(keep.run_id) == kept
        assert len(store.get_metric_history(keep.run_id, "m")) == 1

    def test_purge_soft_deleted_run(self, store: TrackingStore, run: Run) -> None:
        """A soft-deleted run can be purged."""
        self.require("purge")
        store.set_run_lifecycle(run.run_id, deleted=True)
        store.purge_run(run.run_id)
        with pytest.raises(NotFound):
            store.get_run(run.run_id)
        assert self.all_runs(store, [run.info.experiment_id], ViewType.ALL) == []

    def test_purge_unknown_run_raises_not_found(self, store: TrackingStore, run: Run) -> None:
        """``purge_run`` of an unknown id raises NotFound."""
        self.require("purge")
        with pytest.raises(NotFound):
            store.purge_run(UNKNOWN_ID)

    def test_purge_run_removes_artifacts(self, store: TrackingStore, run: Run,
                                         tmp_path: Any) -> None:
        """A purged run's artifacts are gone too."""
        self.require("purge")
        self.require("artifacts")
        store.write_artifact(run.run_id, b"data", "a.txt")
        store.purge_run(run.run_id)
        with pytest.raises(NotFound):
            store.list_artifacts(run.run_id)
        with pytest.raises(NotFound):
            store.download_artifact(run.run_id, "a.txt", str(tmp_path))


class LoggingTests(TrackingStoreTests):
    """``log_batch``: metrics and their histories, params, tags."""

    # -- log_batch: metrics ---------------------------------------------------------------

    def test_log_batch_metrics_params_tags(self, store: TrackingStore, run: Run) -> None:
        """One ``log_batch`` records metrics, params and tags; ``get_run`` shows them all."""
        store.log_batch(
            run.run_id,
            [series("loss", [(0, 0.9, T0), (1, 0.5, T0 + 1)]), series("acc", [(1, 0.7, T0)])],
            params={"lr": "0.01", "model": "rf"},
            tags={"team": "ml"},
        )
        got = store.get_run(run.run_id)
        assert got.metrics == {"loss": 0.5, "acc": 0.7}
        assert dict(got.params) == {"lr": "0.01", "model": "rf"}
        assert dict(got.tags) == {"team": "ml"}
        latest = got.data.latest["loss"]
        assert (latest.key, latest.value, latest.step, latest.timestamp) == \
            ("loss", 0.5, 1, T0 + 1)

    def test_latest_metric_is_highest_step_then_timestamp(self, store: TrackingStore,
                                                          run: Run) -> None:
        """The latest value of a metric is the point with the highest step, and among
        those the highest timestamp, whatever the logging order."""
        store.log_batch(run.run_id, [series("m", [
            (1, 1.0, T0 + 50), (3, 3.0, T0 + 1), (3, 3.5, T0 + 2), (3, 3.25, T0 + 0),
            (2, 2.0, T0 + 90),
        ])])
        latest = store.get_run(run.run_id).data.latest["m"]
        assert (latest.step, latest.timestamp, latest.value) == (3, T0 + 2, 3.5)

    def test_latest_metric_across_batches(self, store: TrackingStore, run: Run) -> None:
        """A later batch with a lower step does not replace the latest value; one with a
        higher step, or the same step and a later timestamp, does."""
        store.log_batch(run.run_id, [series("m", [(5, 5.0, T0)])])
        store.log_batch(run.run_id, [series("m", [(2, 2.0, T0 + 10)])])
        assert store.get_run(run.run_id).metrics == {"m": 5.0}
        store.log_batch(run.run_id, [series("m", [(5, 5.5, T0 + 1)])])
        assert store.get_run(run.run_id).metrics == {"m": 5.5}
        store.log_batch(run.run_id, [series("m", [(6, -1.0, T0 - 100)])])
        assert store.get_run(run.run_id).metrics == {"m": -1.0}

    def test_metric_history_in_logging_order(self, store: TrackingStore, run: Run) -> None:
        """``get_metric_history`` returns every point, in logging order across batches,
        even when steps go backwards."""
        batches = [
            [(0, 1.0, T0), (2, 0.5, T0 + 2), (1, 0.7, T0 + 1)],
            [(0, 9.0, T0 + 3)],
            [(10, 0.1, T0 + 4), (10, 0.2, T0 + 4), (-1, 5.0, T0 + 5)],
        ]
        for points in batches:
            store.log_batch(run.run_id, [series("m", points)])
        history = store.get_metric_history(run.run_id, "m")
        expected = [p for points in batches for p in points]
        assert isinstance(history, MetricSeries)
        assert history.key == "m"
        assert history.steps.tolist() == [p[0] for p in expected]
        assert history.timestamps.tolist() == [p[2] for p in expected]
        assert_same_floats(history.values.tolist(), [p[1] for p in expected])

    def test_metric_values_round_trip_exactly(self, store: TrackingStore, run: Run) -> None:
        """NaN, +inf, -inf, -0.0, subnormals, 1e-308 and the largest floats come back
        bit for bit (NaN as a NaN)."""
        values = [math.nan, math.inf, -math.inf, -0.0, 0.0, 1e-308, 5e-324, -5e-324,
                  2.2250738585072014e-308, 1.7976931348623157e308, -1.7976931348623157e308,
                  0.1, 1 / 3, 1e300, 123456789.12345678, 2.0**53 + 2]
        points = [(i, v, T0 + i) for i, v in enumerate(values)]
        store.log_batch(run.run_id, [series("m", points)])
        history = store.get_metric_history(run.run_id, "m")
        assert_same_floats(history.values.tolist(), values)
        assert history.steps.tolist() == list(range(len(values)))

    @pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, -0.0, 5e-324],
                             ids=["nan", "inf", "-inf", "-0.0", "subnormal"])
    def test_special_latest_value_round_trips(self, store: TrackingStore, run: Run,
                                              value: float) -> None:
        """A special value that is the latest point comes back exactly in ``get_run``."""
        store.log_batch(run.run_id, [series("m", [(0, 1.0, T0), (1, value, T0)])])
        assert_same_floats([store.get_run(run.run_id).metrics["m"]], [value])

    def test_steps_and_timestamps_round_trip(self, store: TrackingStore, run: Run) -> None:
        """Steps and timestamps anywhere in the int64 range come back exactly."""
        big, small = 2**63 - 1, -(2**63)
        points = [(0, 0.0, 0), (big, 1.0, big), (small, 2.0, small), (2**53 + 1, 3.0, T0)]
        store.log_batch(run.run_id, [series("m", points)])
        history = store.get_metric_history(run.run_id, "m")
        assert history.steps.tolist() == [p[0] for p in points]
        assert history.timestamps.tolist() == [p[2] for p in points]
        latest = store.get_run(run.run_id).data.latest["m"]
        assert (latest.step, latest.timestamp, latest.value) == (big, big, 1.0)

    def test_many_metric_keys_are_independent(self, store: TrackingStore, run: Run) -> None:
        """Each key has its own history; keys may hold '/' and other characters."""
        keys = ["loss", "train/loss", "val/loss", "a b", "Ωmega", "x.y", "m-1"]
        store.log_batch(run.run_id, [series(k, [(i, float(i), T0)]) for i, k in enumerate(keys)])
        store.log_batch(run.run_id, [series("loss", [(9, 9.0, T0)])])
        for i, key in enumerate(keys):
            history = store.get_metric_history(run.run_id, key)
            expected = [float(i), 9.0] if key == "loss" else [float(i)]
            assert history.values.tolist() == expected, key
        assert set(store.get_run(run.run_id).metrics) == set(keys)

    def test_large_metric_history(self, store: TrackingStore, run: Run) -> None:
        """A 20,000-point series round-trips in order."""
        n = 20_000
        store.log_batch(run.run_id, [MetricSeries("m", range(n), [i / 7 for i in range(n)],
                                                  [T0 + i for i in range(n)])])
        history = store.get_metric_history(run.run_id, "m")
        assert history.steps.tolist() == list(range(n))
        assert history.values.tolist() == [i / 7 for i in range(n)]
        assert store.get_run(run.run_id).metrics == {"m": (n - 1) / 7}

    def test_history_of_unlogged_key_is_empty(self, store: TrackingStore, run: Run) -> None:
        """The history of a metric never logged is an empty series with that key."""
        store.log_batch(run.run_id, [series("other", [(0, 1.0, T0)])])
        history = store.get_metric_history(run.run_id, "never")
        assert isinstance(history, MetricSeries)
        assert history.key == "never"
        assert len(history) == 0

    def test_history_of_unknown_run_raises_not_found(self, store: TrackingStore,
                                                     run: Run) -> None:
        """``get_metric_history`` of an unknown run raises NotFound."""
        with pytest.raises(NotFound):
            store.get_metric_history(UNKNOWN_ID, "m")

    def test_empty_batch_changes_nothing(self, store: TrackingStore, run: Run) -> None:
        """A batch with nothing in it (or only empty series) is accepted and changes
        nothing."""
        store.log_batch(run.run_id)
        store.log_batch(run.run_id, [MetricSeries("m", [], [], [])], {}, {})
        assert store.get_run(run.run_id) == run
        assert len(store.get_metric_history(run.run_id, "m")) == 0

    def test_log_batch_unknown_run_raises_not_found(self, store: TrackingStore,
                                                    run: Run) -> None:
        """``log_batch`` to an unknown run raises NotFound."""
        with pytest.raises(NotFound):
            store.log_batch(UNKNOWN_ID, [series("m", [(0, 1.0, T0)])], {"p": "1"})

    # -- log_batch: params and tags -------------------------------------------------------

    def test_param_logged_again_with_same_value_is_fine(self, store: TrackingStore,
                                                        run: Run) -> None:
        """Logging a param again with the same value is accepted and changes nothing."""
        store.log_batch(run.run_id, params={"lr": "0.1"})
        store.log_batch(run.run_id, params={"lr": "0.1", "depth": "3"})
        assert dict(store.get_run(run.run_id).params) == {"lr": "0.1", "depth": "3"}

    def test_param_conflict_writes_nothing_of_the_batch(self, store: TrackingStore,
                                                        run: Run) -> None:
        """A param logged with another value raises ParamConflict (a Conflict), and nothing
        of that batch is written: not its metrics, new params or tags."""
        store.log_batch(run.run_id, [series("m", [(0, 1.0, T0)])], {"lr": "0.1"}, {"t": "1"})
        before = store.get_run(run.run_id)
        with pytest.raises(ParamConflict) as excinfo:
            store.log_batch(
                run.run_id,
                [series("m", [(1, 2.0, T0 + 1)]), series("new", [(0, 3.0, T0)])],
                params={"fresh": "x", "lr": "0.2"},
                tags={"t": "2", "new-tag": "y"},
            )
        assert isinstance(excinfo.value, Conflict)
        after = store.get_run(run.run_id)
        assert after == before
        assert dict(after.params) == {"lr": "0.1"}
        assert dict(after.tags) == {"t": "1"}
        assert store.get_metric_history(run.run_id, "m").values.tolist() == [1.0]
        assert len(store.get_metric_history(run.run_id, "new")) == 0

    def test_params_of_different_runs_are_independent(self, store: TrackingStore,
                                                      experiment: Experiment) -> None:
        """Params are immutable per run: another run may log the same key with another
        value."""
        a, b = self.new_run(store, experiment, "a"), self.new_run(store, experiment, "b")
        store.log_batch(a.run_id, params={"lr": "0.1"})
        store.log_batch(b.run_id, params={"lr": "0.2"})
        assert store.get_run(a.run_id).params == {"lr": "0.1"}
        assert store.get_run(b.run_id).params == {"lr": "0.2"}

    def test_tags_can_be_overwritten(self, store: TrackingStore,
                                     experiment: Experiment) -> None:
        """A tag logged again takes the new value; initial run tags can be overwritten;
        other tags stay."""
        run = self.new_run(store, experiment, tags={"a": "1", "b": "1"})
        store.log_batch(run.run_id, tags={"a": "2"})
        assert dict(store.get_run(run.run_id).tags) == {"a": "2", "b": "1"}
        store.log_batch(run.run_id, tags={"a": "3", "c": "1"})
        assert dict(store.get_run(run.run_id).tags) == {"a": "3", "b": "1", "c": "1"}

    def test_param_and_tag_values_round_trip(self, store: TrackingStore, run: Run) -> None:
        """Values with unicode, quotes, newlines, empty strings and the maximum lengths come
        back exactly; so do keys with '/'."""
        params = {"empty": "", "unicode": "Überprüfung 实验 😀", "quotes": "'\"`",
                  "lines": "a\nb\r\nc\t", "optimizer/lr": "1e-3", "json": '{"a": [1]}',
                  "long": "p" * MAX_PARAM_VALUE_LENGTH}
        tags = {"empty": "", "ctl": "\x01\x7f", "long": "t" * MAX_TAG_VALUE_LENGTH,
                "mlflow.note.content": "# Title\n\n* item"}
        store.log_batch(run.run_id, params=params, tags=tags)
        got = store.get_run(run.run_id)
        assert dict(got.params) == params
        assert dict(got.tags) == tags

    @pytest.mark.parametrize("params, tags", [
        ({"a//b": "1"}, None),
        ({"../p": "1"}, None),
        ({"p\\q": "1"}, None),
        ({"": "1"}, None),
        ({"p": "a\x00b"}, None),
        ({"p": "x" * (MAX_PARAM_VALUE_LENGTH + 1)}, None),
        (None, {"t": "x" * (MAX_TAG_VALUE_LENGTH + 1)}),
        (None, {"t/": "1"}),
        (None, {"t": "\x00"}),
    ], ids=["empty-segment", "traversal", "backslash", "empty-key", "nul-value",
            "param-too-long", "tag-too-long", "trailing-slash", "tag-nul"])
    def test_invalid_params_or_tags_refuse_the_batch(self, store: TrackingStore, run: Run,
                                                     params: Any, tags: Any) -> None:
        """An invalid param or tag raises InvalidInput; the metrics, params and tags of
        the same batch are not written."""
        good_params = {"good": "1", **(params or {})}
        good_tags = {"good": "1", **(tags or {})}
        with pytest.raises(InvalidInput):
            store.log_batch(run.run_id, [series("m", [(0, 1.0, T0)])], good_params, good_tags)
        assert store.get_run(run.run_id) == run
        assert len(store.get_metric_history(run.run_id, "m")) == 0


class SearchTests(TrackingStoreTests):
    """``search_runs``: filters, order, pages, views."""

    # -- search_runs ----------------------------------------------------------------------

    def test_search_returns_page_of_runs(self, store: TrackingStore,
                                         experiment: Experiment) -> None:
        """``search_runs`` returns a Page of Run objects and no token when all fit."""
        run = self.new_run(store, experiment)
        page = store.search_runs([experiment.experiment_id])
        assert isinstance(page, Page)
        assert page.token is None
        assert [r.info.run_id for r in page.items] == [run.run_id]
        assert all(isinstance(r, Run) for r in page.items)

    def test_search_empty_experiment(self, store: TrackingStore,
                                     experiment: Experiment) -> None:
        """An experiment without runs gives an empty last page; so does no experiment."""
        page = store.search_runs([experiment.experiment_id])
        assert (list(page.items), page.token) == ([], None)
        page = store.search_runs([])
        assert (list(page.items), page.token) == ([], None)

    def test_search_only_the_given_experiments(self, store: TrackingStore) -> None:
        """Runs come only from the experiments asked for, from all of them."""
        e1, e2, e3 = (store.create_experiment(n) for n in ("e1", "e2", "e3"))
        r1 = self.new_run(store, e1, "a")
        r2 = self.new_run(store, e2, "b")
        self.new_run(store, e3, "c")
        assert _ids(self.all_runs(store, [e1.experiment_id])) == [r1.run_id]
        assert set(_ids(self.all_runs(store, [e1.experiment_id, e2.experiment_id]))) == \
            {r1.run_id, r2.run_id}

    def test_search_default_order(self, store: TrackingStore, experiment: Experiment) -> None:
        """Without order_by, runs come by start_time descending, then run_id ascending."""
        runs = [self.new_run(store, experiment, f"r{i}", start_time=t)
                for i, t in enumerate([5, 3, 5, 1, 3, 5])]
        expected = sorted(runs, key=lambda r: (-r.info.start_time, r.info.run_id))
        assert _ids(store.search_runs([experiment.experiment_id]).items) == _ids(expected)

    def test_search_equals_a_scan_of_every_run(self, store: TrackingStore) -> None:
        """Random filters and orders over runs with missing keys, NaN, ±inf, ties, deleted
        and changed runs: a search (paged) gives what filtering and sorting every run read
        back alone gives (``modelops.query.search`` over ``get_run``)."""
        import random

        from modelops import query

        rng = random.Random(20261207)
        numbers = [0.0, 1.0, 2.5, -3.0, math.nan, math.inf, -math.inf]
        strings = ["a", "b", "ab", "A", ""]
        exps = [store.create_experiment(f"scan-{i}") for i in range(2)]
        run_ids = []
        for i in range(14):
            exp = exps[i % 5 == 0]
            run = store.create_run(exp.experiment_id, run_name=rng.choice(["x", "y", "xy"]),
                                   start_time=rng.choice([1, 2, 2**53 + 1]),
                                   tags={"t": rng.choice(strings)} if rng.random() < .7 else {},
                                   user=rng.choice(strings))
            run_ids.append(run.info.run_id)
            metrics = [MetricSeries(k, [0], [rng.choice(numbers)], [T0])
                       for k in ("m0", "m1") if rng.random() < .7]
            params = {k: rng.choice(strings) for k in ("p0", "p1") if rng.random() < .6}
            if metrics or params:
                store.log_batch(run.info.run_id, metrics, params=params)
            if rng.random() < .5:
                store.update_run(run.info.run_id, status=rng.choice(["FINISHED", "FAILED"]),
                                 end_time=rng.choice([3, 4]))
        ids = [e.experiment_id for e in exps]

        def clause() -> query.Comparison:
            kind = rng.choice(query.KINDS)
            if kind == "metrics":
                return query.Comparison(kind, rng.choice(["m0", "m1"]),
                                        rng.choice(["=", "!=", "<", "<=", ">", ">="]),
                                        rng.choice(numbers))
            if kind == "attributes" and rng.random() < .4:
                return query.Comparison(kind, rng.choice(["start_time", "end_time"]),
                                        rng.choice(["=", "!=", "<", ">="]),
                                        rng.choice([1.0, 2.5, 4.0, 2.0**53]))
            key = rng.choice({"params": ["p0", "p1"], "tags": ["t"],
                              "attributes": ["run_name", "status", "user",
                                             "lifecycle_stage", "run_id"]}[kind])
            op = rng.choice(["=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"])
            value: Any = (tuple(rng.sample([*strings, "x", "FINISHED", "active"], 2))
                          if op in ("IN", "NOT IN") else rng.choice(
                              [*strings, "x%", "%b", "_", "FINISHED", "deleted"]))
            return query.Comparison(kind, key, op, value)

        def check() -> None:
            every = [store.get_run(r) for r in run_ids]
            for _ in range(25):
                clauses = [clause() for _ in range(rng.randint(0, 2))]
                flt = query.Filter(clauses) if clauses else None
                order = tuple(query.OrderBy(k, rng.choice(
                    {"metrics": ["m0", "m1"], "params": ["p0"], "tags": ["t"],
                     "attributes": ["end_time", "run_name", "status"]}[k]), rng.random() < .5)
                    for k in rng.sample(query.KINDS, rng.randint(0, 2)))
                view = rng.choice(list(ViewType))
                want = query.search([r for r in every if view.admits(r.info.lifecycle_stage)],
                                    flt, order, query.MAX_RESULTS, None).items
                got, token = [], None
                while True:
                    page = store.search_runs(ids, flt, order, max_results=4, page_token=token,
                                             view=view)
                    got += list(page.items)
                    token = page.token
                    if token is None:
                        break
                assert _ids(got) == _ids(want), (str(flt), order, view)
                assert list(got) == list(want)

        check()
        for run_id in rng.sample(run_ids, 4):
            store.set_run_lifecycle(run_id, True)
        for run_id in rng.sample(run_ids, 4):
            with contextlib.suppress(Conflict):
                store.log_batch(run_id, [MetricSeries("m1", [5], [rng.choice(numbers)], [T0])],
                                tags={"t": rng.choice(strings)})
        check()

    def test_search_results_equal_get_run(self, store: TrackingStore) -> None:
        """Each run a search returns equals what ``get_run`` returns for it."""
        exp, runs = self._search_fixture(store)
        found = self.all_runs(store, [exp.experiment_id])
        assert len(found) == len(runs)
        for run in found:
            assert run == store.get_run(run.info.run_id)

    @pytest.mark.parametrize("text, expected", [
        ("metrics.acc > 0.8", {"r1", "r4"}),
        ("metrics.acc >= 0.7 and metrics.acc < 1", {"r1", "r2"}),
        ("metrics.loss != 0.3", {"r2", "r3"}),
        ("params.model = 'rf'", {"r1", "r3"}),
        ("params.model IN ('lr', 'xgb')", {"r2", "r4"}),
        ("params.depth != '3'", {"r3"}),
        ("tags.team = 'a' and params.depth = '5'", {"r3"}),
        ("tags.extra = 'yes'", {"r4"}),
        ("attributes.status = 'FINISHED'", {"r1", "r4"}),
        ("run_name LIKE 'r%'", {"r1", "r2", "r3", "r4"}),
        ("run_name = 'r2'", {"r2"}),
        ("params.model ILIKE 'RF'", {"r1", "r3"}),
        ("metrics.missing > 0", set()),
    ])
    def test_search_filter(self, store: TrackingStore, text: str, expected: set[str]) -> None:
        """Filters on metrics (latest value, NaN by IEEE rules), params, tags and attributes
        select exactly the matching runs; a run lacking the key never matches."""
        exp, _ = self._search_fixture(store)
        page = store.search_runs([exp.experiment_id], filter=parse_filter(text))
        assert {r.info.run_name for r in page.items} == expected

    def test_search_filter_by_start_time_and_lifecycle(self, store: TrackingStore) -> None:
        """Numeric attributes compare as numbers; lifecycle_stage filters with view ALL."""
        exp, runs = self._search_fixture(store)
        store.set_run_lifecycle(runs["r2"].run_id, deleted=True)
        page = store.search_runs([exp.experiment_id], filter=parse_filter(
            f"attributes.start_time >= {T0 + 2}"))
        assert {r.info.run_name for r in page.items} == {"r3", "r4"}
        page = store.search_runs([exp.experiment_id], view=ViewType.ALL,
                                 filter=parse_filter("lifecycle_stage = 'deleted'"))
        assert {r.info.run_name for r in page.items} == {"r2"}

    @pytest.mark.parametrize("order, expected", [
        (["metrics.acc DESC"], ["r4", "r1", "r2", "r3"]),
        (["metrics.acc"], ["r2", "r1", "r4", "r3"]),
        (["metrics.loss ASC"], ["r3", "r1", "r2", "r4"]),
        (["params.model", "start_time DESC"], ["r2", "r3", "r1", "r4"]),
        (["tags.team DESC", "run_name"], ["r4", "r2", "r1", "r3"]),
        (["start_time"], ["r1", "r2", "r3", "r4"]),
    ])
    def test_search_order_by(self, store: TrackingStore, order: list[str],
                             expected: list[str]) -> None:
        """order_by sorts by metrics, params, tags and attributes, ascending or descending,
        with NaN after numbers and missing values last either way."""
        exp, _ = self._search_fixture(store)
        page = store.search_runs([exp.experiment_id], order_by=parse_order_by(order))
        assert [r.info.run_name for r in page.items] == expected

    @pytest.mark.parametrize("max_results", [1, 4, 7, 23, 24, 1000])
    def test_search_paging_returns_every_run_once(self, store: TrackingStore,
                                                  experiment: Experiment,
                                                  max_results: int) -> None:
        """Following page tokens yields every run exactly once, in the order of one big
        page; every page but the last is full and the last has no token."""
        for i in range(23):
            run = self.new_run(store, experiment, f"r{i}", start_time=T0 + i % 5)
            store.log_batch(run.run_id, [series("m", [(0, float(i % 4), T0)])])
        ids = [experiment.experiment_id]
        order = parse_order_by(["metrics.m DESC"])
        full = store.search_runs(ids, order_by=order, max_results=1000)
        pages: list[Page] = []
        token = None
        while True:
            page = store.search_runs(ids, order_by=order, max_results=max_results,
                                     page_token=token)
            pages.append(page)
            assert len(pages) <= 23, "paging does not end"
            token = page.token
            if token is None:
                break
        paged = [r for p in pages for r in p.items]
        assert _ids(paged) == _ids(full.items)
        assert len(set(_ids(paged))) == 23
        assert all(len(p.items) == max_results for p in pages[:-1])
        assert 0 < len(pages[-1].items) <= max_results

    def test_search_paging_with_filter(self, store: TrackingStore,
                                       experiment: Experiment) -> None:
        """Paging a filtered search returns exactly the matching runs, once each."""
        expected = set()
        for i in range(15):
            run = self.new_run(store, experiment, f"r{i}", start_time=T0 + i)
            store.log_batch(run.run_id, params={"parity": str(i % 2)})
            if i % 2:
                expected.add(run.run_id)
        flt = parse_filter("params.parity = '1'")
        seen: list[str] = []
        token = None
        while True:
            page = store.search_runs([experiment.experiment_id], filter=flt, max_results=2,
                                     page_token=token)
            seen += _ids(page.items)
            token = page.token
            if token is None:
                break
        assert len(seen) == len(set(seen)) == len(expected)
        assert set(seen) == expected

    def test_search_view_types(self, store: TrackingStore, experiment: Experiment) -> None:
        """ACTIVE_ONLY hides soft-deleted runs, DELETED_ONLY shows only them, ALL shows
        both, each marked with its lifecycle stage; a restore brings a run back."""
        runs = [self.new_run(store, experiment, f"r{i}", start_time=T0 + i) for i in range(5)]
        gone = {runs[1].run_id, runs[3].run_id}
        for run_id in gone:
            store.set_run_lifecycle(run_id, deleted=True)
        exp_ids = [experiment.experiment_id]
        active = self.all_runs(store, exp_ids, ViewType.ACTIVE_ONLY)
        deleted = self.all_runs(store, exp_ids, ViewType.DELETED_ONLY)
        everything = self.all_runs(store, exp_ids, ViewType.ALL)
        assert set(_ids(active)) == {r.run_id for r in runs} - gone
        assert set(_ids(deleted)) == gone
        assert set(_ids(everything)) == {r.run_id for r in runs}
        assert set(_ids(store.search_runs(exp_ids).items)) == set(_ids(active))
        assert all(r.info.lifecycle_stage is LifecycleStage.ACTIVE for r in active)
        assert all(r.info.lifecycle_stage is LifecycleStage.DELETED for r in deleted)
        store.set_run_lifecycle(runs[1].run_id, deleted=False)
        assert set(_ids(self.all_runs(store, exp_ids, ViewType.DELETED_ONLY))) == \
            {runs[3].run_id}
        assert runs[1].run_id in _ids(self.all_runs(store, exp_ids, ViewType.ACTIVE_ONLY))

    def test_search_sees_latest_writes(self, store: TrackingStore,
                                       experiment: Experiment) -> None:
        """A search after more logging, an update or a new run reflects them (no stale
        cache)."""
        exp_ids = [experiment.experiment_id]
        run = self.new_run(store, experiment)
        store.log_batch(run.run_id, [series("m", [(0, 1.0, T0)])])
        assert self.all_runs(store, exp_ids)[0].metrics == {"m": 1.0}
        store.log_batch(run.run_id, [series("m", [(1, 2.0, T0)])], {"p": "1"}, {"t": "x"})
        store.update_run(run.run_id, status=RunStatus.FINISHED, end_time=T0 + 1,
                         run_name="renamed")
        (found,) = self.all_runs(store, exp_ids)
        assert found == store.get_run(run.run_id)
        assert (found.metrics, dict(found.params), dict(found.tags)) == \
            ({"m": 2.0}, {"p": "1"}, {"t": "x"})
        assert (found.info.status, found.info.run_name) == (RunStatus.FINISHED, "renamed")
        other = self.new_run(store, experiment, "other")
        assert set(_ids(self.all_runs(store, exp_ids))) == {run.run_id, other.run_id}
        flt = parse_filter("metrics.m = 2")
        assert _ids(store.search_runs(exp_ids, filter=flt).items) == [run.run_id]

    def test_search_unknown_experiment_raises_not_found(self, store: TrackingStore,
                                                        experiment: Experiment) -> None:
        """Searching an unknown experiment id raises NotFound."""
        with pytest.raises(NotFound):
            store.search_runs([experiment.experiment_id, UNKNOWN_ID])

    def test_search_bad_paging_arguments_refused(self, store: TrackingStore,
                                                 experiment: Experiment) -> None:
        """max_results below 1 and a garbage page token raise InvalidInput."""
        self.new_run(store, experiment)
        with pytest.raises(InvalidInput):
            store.search_runs([experiment.experiment_id], max_results=0)
        with pytest.raises(InvalidInput):
            store.search_runs([experiment.experiment_id], page_token="not a token!")


class ArtifactTests(TrackingStoreTests):
    """Artifacts: write, log, list, download, and paths that must not escape."""

    # -- artifacts ------------------------------------------------------------------------

    def test_write_artifact_round_trip(self, store: TrackingStore, run: Run,
                                       tmp_path: Any) -> None:
        """Bytes written with ``write_artifact`` download unchanged (all 256 byte values)."""
        self.require("artifacts")
        data = bytes(range(256)) * 41
        store.write_artifact(run.run_id, data, "blob.bin")
        local = store.download_artifact(run.run_id, "blob.bin", str(tmp_path))
        with open(local, "rb") as f:
            assert f.read() == data
        assert os.path.commonpath([os.path.abspath(local), str(tmp_path)]) == str(tmp_path)

    def test_write_empty_artifact(self, store: TrackingStore, run: Run,
                                  tmp_path: Any) -> None:
        """An empty artifact is listed (size 0 if sizes are given) and downloads empty."""
        self.require("artifacts")
        store.write_artifact(run.run_id, b"", "empty.txt")
        (info,) = store.list_artifacts(run.run_id)
        assert (info.path, info.is_dir, info.file_size in (None, 0)) == ("empty.txt", False, True)
        local = store.download_artifact(run.run_id, "empty.txt", str(tmp_path))
        with open(local, "rb") as f:
            assert f.read() == b""

    def test_write_artifact_overwrites(self, store: TrackingStore, run: Run,
                                       tmp_path: Any) -> None:
        """Writing an artifact path again replaces its content whole."""
        self.require("artifacts")
        store.write_artifact(run.run_id, b"first version, longer", "a.txt")
        store.write_artifact(run.run_id, b"second", "a.txt")
        local = store.download_artifact(run.run_id, "a.txt", str(tmp_path))
        with open(local, "rb") as f:
            assert f.read() == b"second"
        assert [i.path for i in store.list_artifacts(run.run_id)] == ["a.txt"]

    def test_log_artifact_copies_a_local_file(self, store: TrackingStore, run: Run,
                                              tmp_path: Any) -> None:
        """``log_artifact`` copies a local file to the artifact path; later changes to the
        local file do not affect it."""
        self.require("artifacts")
        src = tmp_path / "model.pkl"
        src.write_bytes(b"\x80\x04pickled")
        store.log_artifact(run.run_id, str(src), "models/model.pkl")
        src.write_bytes(b"changed")
        (info,) = store.list_artifacts(run.run_id, "models")
        assert (info.path, info.is_dir) == ("models/model.pkl", False)
        assert info.file_size in (None, len(b"\x80\x04pickled"))
        out = tmp_path / "out"
        out.mkdir()
        local = store.download_artifact(run.run_id, "models/model.pkl", str(out))
        with open(local, "rb") as f:
            assert f.read() == b"\x80\x04pickled"

    def test_log_artifact_missing_local_file(self, store: TrackingStore, run: Run,
                                             tmp_path: Any) -> None:
        """``log_artifact`` of a local file that does not exist raises NotFound (or
        FileNotFoundError) and lists nothing."""
        self.require("artifacts")
        with pytest.raises((NotFound, FileNotFoundError)):
            store.log_artifact(run.run_id, str(tmp_path / "missing.bin"), "missing.bin")
        assert store.list_artifacts(run.run_id) == []

    def _artifact_tree(self, store: TrackingStore, run: Run) -> dict[str, bytes]:
        files = {
            "README.md": b"# model\n",
            "model/weights.bin": b"\x00\x01" * 100,
            "model/config.json": b'{"layers": 3}',
            "model/sub/deep.txt": b"deep",
            "plots/loss.png": b"\x89PNG",
        }
        for path, data in files.items():
            store.write_artifact(run.run_id, data, path)
        return files

    def test_list_artifacts_root_and_subdirectories(self, store: TrackingStore,
                                                    run: Run) -> None:
        """``list_artifacts`` gives the direct children of a directory, as paths relative
        to the artifact root, sorted by path, directories marked ``is_dir``."""
        self.require("artifacts")
        files = self._artifact_tree(store, run)

        def listing(path: str | None) -> list[tuple[str, bool]]:
            infos = store.list_artifacts(run.run_id, path)
            assert all(isinstance(i, FileInfo) for i in infos)
            for i in infos:
                if not i.is_dir:
                    assert i.file_size in (None, len(files[i.path])), i
            return [(i.path, i.is_dir) for i in infos]

        assert listing(None) == [("README.md", False), ("model", True), ("plots", True)]
        assert listing("model") == [("model/config.json", False), ("model/sub", True),
                                    ("model/weights.bin", False)]
        assert listing("model/sub") == [("model/sub/deep.txt", False)]
        assert listing("plots") == [("plots/loss.png", False)]

    def test_list_artifacts_of_empty_or_missing_directory(self, store: TrackingStore,
                                                          run: Run) -> None:
        """A run without artifacts lists nothing; a missing directory lists nothing (or
        raises NotFound)."""
        self.require("artifacts")
        assert store.list_artifacts(run.run_id) == []
        store.write_artifact(run.run_id, b"x", "a.txt")
        with contextlib.suppress(NotFound):
            assert store.list_artifacts(run.run_id, "no/such/dir") == []

    def test_artifacts_belong_to_their_run(self, store: TrackingStore,
                                           experiment: Experiment) -> None:
        """One run's artifacts are not visible in another run."""
        self.require("artifacts")
        a, b = self.new_run(store, experiment, "a"), self.new_run(store, experiment, "b")
        store.write_artifact(a.run_id, b"a", "only-a.txt")
        assert [i.path for i in store.list_artifacts(a.run_id)] == ["only-a.txt"]
        assert store.list_artifacts(b.run_id) == []

    def test_download_artifact_file(self, store: TrackingStore, run: Run,
                                    tmp_path: Any) -> None:
        """Downloading a file returns a local path inside ``dst_dir`` holding its bytes."""
        self.require("artifacts")
        files = self._artifact_tree(store, run)
        local = store.download_artifact(run.run_id, "model/sub/deep.txt", str(tmp_path))
        assert os.path.isfile(local)
        assert os.path.commonpath([os.path.abspath(local), str(tmp_path)]) == str(tmp_path)
        with open(local, "rb") as f:
            assert f.read() == files["model/sub/deep.txt"]

    def test_download_artifact_directory(self, store: TrackingStore, run: Run,
                                         tmp_path: Any) -> None:
        """Downloading a directory copies its whole tree under the returned local path."""
        self.require("artifacts")
        files = self._artifact_tree(store, run)
        local = store.download_artifact(run.run_id, "model", str(tmp_path))
        assert os.path.isdir(local)
        got = {}
        for dirpath, _, names in os.walk(local):
            for name in names:
                full = os.path.join(dirpath, name)
                rel = os.path.relpath(full, local).replace(os.sep, "/")
                with open(full, "rb") as f:
                    got["model/" + rel] = f.read()
        assert got == {k: v for k, v in files.items() if k.startswith("model/")}

    def test_download_all_artifacts(self, store: TrackingStore, run: Run,
                                    tmp_path: Any) -> None:
        """Downloading the root (``""``) copies every artifact, keeping the tree."""
        self.require("artifacts")
        files = self._artifact_tree(store, run)
        local = store.download_artifact(run.run_id, "", str(tmp_path))
        for path, data in files.items():
            with open(os.path.join(local, *path.split("/")), "rb") as f:
                assert f.read() == data, path

    def test_download_missing_artifact(self, store: TrackingStore, run: Run,
                                       tmp_path: Any) -> None:
        """Downloading an artifact that does not exist raises NotFound."""
        self.require("artifacts")
        store.write_artifact(run.run_id, b"x", "a.txt")
        with pytest.raises(NotFound):
            store.download_artifact(run.run_id, "b.txt", str(tmp_path))

    def test_artifacts_of_unknown_run(self, store: TrackingStore, run: Run,
                                      tmp_path: Any) -> None:
        """Artifact calls on an unknown run raise NotFound."""
        self.require("artifacts")
        with pytest.raises(NotFound):
            store.write_artifact(UNKNOWN_ID, b"x", "a.txt")
        with pytest.raises(NotFound):
            store.list_artifacts(UNKNOWN_ID)
        with pytest.raises(NotFound):
            store.download_artifact(UNKNOWN_ID, "a.txt", str(tmp_path))

    @pytest.mark.parametrize("path", [v for _, v in INVALID_ARTIFACT_PATHS],
                             ids=[i for i, _ in INVALID_ARTIFACT_PATHS])
    def test_artifact_path_traversal_refused(self, store: TrackingStore, run: Run,
                                             tmp_path: Any, path: str) -> None:
        """Artifact paths with ``..``/``.``/empty segments, backslashes or control
        characters raise InvalidInput for every artifact call, and nothing is written."""
        self.require("artifacts")
        src = tmp_path / "src.txt"
        src.write_bytes(b"x")
        out = tmp_path / "out"
        out.mkdir()
        with pytest.raises(InvalidInput):
            store.write_artifact(run.run_id, b"x", path)
        with pytest.raises(InvalidInput):
            store.log_artifact(run.run_id, str(src), path)
        with pytest.raises(InvalidInput):
            store.list_artifacts(run.run_id, path)
        with pytest.raises(InvalidInput):
            store.download_artifact(run.run_id, path, str(out))
        assert store.list_artifacts(run.run_id) == []
        assert os.listdir(out) == []

    def test_dotfile_artifacts_are_listed(self, store: TrackingStore, run: Run) -> None:
        """Artifacts whose names start with a dot (``.gitignore``) are listed like others."""
        self.require("artifacts")
        store.write_artifact(run.run_id, b"*.pyc\n", ".gitignore")
        store.write_artifact(run.run_id, b"SECRET=1\n", "conf/.env")
        assert [(i.path, i.is_dir) for i in store.list_artifacts(run.run_id)] == \
            [(".gitignore", False), ("conf", True)]
        assert [i.path for i in store.list_artifacts(run.run_id, "conf")] == ["conf/.env"]

    def test_download_directory_includes_dotfiles(self, store: TrackingStore, run: Run,
                                                  tmp_path: Any) -> None:
        """Downloading a directory includes the files in it whose names start with a dot."""
        self.require("artifacts")
        store.write_artifact(run.run_id, b"SECRET=1\n", "conf/.env")
        store.write_artifact(run.run_id, b"x", "conf/app.ini")
        local = store.download_artifact(run.run_id, "conf", str(tmp_path))
        assert sorted(os.listdir(local)) == [".env", "app.ini"]


class SharingTests(TrackingStoreTests):
    """Several handles on one store, threads and processes."""

    # -- several handles on one store ------------------------------------------------------

    def test_second_handle_reads_what_the_first_wrote(self, store: TrackingStore) -> None:
        """A handle opened later by URI sees the experiments, runs, metrics, params, tags
        and searches the first handle wrote."""
        self.require("reopen")
        exp = store.create_experiment("shared", tags={"k": "v"})
        run = self.new_run(store, exp, tags={"t": "1"})
        store.log_batch(run.run_id, [series("m", [(0, 1.0, T0), (1, math.nan, T0)])],
                        {"p": "1"}, {"t": "2"})
        store.update_run(run.run_id, status=RunStatus.FINISHED, end_time=T0 + 1)
        other = self.open_again(store)
        try:
            assert other.get_experiment_by_name("shared") == exp
            assert other.list_experiments() == [exp]
            assert other.get_run(run.run_id) == store.get_run(run.run_id)
            assert other.get_metric_history(run.run_id, "m") == \
                store.get_metric_history(run.run_id, "m")
            assert self.all_runs(other, [exp.experiment_id]) == \
                self.all_runs(store, [exp.experiment_id])
            with pytest.raises(AlreadyExists):
                other.create_experiment("shared")
        finally:
            other.close()

    def test_first_handle_sees_lifecycle_changes_of_second(self, store: TrackingStore) -> None:
        """Deleting and restoring through one handle shows in the other."""
        self.require("reopen")
        exp = store.create_experiment("shared")
        run = self.new_run(store, exp)
        assert len(self.all_runs(store, [exp.experiment_id], ViewType.ACTIVE_ONLY)) == 1
        other = self.open_again(store)
        try:
            other.set_run_lifecycle(run.run_id, deleted=True)
            other.set_experiment_lifecycle(exp.experiment_id, deleted=True)
            assert store.get_run(run.run_id).info.lifecycle_stage is LifecycleStage.DELETED
            assert store.get_experiment(exp.experiment_id).lifecycle_stage is \
                LifecycleStage.DELETED
            assert self.all_runs(store, [exp.experiment_id], ViewType.ACTIVE_ONLY) == []
            other.set_run_lifecycle(run.run_id, deleted=False)
            assert store.get_run(run.run_id).info.lifecycle_stage is LifecycleStage.ACTIVE
        finally:
            other.close()

    def test_run_changed_through_another_handle(self, store: TrackingStore) -> None:
        """A run updated and logged to through a second handle (say, ``set_terminated``
        from another process) reads back changed through the first handle too."""
        self.require("reopen")
        exp = store.create_experiment("shared")
        run = self.new_run(store, exp)
        store.log_batch(run.run_id, [series("m", [(0, 1.0, T0)])])
        other = self.open_again(store)
        try:
            other.update_run(run.run_id, status=RunStatus.FINISHED, end_time=T0 + 5)
            other.log_batch(run.run_id, params={"p": "1"})
            got = store.get_run(run.run_id)
            assert (got.info.status, got.info.end_time) == (RunStatus.FINISHED, T0 + 5)
            assert dict(got.params) == {"p": "1"}
        finally:
            other.close()

    def test_change_through_another_handle_survives_later_logging(
            self, store: TrackingStore) -> None:
        """After a second handle ends a run and logs a param, more logging through the
        first handle neither undoes that nor lets the param change."""
        self.require("reopen")
        exp = store.create_experiment("shared")
        run = self.new_run(store, exp)
        store.log_batch(run.run_id, [series("m", [(0, 1.0, T0)])])
        other = self.open_again(store)
        try:
            other.update_run(run.run_id, status=RunStatus.FINISHED, end_time=T0 + 5)
            other.log_batch(run.run_id, params={"p": "1"})
        finally:
            other.close()
        store.log_batch(run.run_id, [series("m", [(1, 2.0, T0 + 1)])])
        with pytest.raises(ParamConflict):
            store.log_batch(run.run_id, params={"p": "2"})
        third = self.open_again(store)
        try:
            got = third.get_run(run.run_id)
            assert (got.info.status, got.info.end_time) == (RunStatus.FINISHED, T0 + 5)
            assert dict(got.params) == {"p": "1"}
            assert got.metrics == {"m": 2.0}
        finally:
            third.close()


    def test_threads_logging_to_separate_runs(self, store: TrackingStore,
                                              experiment: Experiment) -> None:
        """8 threads, each creating and logging to its own run (while another thread
        searches): no point, param or tag is lost and each history keeps its order."""
        self.require("concurrent_threads")
        batches, points = 15, 10
        stop = threading.Event()
        search_errors: list[BaseException] = []

        def searcher() -> None:
            try:
                while not stop.is_set():
                    store.search_runs([experiment.experiment_id])
            except BaseException as exc:
                search_errors.append(exc)

        def worker(i: int) -> str:
            run = self.new_run(store, experiment, f"thread-{i}", start_time=T0 + i)
            for b in range(batches):
                steps = list(range(b * points, (b + 1) * points))
                store.log_batch(run.run_id,
                                [series("m", [(s, float(i * 10_000 + s), T0 + s)
                                              for s in steps])],
                                params={f"p{b}": str(i)}, tags={"last": str(b)})
            return run.run_id

        reader = threading.Thread(target=searcher)
        reader.start()
        try:
            run_ids = in_threads(8, worker)
        finally:
            stop.set()
            reader.join()
        if search_errors:
            raise search_errors[0]
        total = batches * points
        for i, run_id in enumerate(run_ids):
            history = store.get_metric_history(run_id, "m")
            assert history.steps.tolist() == list(range(total))
            assert history.values.tolist() == [float(i * 10_000 + s) for s in range(total)]
            got = store.get_run(run_id)
            assert dict(got.params) == {f"p{b}": str(i) for b in range(batches)}
            assert dict(got.tags) == {"last": str(batches - 1)}
            assert got.metrics == {"m": float(i * 10_000 + total - 1)}
        assert set(_ids(self.all_runs(store, [experiment.experiment_id]))) == set(run_ids)

    def test_threads_logging_to_one_run(self, store: TrackingStore, run: Run) -> None:
        """8 threads logging to the same run lose no point; each thread's points keep
        their order in the history."""
        self.require("concurrent_threads")

        def worker(i: int) -> None:
            for b in range(10):
                store.log_batch(run.run_id, [series("m", [(b, float(i), T0 + b)])],
                                params={f"p{i}": "x"})

        in_threads(8, worker)
        history = store.get_metric_history(run.run_id, "m")
        assert len(history) == 80
        per_thread: dict[float, list[int]] = {}
        for step, value in zip(history.steps.tolist(), history.values.tolist()):
            per_thread.setdefault(value, []).append(step)
        assert per_thread == {float(i): list(range(10)) for i in range(8)}
        assert set(store.get_run(run.run_id).params) == {f"p{i}" for i in range(8)}

    def test_threads_racing_for_an_experiment_name(self, store: TrackingStore) -> None:
        """Of 8 threads creating the same experiment at once, exactly one succeeds; the
        others get AlreadyExists; one experiment is listed."""
        self.require("concurrent_threads")

        def create(i: int) -> str:
            try:
                return store.create_experiment("race", tags={"winner": str(i)}).experiment_id
            except AlreadyExists:
                return ""

        results = in_threads(8, create)
        winners = [r for r in results if r]
        assert len(winners) == 1
        assert [e.experiment_id for e in store.list_experiments(ViewType.ALL)] == winners
        assert store.get_experiment_by_name("race").experiment_id == winners[0]

    @pytest.mark.slow
    def test_processes_racing_and_logging(self, store: TrackingStore, tmp_path: Any) -> None:
        """4 processes open the store by URI and race to create one experiment: exactly one
        wins, all use it, and each one's run and points are all there afterwards."""
        self.require("concurrent_processes")
        count = 4
        uri = self.store_uri(store)
        barrier = tmp_path / "barrier"
        barrier.mkdir()
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", _CHILD_SCRIPT, uri, "shared", str(barrier), str(i),
                 str(count)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
            for i in range(count)
        ]
        outputs = []
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            outputs.append(json.loads(out.strip().splitlines()[-1]))
        assert sum(o["won"] for o in outputs) == 1
        exp_ids = {o["experiment_id"] for o in outputs}
        assert len(exp_ids) == 1
        (exp_id,) = exp_ids
        assert [e.experiment_id for e in store.list_experiments(ViewType.ALL)] == [exp_id]
        runs = self.all_runs(store, [exp_id])
        assert set(_ids(runs)) == {o["run_id"] for o in outputs}
        for o in outputs:
            history = store.get_metric_history(o["run_id"], "m")
            assert history.steps.tolist() == list(range(50))
            assert len(store.get_run(o["run_id"]).params) == 5


class TrackingStoreSuite(ExperimentTests, RunTests, LoggingTests, SearchTests, ArtifactTests,
                         SharingTests):
    """Conformance tests of the ``TrackingStore`` contract: every area together.

    Subclass it as ``class TestMyStore(TrackingStoreSuite)`` and define a ``store`` fixture
    that returns a fresh, empty store (tearing it down after the test, if needed). Set
    ``capabilities`` to a ``StoreCapabilities`` to skip what the backend does not support.
    A backend that implements part of the interface takes the areas it serves instead:
    ``class TestMyStore(ExperimentTests, RunTests, LoggingTests)``. The class name has no
    ``Test`` prefix, so pytest collects it only through subclasses.
    """
