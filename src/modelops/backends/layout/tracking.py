"""TrackingStore over the log-structured layout, on any Storage.

Layout under the root::

    experiment-names/<name>.json                     claim of a name, made with an exclusive create
    experiments/<exp>/experiment.json                written once
    experiments/<exp>/lifecycle/<id>.json            deleted/restored events; the newest wins
    experiments/<exp>/run-lifecycle/<id>.json        the same for the experiment's runs
    experiments/<exp>/runs/<run>/run.json            written once: identity, start, initial tags
    experiments/<exp>/runs/<run>/log/<id>.json       segments: metrics (columnar), params, tags,
                                                     status changes; each written once
    experiments/<exp>/runs/<run>/summary.json        the run's state folded from its segments,
                                                     replaced atomically after each segment
    experiments/<exp>/runs/<run>/artifacts/...
    experiments/<exp>/summaries.log                  every summary as it is written, one a
                                                     line, and runs purged (where the storage
                                                     appends): what keeps the index current
    experiments/<exp>/search-index                   a columnar cache of the summaries for
                                                     search (``search_index``); derived

Every record read back is checked for the shape written before it is used: an experiment,
a name claim or a run record that is not is a ``StoreError`` naming the file when it is
asked for, and is skipped with a ``StoreWarning`` by listings and searches; a log segment or
a lifecycle event that is not is skipped with a warning; a summary or the search index that
is not (both derived) is rebuilt from the records it derives from.

Ids are time-ordered, so a directory listing is time order. Nothing is edited in place; the
summary is derived (it names the last segment it folded, and a reader folds any newer ones),
so a crash between a segment and its summary loses nothing. One process writes a run at a
time; many processes write different runs of one experiment freely.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from modelops import query
from modelops._crash import crash_point
from modelops._files import path_name
from modelops._ids import new_id, now_ms
from modelops.backends.layout import summary_log
from modelops.backends.layout.storage import DECODE_ERRORS, Signature, Storage, dumps, skipped
from modelops.entities import (
    Experiment,
    FileInfo,
    LifecycleStage,
    Metric,
    MetricSeries,
    Page,
    Run,
    RunData,
    RunInfo,
    RunStatus,
    ViewType,
)
from modelops.entities.validators import (
    MAX_TAG_VALUE_LENGTH,
    check_key,
    check_name,
    check_str_mapping,
)
from modelops.errors import (
    AlreadyExists,
    Conflict,
    InvalidInput,
    NotFound,
    ParamConflict,
    StoreError,
)
from modelops.stores import TrackingStore

if TYPE_CHECKING:
    from modelops.backends.layout import search_index
    from modelops.query import Filter, OrderBy


def _search_index() -> Any:
    # numpy, which the index is made of, loads at the first search, not at connect().
    from modelops.backends.layout import search_index

    return search_index


def _numpy_loaded() -> bool:
    return "numpy" in sys.modules


#: An experiment whose summary log is at most this long (a run writes a summary per change:
#: 1,000 to 2,000 runs) is searched from the log in plain Python by a process that has not
#: loaded numpy: a first search would otherwise spend more on importing numpy than on the
#: runs.
_PLAIN_LOG_BYTES = 4 << 20
#: How many such experiments a store keeps parsed (each up to about 10 MB of objects).
_LOGGED_KEPT = 4
#: Rewrite the stored search index once this many of an experiment's runs changed since it
#: was written (and at least this share of them): fewer are re-read by each cold search.
_INDEX_REWRITE_THRESHOLD = 16
_INDEX_REWRITE_SHARE = 0.02


def _exp_dir(experiment_id: str) -> str:
    return f"experiments/{experiment_id}"


def _run_dir(experiment_id: str, run_id: str) -> str:
    return f"experiments/{experiment_id}/runs/{run_id}"


def _artifact_rel(path: str | None) -> str:
    if path is None:
        return ""
    if not isinstance(path, str):
        raise InvalidInput(f"expected a path, got {path!r}", field="artifact path")
    if path in ("", "."):
        return ""
    return check_key(path.strip("/") if path != "/" else "", "artifact path")


_ANY = object()
_INT = (int,)
_OPTIONAL_INT = (int, type(None))
_OPTIONAL_STR = (str, type(None))
_STATUSES = frozenset(s.value for s in RunStatus)


def _has(data: Any, fields: Mapping[str, Any]) -> bool:
    """Whether ``data`` is an object whose ``fields`` have the given types (a bool is no
    int here, as it is not in what modelops writes)."""
    if not isinstance(data, dict):
        return False
    for key, kind in fields.items():
        value = data.get(key, _ANY)
        if kind is bool:
            if type(value) is not bool:
                return False
        elif value is _ANY or not isinstance(value, kind) or type(value) is bool:
            return False
    return True


def _names(*values: Any) -> bool:
    try:
        for value in values:
            if value is not None:
                check_name(value, "name")
    except InvalidInput:
        return False
    return True


def _strings(mapping: dict[str, Any]) -> bool:
    return all(type(k) is str and type(v) is str for k, v in mapping.items())


_RUN = {"run_id": str, "experiment_id": str, "run_name": str, "start_time": _INT, "user": str,
        "parent_run_id": _OPTIONAL_STR, "artifact_uri": str, "tags": dict}
_INT64 = 2**63


def _is_run(record: Any, run_id: str) -> bool:
    return (_has(record, _RUN) and record["run_id"] == run_id and _strings(record["tags"])
            and _names(record["run_id"], record["experiment_id"], record["run_name"],
                       record["parent_run_id"]))


def _is_summary(summary: Any, run_id: str) -> bool:
    """Whether a summary read back has the shape a search relies on. (Spelled out field by
    field: a cold search checks a thousand of them. Names are checked when a run of the page
    is made: see ``search_runs``.)"""
    try:
        end, parent, last = summary["end_time"], summary["parent_run_id"], \
            summary["last_segment"]
        if not (summary["run_id"] == run_id and type(summary["experiment_id"]) is str
                and type(summary["run_name"]) is str and summary["status"] in _STATUSES
                and type(summary["start_time"]) is int
                and -_INT64 <= summary["start_time"] < _INT64
                and (end is None or type(end) is int) and type(summary["user"]) is str
                and (parent is None or type(parent) is str)
                and type(summary["artifact_uri"]) is str
                and (last is None or type(last) is str)
                and type(summary["tags"]) is dict and _strings(summary["tags"])
                and type(summary["params"]) is dict and _strings(summary["params"])
                and type(summary["metrics"]) is dict):
            return False
    except (KeyError, TypeError):
        return False
    for key, point in summary["metrics"].items():
        if not (type(key) is str and type(point) is list and len(point) == 3
                and isinstance(point[0], (int, float)) and type(point[1]) is int
                and type(point[2]) is int):
            return False
    return True


def _is_segment(segment: Any) -> bool:
    """Whether a log segment has the shape ``_fold`` relies on."""
    if not isinstance(segment, dict):
        return False
    for field in ("params", "tags"):
        if not isinstance(segment.get(field) or {}, dict) or \
                not _strings(segment.get(field) or {}):
            return False
    if "status" in segment and not (isinstance(segment["status"], str)
                                    and segment["status"] in _STATUSES):
        return False
    if not isinstance(segment.get("end_time"), _OPTIONAL_INT) or \
            not isinstance(segment.get("run_name", ""), str):
        return False
    metrics = segment.get("metrics") or {}
    if not isinstance(metrics, dict):
        return False
    for columns in metrics.values():
        if not (type(columns) is list and len(columns) == 3
                and all(type(c) is list for c in columns)
                and len(columns[0]) == len(columns[1]) == len(columns[2]) > 0
                and all(type(x) is int for x in columns[0])
                and all(type(x) is int for x in columns[2])
                and all(isinstance(x, (int, float)) and type(x) is not bool
                        for x in columns[1])):
            return False
    return True


def _fold(summary: dict[str, Any], segment: dict[str, Any], segment_id: str) -> None:
    """Apply one log segment to a summary, in place."""
    summary["params"].update(segment.get("params") or {})
    summary["tags"].update(segment.get("tags") or {})
    for field in ("status", "end_time", "run_name"):
        if field in segment:
            summary[field] = segment[field]
    latest = summary["metrics"]
    for key, (steps, values, stamps) in (segment.get("metrics") or {}).items():
        i = _latest_index(steps, stamps)
        current = latest.get(key)
        if current is None or (steps[i], stamps[i]) >= (current[1], current[2]):
            latest[key] = [values[i], steps[i], stamps[i]]
    summary["last_segment"] = segment_id


def _latest_index(steps: list[int], stamps: list[int]) -> int:
    """The index of the latest point: highest step, then timestamp, then last logged."""
    if len(steps) > 64:
        import numpy as np

        s = np.asarray(steps)
        at_max = np.flatnonzero(s == s.max())
        t = np.asarray(stamps)[at_max]
        return int(at_max[np.flatnonzero(t == t.max())[-1]])
    best = 0
    for i in range(1, len(steps)):
        if (steps[i], stamps[i]) >= (steps[best], stamps[best]):
            best = i
    return best


def _run_from_summary(s: dict[str, Any], deleted: bool) -> Run:
    """The Run of a summary; ``InvalidInput`` if a name or key in it does not check out (a
    summary read back is checked for its shape, its names when a Run is made of it)."""
    info = RunInfo(
        run_id=s["run_id"],
        experiment_id=s["experiment_id"],
        run_name=s["run_name"],
        status=s["status"],
        start_time=s["start_time"],
        end_time=s["end_time"],
        lifecycle_stage=LifecycleStage.DELETED if deleted else LifecycleStage.ACTIVE,
        artifact_uri=s["artifact_uri"],
        user=s["user"],
        parent_run_id=s["parent_run_id"],
    )
    latest = {k: Metric(k, v[0], v[2], v[1]) for k, v in s["metrics"].items()}
    return Run(info, RunData(latest=latest, params=s["params"], tags=s["tags"]))


class _LoggedExperiment:
    """A small experiment's runs as its summary log holds them at ``signature``: the newest
    summary of each, in log order, and the drafts made of them so far (by run and deleted)."""

    def __init__(self, signature: Signature, records: list[tuple[str, dict[str, Any]]]) -> None:
        self.signature = signature
        self.records = records
        self.drafts: dict[tuple[str, bool], _Draft] = {}


class _Point:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class _DraftData:
    __slots__ = ("latest", "params", "tags")

    def __init__(self, s: dict[str, Any]) -> None:
        self.latest = {k: _Point(v[0]) for k, v in s["metrics"].items()}
        self.params, self.tags = s["params"], s["tags"]


class _DraftInfo:
    __slots__ = ("artifact_uri", "end_time", "experiment_id", "lifecycle_stage",
                 "parent_run_id", "run_id", "run_name", "start_time", "status", "user")

    def __init__(self, s: dict[str, Any], deleted: bool) -> None:
        for name in ("artifact_uri", "end_time", "experiment_id", "parent_run_id", "run_id",
                     "run_name", "start_time", "user"):
            setattr(self, name, s[name])
        self.status = RunStatus.parse(s["status"])
        self.lifecycle_stage = LifecycleStage.DELETED if deleted else LifecycleStage.ACTIVE


class _Draft:
    """A run of a summary, as filters and orders read a Run (``info``, ``data``), made
    without checking its names: only the runs of a page become Runs, checked."""

    __slots__ = ("data", "deleted", "info", "record", "run")

    def __init__(self, record: dict[str, Any], deleted: bool) -> None:
        self.record, self.deleted, self.run = record, deleted, None
        self.info = _DraftInfo(record, deleted)
        self.data = _DraftData(record)


class _ExperimentIndex:
    """An experiment's runs for search: a columnar table (read from the stored index, or
    built) and the summaries that changed since it was made, valid for a change token."""

    def __init__(self, table: search_index.Table | None = None) -> None:
        self.table = table
        self.token: bytes | None = (table.token.encode() if table is not None
                                    and table.token is not None else None)
        #: How far into the experiment's summary log this index reflects (None: unknown).
        self.log: int | None = table.log if table is not None else None
        #: run id -> (signature, summary, its JSON or None) of runs the table lacks or holds
        #: an older state of.
        self.changed: dict[str, tuple[Signature, dict[str, Any], bytes | None]] = {}
        #: runs of the table since purged.
        self.gone: set[str] = set()
        self._row_of: dict[str, int] | None = None
        self._changed_table: search_index.Table | None = None

    def row_of(self) -> dict[str, int]:
        if self._row_of is None:
            ids = self.table.run_ids() if self.table is not None else []
            self._row_of = {run_id: i for i, run_id in enumerate(ids)}
        return self._row_of

    def change(self, run_id: str, signature: Signature, summary: dict[str, Any],
               raw: bytes | None = None) -> None:
        self.changed[run_id] = (signature, summary, raw)
        self.gone.discard(run_id)
        self._changed_table = None

    def remove(self, run_id: str) -> None:
        if self.changed.pop(run_id, None) is not None:
            self._changed_table = None
        if run_id in self.row_of():
            self.gone.add(run_id)

    def changed_table(self) -> search_index.Table:
        search_index = _search_index()
        if self._changed_table is None:
            entries = [(run_id, summary, sig, raw) for run_id, (sig, summary, raw)
                       in self.changed.items()]
            self._changed_table = search_index.Table.of_bytes(search_index.build(entries, None))
        return self._changed_table

    def parts(self, experiment_id: str, runs_uri: str, deleted: dict[str, bool],
              view: ViewType) -> list[search_index.Part]:
        """The rows a search looks at: the table's that are still current, and the changed
        runs', each admitted by ``view``."""
        import numpy as np

        search_index = _search_index()
        out = []
        for table, hidden in ((self.table, set(self.changed) | self.gone),
                              (self.changed_table() if self.changed else None, set())):
            if table is None or not table.n:
                continue
            keep = np.ones(table.n, dtype=bool)
            if hidden:
                row_of = self.row_of()
                keep[[row_of[r] for r in hidden if r in row_of]] = False
            is_deleted = np.zeros(table.n, dtype=bool)
            if any(deleted.values()):
                is_deleted = np.fromiter((deleted.get(r, False) for r in table.run_ids()),
                                         dtype=bool, count=table.n)
            if view is ViewType.ACTIVE_ONLY:
                keep &= ~is_deleted
            elif view is ViewType.DELETED_ONLY:
                keep &= is_deleted
            out.append(search_index.Part(table, keep, is_deleted, experiment_id, runs_uri))
        return out

    def entries(self) -> list[tuple[str, dict[str, Any], Signature, bytes | None]]:
        """Every current run as ``(run_id, summary, signature, JSON)``, to build a table."""
        out = []
        if self.table is not None and self.table.n:
            hidden = set(self.changed) | self.gone
            rows = [i for i, r in enumerate(self.table.run_ids()) if r not in hidden]
            sigs = self.table.signatures()
            ids = self.table.run_ids()
            out += [(ids[i], summary, sigs[i], None)
                    for i, summary in zip(rows, self.table.summaries(rows))]
        out += [(run_id, summary, sig, raw) for run_id, (sig, summary, raw)
                in self.changed.items()]
        return out


