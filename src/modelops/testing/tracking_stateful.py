"""A Hypothesis state machine that drives a TrackingStore against a model of it.

``TrackingStoreMachine`` performs random sequences of store calls (create experiments, some
with taken names; create runs; log batches, some with conflicting params; update, delete,
restore and purge runs) and applies each to a plain in-memory model (dicts and lists). After
every step it checks that ``list_experiments``, ``get_experiment_by_name``, ``get_run``,
``get_metric_history`` and ``search_runs`` agree with the model, and that refused calls
raised the right error and changed nothing.

Any backend gets a test case from a factory that makes a fresh store::

    from modelops.testing import tracking_machine

    TestMyStoreMachine = tracking_machine(lambda: MyTrackingStore.temporary()).TestCase

For set-up and clean-up around each store (a temporary directory, a database), subclass
``TrackingStoreMachine`` and override ``make_store`` and ``teardown``::

    class MyMachine(TrackingStoreMachine):
        def make_store(self):
            self.tmp = tempfile.mkdtemp()
            return MyTrackingStore(self.tmp)

        def teardown(self):
            super().teardown()             # closes the store
            shutil.rmtree(self.tmp)

    TestMyMachine = MyMachine.TestCase

Every machine class runs ``DEFAULT_SETTINGS`` (30 examples of up to 30 steps, no
deadline); assign ``Machine.TestCase.settings`` to change that. Needs hypothesis; does not
need pytest.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, ClassVar

import attrs
from hypothesis import HealthCheck
from hypothesis import settings as Settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from modelops.entities import LifecycleStage, MetricSeries, Run, RunStatus, ViewType
from modelops.errors import AlreadyExists, Conflict, NotFound, ParamConflict
from modelops.stores import TrackingStore
from modelops.testing import strategies as mst

__all__ = ["DEFAULT_SETTINGS", "TrackingStoreMachine", "tracking_machine"]

#: Settings every machine class gets: modest, so a machine runs in seconds.
DEFAULT_SETTINGS = Settings(
    max_examples=30,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)

# Small pools make repeats likely: histories grow across batches, params conflict.
_METRIC_KEYS = st.one_of(st.sampled_from(["loss", "acc", "train/loss"]), mst.keys(max_size=20))
_PARAM_KEYS = st.one_of(st.sampled_from(["lr", "depth", "opt/name"]), mst.keys(max_size=20))
_PARAM_VALUES = st.one_of(st.sampled_from(["1", "2", "adam", ""]),
                          mst.param_values(max_size=20))
_TAG_KEYS = st.one_of(st.sampled_from(["team", "stage", "mlflow.note"]), mst.keys(max_size=20))
_TAG_VALUES = st.one_of(st.sampled_from(["a", "b", ""]), mst.tag_values(max_size=20))
_TAGS = st.dictionaries(_TAG_KEYS, _TAG_VALUES, max_size=3)
_PARAMS = st.dictionaries(_PARAM_KEYS, _PARAM_VALUES, max_size=3)
_TIMES = st.integers(0, 2**50)


def _same_float(actual: float, expected: float) -> bool:
    if math.isnan(expected):
        return math.isnan(actual)
    return struct.pack("<d", actual) == struct.pack("<d", expected)


@contextmanager
def _raises(*types: type[BaseException]) -> Iterator[None]:
    """Assert that the block raises one of ``types`` (other errors propagate)."""
    try:
        yield
    except types:
        return
    raise AssertionError(f"expected {' or '.join(t.__name__ for t in types)}, "
                         "but the call succeeded")


@attrs.define
class _ExperimentModel:
    experiment_id: str
    name: str
    tags: dict[str, str]
    deleted: bool = False


@attrs.define
class _RunModel:
    run_id: str
    experiment_id: str
    name: str
    start_time: int
    user: str
    tags: dict[str, str]
    status: RunStatus = RunStatus.RUNNING
    end_time: int | None = None
    deleted: bool = False
    purged: bool = False
    params: dict[str, str] = attrs.Factory(dict)
    # key -> (steps, values, timestamps) in logging order
    metrics: dict[str, tuple[list[int], list[float], list[int]]] = attrs.Factory(dict)

    @property
    def stage(self) -> LifecycleStage:
        return LifecycleStage.DELETED if self.deleted else LifecycleStage.ACTIVE


class TrackingStoreMachine(RuleBasedStateMachine):
    """Random store operations, each checked against a dict-based model.

    Override ``make_store`` (or use ``tracking_machine``). Class attributes tune it:
    ``experiment_names`` and ``run_names`` are the strategies for names (full
    ``strategies.names()`` by default), ``supports_purge`` enables the purge rule.

    Every example starts with one experiment and one run, so run rules are exercised from
    the first step; rules pick their experiment or run from the model.
    """

    experiment_names: ClassVar[st.SearchStrategy[str]] = mst.names()
    run_names: ClassVar[st.SearchStrategy[str]] = mst.names()
    supports_purge: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Hypothesis gives each class its own TestCase with default settings; ours apply.
        cls.TestCase.settings = DEFAULT_SETTINGS

    def __init__(self) -> None:
        super().__init__()
        self.store: TrackingStore = self.make_store()
        self.experiment_model: list[_ExperimentModel] = []  # creation order
        self.run_model: dict[str, _RunModel] = {}  # creation order

    def make_store(self) -> TrackingStore:
        """A fresh, empty store for one run of the machine."""
        raise NotImplementedError(
            f"{type(self).__name__} must override make_store(), or be made with "
            "tracking_machine(make_store)")

    def teardown(self) -> None:
        self.store.close()

    # -- model helpers --------------------------------------------------------------------

    def _by_name(self, name: str) -> _ExperimentModel | None:
        return next((e for e in self.experiment_model if e.name == name), None)

    def _live_runs(self) -> list[_RunModel]:
        return [r for r in self.run_model.values() if not r.purged]

    def _has_experiments(self) -> bool:
        return bool(self.experiment_model)

    def _has_runs(self) -> bool:
        return bool(self.run_model)

    def _draw_experiment(self, data: st.DataObject) -> _ExperimentModel:
        return data.draw(st.sampled_from(self.experiment_model), label="experiment")

    def _draw_run(self, data: st.DataObject) -> _RunModel:
        # Mostly a live run; sometimes any run, purged ones included (calls on those must
        # raise NotFound).
        live = self._live_runs()
        if live and data.draw(st.integers(0, 9), label="live run?"):
            return data.draw(st.sampled_from(live), label="run")
        return data.draw(st.sampled_from(list(self.run_model.values())), label="run")

    # -- experiments ----------------------------------------------------------------------

    @initialize(data=st.data())
    def create_first_experiment_and_run(self, data: st.DataObject) -> None:
        self.create_experiment(data)
        self.create_run(data)

    @rule(data=st.data())
    def create_experiment(self, data: st.DataObject) -> None:
        """A new name, or sometimes a taken one: then AlreadyExists and nothing written."""
        taken = [e.name for e in self.experiment_model]
        names = st.one_of(self.experiment_names, st.sampled_from(taken)) if taken \
            else self.experiment_names
        name = data.draw(names, label="name")
        tags = data.draw(_TAGS, label="tags")
        if self._by_name(name) is not None:
            with _raises(AlreadyExists):
                self.store.create_experiment(name, tags=tags)
            return
        exp = self.store.create_experiment(name, tags=tags)
        assert (exp.name, dict(exp.tags), exp.lifecycle_stage) == \
            (name, tags, LifecycleStage.ACTIVE)
        assert all(e.experiment_id != exp.experiment_id for e in self.experiment_model)
        self.experiment_model.append(_ExperimentModel(exp.experiment_id, name, tags))

    @precondition(_has_experiments)
    @rule(data=st.data(), deleted=st.booleans())
    def set_experiment_lifecycle(self, data: st.DataObject, deleted: bool) -> None:
        exp = self._draw_experiment(data)
        self.store.set_experiment_lifecycle(exp.experiment_id, deleted=deleted)
        exp.deleted = deleted

    # -- runs -----------------------------------------------------------------------------

    @precondition(_has_experiments)
    @rule(data=st.data())
    def create_run(self, data: st.DataObject) -> None:
        """A run in an active experiment; in a deleted one, Conflict and nothing written."""
        exp = self._draw_experiment(data)
        name = data.draw(self.run_names, label="run_name")
        start_time = data.draw(_TIMES, label="start_time")
        tags = data.draw(_TAGS, label="tags")
        user = data.draw(st.sampled_from(["", "alice", "Zoë"]), label="user")
        if exp.deleted:
            with _raises(Conflict):
                self.store.create_run(exp.experiment_id, run_name=name,
                                      start_time=start_time, tags=tags, user=user)
            return
        run = self.store.create_run(exp.experiment_id, run_name=name, start_time=start_time,
                                    tags=tags, user=user)
        assert run.run_id not in self.run_model
        model = _RunModel(run.run_id, exp.experiment_id, name, start_time, user, dict(tags))
        self.run_model[run.run_id] = model
        self._check_run(run, model)

    @precondition(_has_runs)
    @rule(data=st.data())
    def log_batch(self, data: st.DataObject) -> None:
        """One to three batches of metrics, params and tags, each to some run."""
        for _ in range(data.draw(st.integers(1, 3), label="batches")):
            run = self._draw_run(data)
            metric_keys = data.draw(st.lists(_METRIC_KEYS, unique=True, max_size=3),
                                    label="metric keys")
            metrics = [data.draw(mst.metric_series(key, max_size=5),
                                 label=f"metrics[{key!r}]") for key in metric_keys]
            params = data.draw(_PARAMS, label="params")
            tags = data.draw(_TAGS, label="tags")
            self._log(run.run_id, metrics, params, tags)

    @precondition(lambda self: any(r.params and not r.deleted for r in self._live_runs()))
    @rule(data=st.data())
    def log_conflicting_param(self, data: st.DataObject) -> None:
        """A batch re-logging a param with another value: ParamConflict, nothing written."""
        candidates = [r for r in self._live_runs() if r.params and not r.deleted]
        model = data.draw(st.sampled_from(candidates), label="run")
        key = data.draw(st.sampled_from(sorted(model.params)), label="param key")
        value = data.draw(_PARAM_VALUES.filter(lambda v: v != model.params[key]),
                          label="other value")
        params = {**data.draw(_PARAMS, label="params"), key: value}
        metrics = [data.draw(mst.metric_series("loss", min_size=1, max_size=3),
                             label="metrics")]
        tags = data.draw(_TAGS, label="tags")
        with _raises(ParamConflict):
            self.store.log_batch(model.run_id, metrics, params, tags)

    def _log(self, run_id: str, metrics: list[MetricSeries], params: dict[str, str],
             tags: dict[str, str]) -> None:
        model = self.run_model[run_id]
        if model.purged:
            with _raises(NotFound):
                self.store.log_batch(run_id, metrics, params, tags)
            return
        empty = not (params or tags or any(len(s) for s in metrics))
        if model.deleted and empty:
            # Nothing to write: accepting or refusing are both fine.
            with suppress(Conflict):
                self.store.log_batch(run_id, metrics, params, tags)
            return
        if model.deleted:
            with _raises(Conflict):
                self.store.log_batch(run_id, metrics, params, tags)
            return
        if any(k in model.params and model.params[k] != v for k, v in params.items()):
            with _raises(ParamConflict):
                self.store.log_batch(run_id, metrics, params, tags)
            return
        self.store.log_batch(run_id, metrics, params, tags)
        model.params.update(params)
        model.tags.update(tags)
        for s in metrics:
            if len(s):
                cols = model.metrics.setdefault(s.key, ([], [], []))
                cols[0].extend(s.steps.tolist())
                cols[1].extend(s.values.tolist())
                cols[2].extend(s.timestamps.tolist())

    @precondition(_has_runs)
    @rule(data=st.data())
    def update_run(self, data: st.DataObject) -> None:
        model = self._draw_run(data)
        run_id = model.run_id
        status = data.draw(st.none() | mst.statuses(), label="status")
        end_time = data.draw(st.none() | _TIMES, label="end_time")
        name = data.draw(st.none() | self.run_names, label="run_name")
        if model.purged:
            with _raises(NotFound):
                self.store.update_run(run_id, status=status, end_time=end_time,
                                      run_name=name)
            return
        try:
            updated = self.store.update_run(run_id, status=status, end_time=end_time,
                                            run_name=name)
        except Conflict:
            if model.deleted:  # updating a soft-deleted run may be refused
                return
            raise
        if status is not None:
            model.status = status
        if end_time is not None:
            model.end_time = end_time
        if name is not None:
            model.name = name
        self._check_run(updated, model)

    @precondition(_has_runs)
    @rule(data=st.data(), deleted=st.booleans())
    def set_run_lifecycle(self, data: st.DataObject, deleted: bool) -> None:
        model = self._draw_run(data)
        if model.purged:
            with _raises(NotFound):
                self.store.set_run_lifecycle(model.run_id, deleted=deleted)
            return
        self.store.set_run_lifecycle(model.run_id, deleted=deleted)
        model.deleted = deleted

    @precondition(lambda self: self.supports_purge and self._has_runs())
    @rule(data=st.data())
    def purge_run(self, data: st.DataObject) -> None:
        model = self._draw_run(data)
        if model.purged:
            with _raises(NotFound):
                self.store.purge_run(model.run_id)
            return
        self.store.purge_run(model.run_id)
        model.purged = True

    @rule(data=st.data())
    def page_through_search(self, data: st.DataObject) -> None:
        max_results = data.draw(st.integers(1, 6), label="max_results")
        view = data.draw(st.sampled_from(ViewType), label="view")
        ids = [e.experiment_id for e in self.experiment_model]
        full = self.store.search_runs(ids, max_results=1000, view=view)
        paged: list[str] = []
        token = None
        for _ in range(len(self.run_model) + 2):
            page = self.store.search_runs(ids, max_results=max_results, page_token=token,
                                          view=view)
            assert len(page.items) <= max_results
            paged += [r.info.run_id for r in page.items]
            token = page.token
            if token is None:
                break
        else:
            raise AssertionError("paging did not end")
        assert paged == [r.info.run_id for r in full.items]
        assert len(set(paged)) == len(paged)

    # -- invariants -----------------------------------------------------------------------

    @invariant()
    def experiments_agree(self) -> None:
        for view in ViewType:
            listed = self.store.list_experiments(view)
            expected = [e for e in self.experiment_model
                        if view.admits(LifecycleStage.DELETED if e.deleted
                                       else LifecycleStage.ACTIVE)]
            assert [(e.experiment_id, e.name, dict(e.tags), e.lifecycle_stage)
                    for e in listed] == \
                [(e.experiment_id, e.name, e.tags,
                  LifecycleStage.DELETED if e.deleted else LifecycleStage.ACTIVE)
                 for e in expected], view
        for e in self.experiment_model:
            found = self.store.get_experiment_by_name(e.name)
            assert found is not None and found.experiment_id == e.experiment_id, e.name

    @invariant()
    def runs_agree(self) -> None:
        for model in self.run_model.values():
            if model.purged:
                with _raises(NotFound):
                    self.store.get_run(model.run_id)
                continue
            self._check_run(self.store.get_run(model.run_id), model)
            for key, (steps, values, stamps) in model.metrics.items():
                history = self.store.get_metric_history(model.run_id, key)
                assert history.key == key
                assert history.steps.tolist() == steps, key
                assert history.timestamps.tolist() == stamps, key
                got = history.values.tolist()
                assert len(got) == len(values) and all(
                    _same_float(a, e) for a, e in zip(got, values)), (key, got, values)

    @invariant()
    def search_agrees(self) -> None:
        ids = [e.experiment_id for e in self.experiment_model]
        live = self._live_runs()
        for view in ViewType:
            page = self.store.search_runs(ids, max_results=1000, view=view)
            assert page.token is None
            expected = {r.run_id for r in live if view.admits(r.stage)}
            found = [r.info.run_id for r in page.items]
            assert len(found) == len(set(found)), "a run appears twice"
            assert set(found) == expected, view
            for run in page.items:
                self._check_run(run, self.run_model[run.info.run_id])
            starts = [(-r.info.start_time, r.info.run_id) for r in page.items]
            assert starts == sorted(starts), "default order is start_time DESC, run_id ASC"

    def _check_run(self, run: Run, model: _RunModel) -> None:
        info = run.info
        assert (info.run_id, info.experiment_id, info.run_name, info.status, info.start_time,
                info.end_time, info.lifecycle_stage, info.user, info.parent_run_id) == \
            (model.run_id, model.experiment_id, model.name, model.status, model.start_time,
             model.end_time, model.stage, model.user, None)
        assert dict(run.data.params) == model.params
        assert dict(run.data.tags) == model.tags
        assert set(run.data.latest) == set(model.metrics)
        for key, (steps, values, stamps) in model.metrics.items():
            latest = run.data.latest[key]
            top = max(zip(steps, stamps))
            candidates = [v for s, v, t in zip(steps, values, stamps) if (s, t) == top]
            assert (latest.key, latest.step, latest.timestamp) == (key, *top), key
            assert any(_same_float(latest.value, v) for v in candidates), \
                (key, latest.value, candidates)


TrackingStoreMachine.TestCase.settings = DEFAULT_SETTINGS


def tracking_machine(make_store: Callable[[], TrackingStore], *,
                     name: str = "TrackingStoreMachine",
                     experiment_names: st.SearchStrategy[str] | None = None,
                     run_names: st.SearchStrategy[str] | None = None,
                     supports_purge: bool = True,
                     settings: Settings | None = None) -> type[TrackingStoreMachine]:
    """A ``TrackingStoreMachine`` subclass whose stores come from ``make_store``.

    ``make_store()`` must return a fresh, empty store each time (the store is closed after
    each example). Use ``tracking_machine(...).TestCase`` as a test class (unittest- and
    pytest-compatible). ``experiment_names``/``run_names`` replace the name strategies,
    ``supports_purge=False`` drops the purge rule, and ``settings`` replaces
    ``DEFAULT_SETTINGS``.
    """
    namespace: dict[str, Any] = {
        "make_store": staticmethod(make_store),
        "supports_purge": supports_purge,
        "__doc__": f"TrackingStoreMachine on stores from {make_store!r}.",
    }
    if experiment_names is not None:
        namespace["experiment_names"] = experiment_names
    if run_names is not None:
        namespace["run_names"] = run_names
    machine = type(name, (TrackingStoreMachine,), namespace)
    if settings is not None:
        machine.TestCase.settings = settings
    return machine