class _RunState:
    """What this process knows of a run it writes: its summary, the segments folded into it,
    and a lock."""

    __slots__ = ("known", "lock", "summary")

    def __init__(self, summary: dict[str, Any], known: set[str]) -> None:
        self.summary = summary
        self.known = known
        self.lock = threading.Lock()


class LayoutTrackingStore(TrackingStore):
    """Experiments and runs in the log-structured layout on a Storage."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.uri = storage.uri
        self._lock = threading.RLock()
        self._run_experiment: dict[str, str] = {}
        self._writers: dict[str, _RunState] = {}
        self._index: dict[str, _ExperimentIndex] = {}
        #: Small experiments' runs as their summary logs held them (searches without numpy).
        self._logged: dict[str, _LoggedExperiment] = {}
        # Lifecycle events are immutable: cache their content by path.
        self._events: dict[str, bool] = {}

    # -- experiments ------------------------------------------------------------------------

    def create_experiment(self, name: str, tags: Mapping[str, str] | None = None,
                          artifact_location: str | None = None) -> Experiment:
        check_name(name, "experiment name")
        tags = check_str_mapping(tags, "experiment tags", MAX_TAG_VALUE_LENGTH)
        experiment_id = new_id()
        exp = Experiment(
            experiment_id=experiment_id, name=name, creation_time=now_ms(), tags=tags,
            artifact_location=artifact_location
            or self.storage.uri_of(f"{_exp_dir(experiment_id)}/runs"),
        )
        record = {"experiment_id": experiment_id, "name": name, "tags": tags,
                  "creation_time": exp.creation_time,
                  "artifact_location": exp.artifact_location}
        self.storage.create(f"{_exp_dir(experiment_id)}/experiment.json", dumps(record))
        try:
            # The summary log starts with the experiment: a search may trust it for every run.
            self._log(experiment_id, dumps({"experiment": experiment_id}))
            self.storage.create(f"experiment-names/{path_name(name)}.json",
                                dumps({"experiment_id": experiment_id, "name": name}))
        except FileExistsError:
            self.storage.remove_tree(_exp_dir(experiment_id))
            raise AlreadyExists(f"experiment {name!r} already exists") from None
        except BaseException:
            self.storage.remove_tree(_exp_dir(experiment_id))
            raise
        return exp

    def get_experiment(self, experiment_id: str) -> Experiment:
        check_name(experiment_id, "experiment id")
        rel = f"{_exp_dir(experiment_id)}/experiment.json"
        record = self.storage.read_json(rel)
        if record is None:
            raise NotFound(f"no experiment with id {experiment_id!r} in {self.uri}")
        stage = self._lifecycle(f"{_exp_dir(experiment_id)}/lifecycle")
        try:
            if not _has(record, {"name": str, "creation_time": _INT}):
                raise InvalidInput("a name or creation time is missing")
            return Experiment(
                experiment_id=experiment_id, name=record["name"],
                tags=record.get("tags") or {}, creation_time=record["creation_time"],
                artifact_location=record.get("artifact_location", ""),
                lifecycle_stage=LifecycleStage.DELETED if stage else LifecycleStage.ACTIVE,
            )
        except DECODE_ERRORS as exc:   # InvalidInput is a ValueError
            raise StoreError(f"{self.storage.uri_of(rel)}: not an experiment record "
                             f"({exc})") from None

    def _claimed(self, rel: str, name: str | None) -> str | None:
        """The experiment id a name claim holds (of ``name``, when given); None if there is
        no claim, ``StoreError`` naming the file if it is not one."""
        claim = self.storage.read_json(rel)
        if claim is None:
            return None
        if not (_has(claim, {"experiment_id": str, "name": str})
                and _names(claim["experiment_id"], claim["name"])
                and (name is None or claim["name"] == name)):
            raise StoreError(f"{self.storage.uri_of(rel)}: not a claim of an experiment name")
        return claim["experiment_id"]

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        check_name(name, "experiment name")
        experiment_id = self._claimed(f"experiment-names/{path_name(name)}.json", name)
        return None if experiment_id is None else self.get_experiment(experiment_id)

    def list_experiments(self, view: ViewType = ViewType.ACTIVE_ONLY) -> list[Experiment]:
        out = []
        for entry in self.storage.listdir("experiment-names"):
            try:
                experiment_id = self._claimed(f"experiment-names/{entry}", None)
                if experiment_id is None:
                    continue
                exp = self.get_experiment(experiment_id)
            except StoreError as exc:
                skipped(exc)
                continue
            except NotFound:
                record = self.storage.uri_of(f"{_exp_dir(experiment_id)}/experiment.json")
                skipped(StoreError(f"{record}: missing or unreadable, though "
                                   f"experiment-names/{entry} claims it"))
                continue
            if ViewType(view).admits(exp.lifecycle_stage):
                out.append(exp)
        return sorted(out, key=lambda e: (e.creation_time, e.experiment_id))

    def set_experiment_lifecycle(self, experiment_id: str, deleted: bool) -> None:
        self.get_experiment(experiment_id)
        self.storage.create(f"{_exp_dir(experiment_id)}/lifecycle/{new_id()}.json",
                            dumps({"deleted": bool(deleted)}))

    def _lifecycle(self, rel: str, run_id: str | None = None) -> bool:
        """Whether the newest lifecycle event in ``rel`` (for ``run_id``) says deleted."""
        return self._deleted_runs(rel).get(run_id or "", False)

    def _deleted_runs(self, rel: str) -> dict[str, bool]:
        """Fold lifecycle events: run_id (or "" for the experiment) -> deleted."""
        state: dict[str, bool] = {}
        for name in self.storage.listdir(rel):
            path = f"{rel}/{name}"
            if path not in self._events:
                event = self.storage.read_json(path)
                if event is None:
                    continue
                if not (_has(event, {"deleted": bool})
                        and isinstance(event.get("run_id", ""), str)):
                    skipped(StoreError(f"{self.storage.uri_of(path)}: not a lifecycle event"))
                    continue
                self._events[path] = event
            event = self._events[path]
            state[event.get("run_id", "")] = event["deleted"]
        return state

    # -- runs -------------------------------------------------------------------------------

    def create_run(self, experiment_id: str, *, run_name: str, start_time: int,
                   tags: Mapping[str, str] | None = None, parent_run_id: str | None = None,
                   user: str = "") -> Run:
        check_name(run_name, "run name")
        tags = check_str_mapping(tags, "run tags", MAX_TAG_VALUE_LENGTH)
        if parent_run_id is not None:
            check_name(parent_run_id, "parent run id")
        exp = self.get_experiment(experiment_id)
        if exp.lifecycle_stage is LifecycleStage.DELETED:
            raise Conflict(f"experiment {exp.name!r} is deleted; restore it to add runs")
        run_id = new_id()
        rdir = _run_dir(experiment_id, run_id)
        record = {
            "run_id": run_id, "experiment_id": experiment_id, "run_name": run_name,
            "start_time": int(start_time), "user": user, "parent_run_id": parent_run_id,
            "artifact_uri": self.storage.uri_of(f"{rdir}/artifacts"), "tags": tags,
        }
        self.storage.create(f"{rdir}/run.json", dumps(record))
        summary = self._initial_summary(record)
        state = _RunState(summary, set())
        with self._lock:
            self._run_experiment[run_id] = experiment_id
            self._writers[run_id] = state
        # The run exists once run.json does; the summary is derived (a reader without it
        # starts from run.json) and the run's next write rewrites it. Failing here would
        # make the caller create the run a second time.
        with contextlib.suppress(StoreError):
            self._write_summary(state)
        return _run_from_summary(summary, deleted=False)

    @staticmethod
    def _initial_summary(record: dict[str, Any]) -> dict[str, Any]:
        summary = {k: v for k, v in record.items() if k != "tags"}
        summary.update(status=RunStatus.RUNNING.value, end_time=None, params={}, metrics={},
                       tags=dict(record["tags"]), last_segment=None)
        return summary

    def _experiment_of(self, run_id: str) -> str:
        check_name(run_id, "run id")
        exp = self._run_experiment.get(run_id)
        if exp is not None:
            return exp
        for exp in self.storage.listdir("experiments"):
            if self.storage.exists(f"{_run_dir(exp, run_id)}/run.json"):
                self._run_experiment[run_id] = exp
                return exp
        raise NotFound(f"no run with id {run_id!r} in {self.uri}")

    def _read_state(self, run_id: str) -> dict[str, Any]:
        """The run's current state from storage: its summary plus any newer segments."""
        return self._load_state(run_id)[0]

    def _load_state(self, run_id: str) -> tuple[dict[str, Any], set[str]]:
        """The run's state from storage, and the names of the segments it reflects."""
        exp = self._experiment_of(run_id)
        rdir = _run_dir(exp, run_id)
        summary = self.storage.read_json(f"{rdir}/summary.json")
        if summary is not None and not _is_summary(summary, run_id):
            skipped(StoreError(f"{self.storage.uri_of(f'{rdir}/summary.json')}: not a run "
                               "summary; rebuilt from the run's records"))
            summary = None
        if summary is None:
            rel = f"{rdir}/run.json"
            record = self.storage.read_json(rel)
            if record is None:
                raise NotFound(f"no run with id {run_id!r} in {self.uri}")
            if not _is_run(record, run_id):
                raise StoreError(f"{self.storage.uri_of(rel)}: not a run record")
            summary = self._initial_summary(record)
        last = summary["last_segment"]
        names = self.storage.listdir(f"{rdir}/log")
        for name in names:
            segment_id = name.removesuffix(".json")
            if last is None or segment_id > last:
                segment = self._segment(rdir, name)
                if segment is not None:
                    _fold(summary, segment, segment_id)
        return summary, set(names)

    def _segment(self, rdir: str, name: str) -> dict[str, Any] | None:
        """A log segment of a run; None (with a warning if it is damaged) if it cannot be
        folded."""
        rel = f"{rdir}/log/{name}"
        segment = self.storage.read_json(rel)
        if segment is not None and not _is_segment(segment):
            skipped(StoreError(f"{self.storage.uri_of(rel)}: not a log segment"))
            return None
        return segment

    def _stored_run(self, summary: dict[str, Any], run_id: str) -> Run:
        """The Run of a summary read back; ``StoreError`` naming it if its names are bad."""
        try:
            return _run_from_summary(summary,
                                     self._is_deleted(summary["experiment_id"], run_id))
        except InvalidInput as exc:
            raise StoreError(f"the summary of run {run_id!r} in {self.uri}: {exc}") from None

    def _writer(self, run_id: str) -> _RunState:
        state = self._writers.get(check_name(run_id, "run id"))
        if state is None:
            summary, known = self._load_state(run_id)
            with self._lock:
                state = self._writers.setdefault(run_id, _RunState(summary, known))
        return state

    def _catch_up(self, state: _RunState, rdir: str) -> None:
        """Fold segments another handle (or process) wrote since this one last looked."""
        for name in self.storage.listdir(f"{rdir}/log"):
            if name not in state.known:
                segment = self._segment(rdir, name)
                if segment is not None:
                    last = state.summary["last_segment"]
                    _fold(state.summary, segment, name.removesuffix(".json"))
                    if last is not None and last > state.summary["last_segment"]:
                        state.summary["last_segment"] = last
                state.known.add(name)

    def _is_deleted(self, experiment_id: str, run_id: str) -> bool:
        return self._lifecycle(f"{_exp_dir(experiment_id)}/run-lifecycle", run_id)

    def get_run(self, run_id: str) -> Run:
        # Always from storage: another handle or process may have written since.
        summary = self._read_state(run_id)
        return self._stored_run(summary, run_id)

    def _append(self, run_id: str, segment: dict[str, Any],
                check: Any = None) -> dict[str, Any]:
        """Write one segment and the summary folded from it; returns the new summary."""
        state = self._writer(run_id)
        with state.lock:
            rdir = _run_dir(state.summary["experiment_id"], run_id)
            self._catch_up(state, rdir)
            if check is not None:
                check(state.summary)
            segment_id = new_id()
            self.storage.create(f"{rdir}/log/{segment_id}.json", dumps(segment))
            crash_point("tracking.segment.written")
            state.known.add(f"{segment_id}.json")
            _fold(state.summary, segment, segment_id)
            # The segment is stored: readers fold it and the next write rewrites the summary.
            # Failing here would make the caller log the batch a second time.
            with contextlib.suppress(StoreError):
                self._write_summary(state)
            return state.summary

    def _write_summary(self, state: _RunState) -> None:
        s = state.summary
        rel = f"{_run_dir(s['experiment_id'], s['run_id'])}/summary.json"
        data = dumps(s)
        # The log first: a search that follows it then never misses a summary written.
        self._log(s["experiment_id"], data)
        self.storage.replace(rel, data)
        index = self._index.get(s["experiment_id"])
        if index is not None:
            # Keep this process's search index fresh without re-reading what it just wrote.
            with self._lock:
                index.change(s["run_id"], self.storage.signature(rel), _copy_summary(s))
        self._mark_changed(s["experiment_id"])

    def update_run(self, run_id: str, *, status: RunStatus | str | None = None,
                   end_time: int | None = None, run_name: str | None = None) -> Run:
        segment: dict[str, Any] = {}
        if status is not None:
            status = RunStatus.parse(status)
            segment["status"] = status.value
        if end_time is not None:
            segment["end_time"] = int(end_time)
        if run_name is not None:
            segment["run_name"] = check_name(run_name, "run name")
        summary = self._append(run_id, segment) if segment else self._read_state(run_id)
        run = self._stored_run(summary, run_id)
        if status is not None and status.is_terminal:
            # A run that ended is rarely written again (a later write reads its state back):
            # a process that creates runs for days keeps nothing per run it has finished.
            with self._lock:
                self._writers.pop(run_id, None)
                self._run_experiment.pop(run_id, None)
        return run

    def set_run_lifecycle(self, run_id: str, deleted: bool) -> None:
        exp = self._experiment_of(run_id)
        self.storage.create(f"{_exp_dir(exp)}/run-lifecycle/{new_id()}.json",
                            dumps({"run_id": run_id, "deleted": bool(deleted)}))

    def purge_run(self, run_id: str) -> None:
        exp = self._experiment_of(run_id)
        self.storage.remove_tree(_run_dir(exp, run_id))
        self._log(exp, dumps({"purged": run_id}))
        with self._lock:
            self._writers.pop(run_id, None)
            self._run_experiment.pop(run_id, None)
            index = self._index.get(exp)
            if index is not None:
                index.remove(run_id)
        self._mark_changed(exp)

    def log_batch(self, run_id: str, metrics: Sequence[MetricSeries] = (),
                  params: Mapping[str, str] | None = None,
                  tags: Mapping[str, str] | None = None) -> None:
        params = check_str_mapping(params, "params", 6000)
        tags = check_str_mapping(tags, "tags", MAX_TAG_VALUE_LENGTH)
        segment: dict[str, Any] = {}
        if metrics:
            columns: dict[str, list[list[Any]]] = {}
            for i, series in enumerate(metrics):
                if not isinstance(series, MetricSeries):
                    raise InvalidInput(f"expected MetricSeries, got {type(series).__name__}",
                                       field=f"metrics[{i}]")
                if not len(series):
                    continue
                cols = columns.setdefault(series.key, [[], [], []])
                cols[0] += series.steps.tolist()
                cols[1] += series.values.tolist()
                cols[2] += series.timestamps.tolist()
            if columns:
                segment["metrics"] = columns
        if params:
            segment["params"] = params
        if tags:
            segment["tags"] = tags
        if not segment:
            self._experiment_of(run_id)
            return

        def no_param_conflict(summary: dict[str, Any]) -> None:
            if self._is_deleted(summary["experiment_id"], run_id):
                raise Conflict(f"run {run_id} is deleted; restore it to log to it")
            known = summary["params"]
            for key, value in params.items():
                if key in known and known[key] != value:
                    raise ParamConflict(
                        f"param {key!r} of run {run_id} is {known[key]!r}; params are "
                        f"immutable, so logging {value!r} is refused")

        self._append(run_id, segment, check=no_param_conflict)

    def get_metric_history(self, run_id: str, key: str) -> MetricSeries:
        check_key(key, "metric key")
        exp = self._experiment_of(run_id)
        rdir = _run_dir(exp, run_id)
        steps: list[int] = []
        values: list[float] = []
        stamps: list[int] = []
        for name in self.storage.listdir(f"{rdir}/log"):
            segment = self._segment(rdir, name)
            cols = ((segment or {}).get("metrics") or {}).get(key)
            if cols:
                steps += cols[0]
                values += cols[1]
                stamps += cols[2]
        return MetricSeries(key, steps, values, stamps)

    # -- search -----------------------------------------------------------------------------

    def search_runs(self, experiment_ids: Sequence[str], filter: Filter | None = None,
                    order_by: Sequence[OrderBy] = (), max_results: int = 1000,
                    page_token: str | None = None,
                    view: ViewType = ViewType.ACTIVE_ONLY) -> Page:
        view = ViewType(view)
        order = tuple(order_by or ())
        offset = query.check_page(max_results, page_token, filter, order)
        for experiment_id in experiment_ids:
            self.get_experiment(experiment_id)
        if not _numpy_loaded():
            drafts = self._logged_drafts(experiment_ids, view)
            if drafts is not None:
                page, token = query.page_of(query.rank(drafts, filter, order), offset,
                                            max_results, filter, order)
                runs = (self._logged_run(draft) for draft in page)
                return Page(tuple(run for run in runs if run is not None), token)
        search_index = _search_index()
        for attempt in range(3):
            try:
                return self._search(experiment_ids, filter, order, offset, max_results, view)
            except search_index.DamagedIndex as exc:
                # A derived cache. Read again once: another process may have replaced it
                # between two reads of this one. Then dropped and rebuilt.
                for experiment_id in experiment_ids:
                    index = self._index.get(experiment_id)
                    if index is None or index.table is None or not index.table.damaged:
                        continue
                    if attempt:
                        skipped(StoreError(f"{self.storage.uri_of(_index_rel(experiment_id))}"
                                           f": not a search index ({exc}); rebuilt"))
                    with self._lock:
                        self._index[experiment_id] = _ExperimentIndex() if attempt else \
                            self._load_index(experiment_id)
        raise AssertionError("unreachable: a rebuilt index is whole")

    def _logged_drafts(self, experiment_ids: Sequence[str], view: ViewType
                       ) -> list[_Draft] | None:
        """Every run of small experiments that ``view`` admits, as drafts read from their
        summary logs alone; None when one is larger than ``_PLAIN_LOG_BYTES``, has no whole
        log, or the storage keeps none. A filter and an order work on drafts as on Runs;
        only the page's become Runs (checked, as the columnar search checks its page's).
        What the columnar search finds, without loading numpy for it (about 0.1 s on a
        process's first search). A log is parsed again only once it grew."""
        if not self.storage.appends:
            return None
        out = []
        for experiment_id in experiment_ids:
            logged = self._logged_experiment(experiment_id)
            if logged is None:
                return None
            deleted = self._deleted_runs(f"{_exp_dir(experiment_id)}/run-lifecycle")
            for run_id, record in logged.records:
                is_deleted = deleted.get(run_id, False)
                if (view is ViewType.ACTIVE_ONLY and is_deleted) or \
                        (view is ViewType.DELETED_ONLY and not is_deleted):
                    continue
                draft = logged.drafts.get((run_id, is_deleted))
                if draft is None:
                    draft = logged.drafts[run_id, is_deleted] = _Draft(record, is_deleted)
                out.append(draft)
        return out

    def _logged_run(self, draft: _Draft) -> Run | None:
        if draft.run is None:
            try:
                draft.run = _run_from_summary(draft.record, draft.deleted)
            except InvalidInput as exc:  # a summary whose names do not check out
                skipped(StoreError(f"the summary of run {draft.record['run_id']!r} in "
                                   f"{self.uri}: {exc}"))
        return draft.run

    def _logged_experiment(self, experiment_id: str) -> _LoggedExperiment | None:
        """The runs of an experiment's summary log, parsed at its current size; None when
        the log is missing, larger than ``_PLAIN_LOG_BYTES`` or begun after its experiment
        (the stored index knows more)."""
        rel = _log_rel(experiment_id)
        signature = self.storage.signature(rel)
        if signature is None or signature[2] > _PLAIN_LOG_BYTES:
            return None
        held = self._logged.get(experiment_id)
        if held is not None and held.signature == signature:
            return held
        try:
            data = self.storage.read_bytes(rel)
        except FileNotFoundError:
            return None
        lines = data[:data.rfind(b"\n") + 1].split(b"\n")[:-1]
        if not lines or summary_log.parse_line(lines[0]) != {"experiment": experiment_id}:
            return None
        runs_uri = self.storage.uri_of(f"{_exp_dir(experiment_id)}/runs")
        records = []
        for _, run_id, record in self._log_entries(rel, lines[1:]):
            if record is None:
                continue    # purged
            record.update(experiment_id=experiment_id, last_segment=None,
                          artifact_uri=f"{runs_uri}/{run_id}/artifacts")
            records.append((run_id, record))
        logged = _LoggedExperiment(signature, records)
        with self._lock:
            if len(self._logged) >= _LOGGED_KEPT:
                self._logged.pop(next(iter(self._logged)))
            self._logged[experiment_id] = logged
        return logged

    def _search(self, experiment_ids: Sequence[str], filter: Filter | None,
                order: tuple[OrderBy, ...], offset: int, max_results: int,
                view: ViewType) -> Page:
        """Filter and sort the experiments' columns; decode the summaries of the page only."""
        search_index = _search_index()
        parts: list[search_index.Part] = []
        for experiment_id in experiment_ids:
            parts += self._parts_of(experiment_id, view)
        picked = [search_index.select(part, filter) for part in parts]
        page, token = query.page_of(search_index.order(parts, picked, order), offset,
                                    max_results, filter, order)
        by_part: dict[int, list[int]] = {}
        for i, row in page:
            by_part.setdefault(i, []).append(row)
        summaries: dict[tuple[int, int], dict[str, Any]] = {}
        for i, rows in by_part.items():
            part = parts[i]
            run_ids = part.table.run_ids()
            for row, summary in zip(rows, part.table.summaries(rows)):
                if isinstance(summary, dict):
                    run_id = run_ids[row]
                    summary.update(run_id=run_id, experiment_id=part.experiment_id,
                                   last_segment=None,
                                   artifact_uri=f"{part.runs_uri}/{run_id}/artifacts")
                summaries[i, row] = summary
        runs = []
        for i, row in page:
            summary, part = summaries[i, row], parts[i]
            run_id = part.table.run_ids()[row]
            try:
                if not _is_summary(summary, run_id):
                    raise InvalidInput("a summary of the wrong shape in the search index")
                runs.append(_run_from_summary(summary, bool(part.deleted[row])))
            except InvalidInput as exc:  # a summary whose names do not check out
                skipped(StoreError(f"the summary of run {run_id!r} in {self.uri}: {exc}"))
        return Page(tuple(runs), token)

    def _parts_of(self, experiment_id: str, view: ViewType) -> list[search_index.Part]:
        """An experiment's runs as the search index holds them, brought up to date.

        An unchanged experiment (same change token) costs a small read and the columns the
        query names; a changed one is revalidated run by run with file signatures, re-reading
        only changed summaries.
        """
        token = self._change_token(experiment_id)
        deleted = self._deleted_runs(f"{_exp_dir(experiment_id)}/run-lifecycle")
        with self._lock:
            index = self._index.get(experiment_id)
            if index is None:
                index = self._index[experiment_id] = self._load_index(experiment_id)
            if self.storage.appends:
                index = self._follow_log(experiment_id, index, token)
            elif token is None or token != index.token:
                index = self._revalidate(experiment_id, index, token)
            runs_uri = self.storage.uri_of(f"{_exp_dir(experiment_id)}/runs")
            return index.parts(experiment_id, runs_uri, deleted, view)

    def _change_token(self, experiment_id: str) -> bytes | None:
        try:
            return self.storage.read_bytes(f"{_exp_dir(experiment_id)}/changed")
        except FileNotFoundError:
            return None

    def _mark_changed(self, experiment_id: str) -> None:
        # Written after the summary: a reader holding the old token re-scans; one that reads
        # the new token also sees the new summary.
        self.storage.replace(f"{_exp_dir(experiment_id)}/changed", dumps(new_id()))

    def _log(self, experiment_id: str, data: bytes) -> None:
        """Add a line to the experiment's summary log (where the storage appends)."""
        if self.storage.appends:
            with self.storage.locked(_log_rel(experiment_id)) as log:
                log.append(data + b"\n")

    def _follow_log(self, experiment_id: str, index: _ExperimentIndex,
                    token: bytes | None) -> _ExperimentIndex:
        """Bring an index up to date from the summary log: every summary written since it
        was made, in order (the newest of a run wins), and the runs purged.

        A log that does not start with its experiment (one made before the log was) is
        followed from its end after the summaries were read once.
        """
        rel = _log_rel(experiment_id)
        start = index.log or 0
        try:
            data = self.storage.read_range(rel, start)
        except FileNotFoundError:
            data = b""
        if start and not data:
            signature = self.storage.signature(rel)
            if signature is None or signature[2] < start:
                # The log is shorter than what the index read of it (removed, or cut short
                # and begun again): read every summary once, then follow the log again.
                size = 0 if signature is None else signature[2]
                return self._revalidate(experiment_id, index, token, log=size)
        end = data.rfind(b"\n") + 1  # a line being appended is read next time
        lines = data[:end].split(b"\n")[:-1]
        if index.log is None:
            first = summary_log.parse_line(lines[0]) if lines else None
            if first != {"experiment": experiment_id}:
                return self._revalidate(experiment_id, index, token, log=len(data))
            lines = lines[1:]
        for line, run_id, record in self._log_entries(rel, lines):
            if record is None:
                index.remove(run_id)
            else:
                index.change(run_id, None, record, line)
        index.log = start + end
        index.token = token
        return self._rewritten(experiment_id, index)

    def _log_entries(self, rel: str, lines: list[bytes]
                     ) -> Iterator[tuple[bytes, str, dict[str, Any] | None]]:
        """Of a stretch of the summary log at ``rel`` (header excluded), each run's newest
        line as ``(line, run_id, summary)``, in log order; the summary is None where the run
        was purged. A line that is neither is skipped with a warning."""
        lines = summary_log.newest_lines(lines)
        for line, record in zip(lines, summary_log.parse_lines(lines)):
            if isinstance(record, dict) and set(record) == {"purged"}:
                yield line, str(record["purged"]), None
                continue
            run_id = record.get("run_id") if isinstance(record, dict) else None
            if not (type(run_id) is str and _is_summary(record, run_id)
                    and summary_log.indexable(record)):
                skipped(StoreError(f"{self.storage.uri_of(rel)}: a line that is not a run "
                                   "summary"))
                continue
            yield line, run_id, record

    def _rewritten(self, experiment_id: str, index: _ExperimentIndex) -> _ExperimentIndex:
        """The index, or a new table of it stored when enough runs changed since its
        table was made."""
        search_index = _search_index()
        stale = len(index.changed) + len(index.gone)
        total = (index.table.n if index.table is not None else 0) + len(index.changed)
        if stale < max(_INDEX_REWRITE_THRESHOLD, _INDEX_REWRITE_SHARE * total):
            return index
        token = index.token.decode() if index.token is not None else None
        data = search_index.build(index.entries(), token, index.log)
        fresh = _ExperimentIndex(search_index.Table.of_bytes(data))
        fresh.token = index.token
        self._index[experiment_id] = fresh
        # A derived cache: last writer wins, and readers check its token or log offset, so
        # a stale or lost index only costs re-reading summaries. A read never fails for it:
        # a full disk or a read-only store only means the next cold search reads them again.
        with contextlib.suppress(StoreError):
            self.storage.replace(_index_rel(experiment_id), data)
        return fresh

    def _revalidate(self, experiment_id: str, index: _ExperimentIndex,
                    token: bytes | None, log: int | None = None) -> _ExperimentIndex:
        """Bring an index up to ``token``: re-read the summaries whose files changed; write
        a new stored index once enough did. Returns the index to use."""
        signatures = self.storage.signatures(f"{_exp_dir(experiment_id)}/runs", "summary.json")
        row_of = index.row_of()
        stored = index.table.signatures() if index.table is not None else []
        for run_id, sig in signatures.items():
            changed = index.changed.get(run_id)
            if changed is not None:
                if sig is not None and changed[0] == sig:
                    continue
            elif sig is not None and run_id in row_of and run_id not in index.gone \
                    and stored[row_of[run_id]] == sig:
                continue
            summary = self._read_summary(experiment_id, run_id)
            if summary is None:
                continue  # a run being created: no run.json yet
            if not summary_log.indexable(summary):
                skipped(StoreError(f"the summary of run {run_id!r} in {self.uri}: a time or "
                                   "a metric value beyond 64 bits"))
                continue
            index.change(run_id, sig, summary)
        for run_id in (set(row_of) | set(index.changed)) - set(signatures):
            index.remove(run_id)  # purged
        index.token = token
        index.log = log
        if token is None or not any(s is not None for s in signatures.values()):
            return index  # nothing to check a stored index against
        return self._rewritten(experiment_id, index)

    def _load_index(self, experiment_id: str) -> _ExperimentIndex:
        search_index = _search_index()
        rel = _index_rel(experiment_id)
        try:
            table = search_index.Table(
                lambda start, end: self.storage.read_range(rel, start, end),
                lambda ranges: self.storage.read_ranges(rel, ranges))
        except FileNotFoundError:
            return _ExperimentIndex()
        except search_index.DamagedIndex as exc:
            # A derived cache: dropped and rebuilt from the summaries.
            skipped(StoreError(f"{self.storage.uri_of(rel)}: not a search index ({exc}); "
                               "rebuilt"))
            return _ExperimentIndex()
        return _ExperimentIndex(table)

    def _read_summary(self, experiment_id: str, run_id: str) -> dict[str, Any] | None:
        rdir = _run_dir(experiment_id, run_id)
        summary = self.storage.read_json(f"{rdir}/summary.json")
        if summary is not None and _is_summary(summary, run_id):
            return summary
        try:
            self._run_experiment.setdefault(run_id, experiment_id)
            return self._read_state(run_id)
        except NotFound:
            return None
        except StoreError as exc:  # a damaged run: the search goes on without it
            skipped(exc)
            return None

    # -- artifacts --------------------------------------------------------------------------

    def _artifacts(self, run_id: str, path: str | None) -> str:
        rel = _artifact_rel(path)
        base = f"{_run_dir(self._experiment_of(run_id), run_id)}/artifacts"
        return f"{base}/{rel}" if rel else base

    def log_artifact(self, run_id: str, local_path: str, artifact_path: str) -> None:
        target = self._artifacts(run_id, artifact_path)
        try:
            self.storage.put_file(local_path, target)
        except FileNotFoundError:
            raise NotFound(f"no local file {local_path!r} to log as an artifact") from None

    def write_artifact(self, run_id: str, data: bytes, artifact_path: str) -> None:
        self.storage.replace(self._artifacts(run_id, artifact_path), data)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        rel = _artifact_rel(path)
        prefix = f"{rel}/" if rel else ""
        return [FileInfo(prefix + name, is_dir, size)
                for name, is_dir, size in self.storage.list_detail(self._artifacts(run_id, rel))]

    def download_artifact(self, run_id: str, path: str, dst_dir: str) -> str:
        import os

        rel = _artifact_rel(path)
        src = self._artifacts(run_id, rel)
        if not self.storage.exists(src):
            raise NotFound(f"run {run_id} has no artifact {path!r}")
        local = os.path.join(dst_dir, *rel.split("/")) if rel else dst_dir
        self.storage.get(src, local)
        return local


def _index_rel(experiment_id: str) -> str:
    return f"{_exp_dir(experiment_id)}/search-index"


def _log_rel(experiment_id: str) -> str:
    return f"{_exp_dir(experiment_id)}/summaries.log"


def _copy_summary(s: dict[str, Any]) -> dict[str, Any]:
    return {**s, "metrics": dict(s["metrics"]), "params": dict(s["params"]),
            "tags": dict(s["tags"])}


__all__ = ["LayoutTrackingStore", "Signature"]
