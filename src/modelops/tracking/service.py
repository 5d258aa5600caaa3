"""The tracking service (``ops.tracking``): experiments, runs, search, compare, clean-up."""

from __future__ import annotations

import contextlib
import contextvars
import functools
import getpass
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from modelops import query
from modelops._ids import now_ms
from modelops.entities import Experiment, FileInfo, MetricSeries, Run, RunStatus, ViewType
from modelops.entities.validators import (
    MAX_NAME_LENGTH,
    MAX_TAG_VALUE_LENGTH,
    check_bool,
    check_name,
    check_sequence,
    check_str_mapping,
    check_text,
    check_value,
)
from modelops.errors import AlreadyExists, Conflict, InvalidInput, NotFound
from modelops.stores import TrackingStore
from modelops.tracking.names import random_run_name
from modelops.tracking.results import RunComparison, RunList, check_output
from modelops.tracking.run import DEFAULT_MAX_BUFFERED, ActiveRun

if TYPE_CHECKING:
    from modelops.entities.datasets import Dataset
    from modelops.entities.drift import DatasetProfile

DEFAULT_EXPERIMENT = "Default"


# Who an action is recorded as, when not the user running the process (a web UI acting for
# the user of each request): a context variable, so threads and tasks do not mix it up.
_acting_user: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "modelops_acting_user", default=None)


@contextlib.contextmanager
def acting_as(user: str) -> Iterator[None]:
    """Record ``user`` instead of the operating-system user as who did what is done inside
    the block in this thread or task: the actor of registry events, the creator of versions
    and the user of runs. For a service acting for its users, such as ``modelops ui``."""
    token = _acting_user.set(check_value(check_text(user, "user"), "user", MAX_NAME_LENGTH))
    try:
        yield
    finally:
        _acting_user.reset(token)


def _user() -> str:
    acting = _acting_user.get()
    return _os_user() if acting is None else acting


@functools.lru_cache(maxsize=1)
def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return ""


def _view(view: ViewType | str) -> ViewType:
    try:
        return ViewType(view)
    except ValueError:
        choices = ", ".join(v.value for v in ViewType)
        raise InvalidInput(f"expected one of {choices}, got {view!r}", field="view") from None


class Tracking:
    """Experiment tracking on one TrackingStore: ``ops.tracking``."""

    def __init__(self, store: TrackingStore, client: Any = None) -> None:
        self.store = store
        self.client = client
        self._experiment_ids: dict[str, str] = {}

    # -- experiments ------------------------------------------------------------------------

    def create_experiment(self, name: str, tags: Mapping[str, Any] | None = None) -> Experiment:
        """Create an experiment; ``AlreadyExists`` if the name is taken."""
        exp = self.store.create_experiment(name, tags=tags)
        self._experiment_ids[name] = exp.experiment_id
        return exp

    def get_experiment(self, name_or_id: str) -> Experiment:
        """An experiment by name, else by id; ``NotFound`` if neither matches."""
        check_name(name_or_id, "experiment")
        exp = self.store.get_experiment_by_name(name_or_id)
        if exp is not None:
            return exp
        try:
            return self.store.get_experiment(name_or_id)
        except NotFound:
            raise NotFound(f"no experiment named or with id {name_or_id!r}") from None

    def get_or_create_experiment(self, name: str) -> Experiment:
        """The experiment with this name, created if absent (safe under races)."""
        exp = self.store.get_experiment_by_name(name)
        if exp is None:
            try:
                exp = self.store.create_experiment(name)
            except AlreadyExists:  # another process created it in between
                exp = self.store.get_experiment_by_name(name)
                assert exp is not None
        self._experiment_ids[name] = exp.experiment_id
        return exp

    def list_experiments(self, view: ViewType | str = ViewType.ACTIVE_ONLY) -> list[Experiment]:
        return self.store.list_experiments(_view(view))

    def delete_experiment(self, name_or_id: str) -> None:
        """Soft-delete an experiment (its runs stay; ``restore_experiment`` undoes it)."""
        exp = self.get_experiment(name_or_id)
        self.store.set_experiment_lifecycle(exp.experiment_id, deleted=True)
        self._experiment_ids.pop(exp.name, None)

    def restore_experiment(self, name_or_id: str) -> None:
        exp = self.get_experiment(name_or_id)
        self.store.set_experiment_lifecycle(exp.experiment_id, deleted=False)

    def _experiment_id(self, experiment: str | Experiment) -> str:
        if isinstance(experiment, Experiment):
            return experiment.experiment_id
        cached = self._experiment_ids.get(check_name(experiment, "experiment"))
        return cached if cached is not None else self.get_experiment(experiment).experiment_id

    # -- runs -------------------------------------------------------------------------------

    def start_run(self, experiment: str | Experiment | None = None, name: str | None = None,
                  tags: Mapping[str, Any] | None = None,
                  parent: ActiveRun | Run | str | None = None, run_id: str | None = None,
                  max_buffered: int = DEFAULT_MAX_BUFFERED,
                  log_system_metrics: bool | None = None) -> ActiveRun:
        """Start a run (or resume one by ``run_id``); use it as a context manager.

        The experiment (default ``"Default"``) is created on first use. On leaving the
        ``with`` block the run ends FINISHED, FAILED on an exception (which is re-raised), or
        KILLED on KeyboardInterrupt. A new run is tagged with its environment (Python,
        platform, git commit and dirty state: ``modelops.environment``); ``tags`` given here
        win over those.

        ``log_system_metrics=True`` samples CPU, memory, disk, network and GPU use into the
        run's ``system/…`` metrics from a background thread until it ends; None (the
        default) follows ``modelops.enable_system_metrics_logging()``, off unless called
        (``modelops.tracking.system_metrics``).
        """
        from modelops.tracking import system_metrics

        interval = system_metrics.wanted(log_system_metrics)  # before anything is written
        parent_active = parent if isinstance(parent, ActiveRun) else None
        if run_id is not None:
            return self._monitored(self._resume(run_id, parent_active, max_buffered), interval)
        # Everything is checked before the experiment may be created: a bad run name must
        # not leave a new experiment behind.
        unnamed = name is None or (isinstance(name, str) and not name)
        run_name = check_name(random_run_name() if unnamed else name, "run name")
        tags = check_str_mapping(tags, "run tags", MAX_TAG_VALUE_LENGTH)
        parent_id = parent.run_id if isinstance(parent, (ActiveRun, Run)) else parent
        if parent_id is not None and parent_active is None:
            self.store.get_run(parent_id)  # NotFound for an unknown parent, before writing
        if isinstance(experiment, Experiment):
            experiment_id = experiment.experiment_id
        else:
            exp_name = check_name(DEFAULT_EXPERIMENT if experiment is None else experiment,
                                  "experiment")
            experiment_id = self._experiment_ids.get(exp_name) \
                or self.get_or_create_experiment(exp_name).experiment_id
        from modelops.environment import run_tags

        run = self.store.create_run(
            experiment_id, run_name=run_name, start_time=now_ms(),
            tags={**run_tags(), **tags}, parent_run_id=parent_id, user=_user(),
        )
        return self._monitored(ActiveRun(self.store, run, client=self.client,
                                         parent=parent_active, max_buffered=max_buffered),
                               interval)

    @staticmethod
    def _monitored(run: ActiveRun, interval: float | None) -> ActiveRun:
        if interval is not None:
            from modelops.tracking.system_metrics import SystemMetricsMonitor

            run._monitor = SystemMetricsMonitor(run, interval).start()
        return run

    def _resume(self, run_id: str, parent: ActiveRun | None, max_buffered: int) -> ActiveRun:
        run = self.store.get_run(run_id)
        if run.info.lifecycle_stage.value == "deleted":
            raise Conflict(f"run {run_id} is deleted; restore it before resuming")
        run = self.store.update_run(run_id, status=RunStatus.RUNNING)
        return ActiveRun(self.store, run, client=self.client, parent=parent,
                         max_buffered=max_buffered)

    def get_run(self, run_id: str) -> Run:
        """A run with its latest metrics, params, tags and status."""
        return self.store.get_run(run_id)

    def set_terminated(self, run_id: str, status: RunStatus | str = RunStatus.FINISHED) -> Run:
        """Mark a run (started elsewhere, perhaps crashed) as ended."""
        return self.store.update_run(run_id, status=RunStatus.parse(status), end_time=now_ms())

    def delete_run(self, run_id: str) -> None:
        """Soft-delete a run: hidden from searches until ``restore_run``."""
        self.store.set_run_lifecycle(run_id, deleted=True)

    def restore_run(self, run_id: str) -> None:
        self.store.set_run_lifecycle(run_id, deleted=False)

    def get_metric_history(self, run_id: str, key: str) -> MetricSeries:
        """Every point of a metric as numpy arrays: ``.steps``, ``.values``, ``.timestamps``."""
        return self.store.get_metric_history(run_id, key)

    # -- search, compare, clean up ----------------------------------------------------------

    def search_runs(self, experiments: str | Experiment | Sequence[str | Experiment] | None = None,
                    filter: str | None = None, order_by: Sequence[str] | None = None,
                    max_results: int = 1000, page_token: str | None = None,
                    view: ViewType | str = ViewType.ACTIVE_ONLY,
                    output: str = "runs") -> Any:
        """Runs matching an MLflow-style filter, e.g.
        ``"metrics.f1 > 0.9 and params.model = 'rf'"``, ordered by ``order_by``
        (``["metrics.f1 DESC"]``). ``experiments`` are names or ids (default: all active).
        ``RunList.token`` fetches the next page.

        ``output="pandas"`` returns the page as a pandas DataFrame instead (as
        ``RunList.to_pandas``: one row per run, ``params.*``, ``metrics.*``, ``tags.*``
        columns; the next page's token in ``frame.attrs["token"]``)."""
        check_output(output)
        if experiments is None:
            ids = [e.experiment_id for e in self.store.list_experiments()]
        else:
            if isinstance(experiments, (str, Experiment)):
                experiments = [experiments]
            elif not isinstance(experiments, (list, tuple)):
                raise InvalidInput(f"expected an experiment's name, an Experiment or a list "
                                   f"of them, got {type(experiments).__name__}",
                                   field="experiments")
            ids = [self._experiment_id(e) for e in experiments]
        parsed, order = query.parse_filter(filter), query.parse_order_by(order_by)
        query.check_page(max_results, page_token, parsed, order)  # before anything is read
        page = self.store.search_runs(ids, parsed, order, max_results=max_results,
                                      page_token=page_token, view=_view(view))
        runs = RunList(page.items, page.token)
        return runs if output == "runs" else runs.to_pandas()

    def compare(self, runs: Sequence[Run | ActiveRun | str]) -> RunComparison:
        """Runs side by side: params that differ, and every metric."""
        runs = check_sequence(runs, "runs")
        loaded = [r if isinstance(r, Run) else self.get_run(r.run_id if isinstance(r, ActiveRun)
                                                           else r) for r in runs]
        return RunComparison.of(loaded)

    def cleanup(self, experiment: str | Experiment, older_than: str | float = 30,
                statuses: Sequence[RunStatus | str] = (RunStatus.FINISHED, RunStatus.FAILED,
                                                       RunStatus.KILLED),
                permanently: bool = False, dry_run: bool = False) -> list[str]:
        """Delete runs that ended more than ``older_than`` ago (days, or ``"12h"``/``"7d"``).

        Only runs in ``statuses`` are touched (running runs never are). Soft-deletes unless
        ``permanently``, which removes the runs' data for good. Returns the run ids.
        """
        from modelops._time import parse_duration

        check_bool(permanently, "permanently")
        check_bool(dry_run, "dry_run")
        cutoff = now_ms() - parse_duration(older_than, "older_than", number_unit="d",
                                           allow_zero=True)
        wanted = {RunStatus.parse(s) for s in check_sequence(statuses, "statuses")} \
            - {RunStatus.RUNNING}
        view = ViewType.ALL if permanently else ViewType.ACTIVE_ONLY
        ids = [self._experiment_id(experiment)]
        chosen, token = [], None
        while True:
            page = self.store.search_runs(ids, max_results=50_000, page_token=token, view=view)
            chosen += [r.info.run_id for r in page.items if r.info.status in wanted
                       and (r.info.end_time or r.info.start_time) < cutoff]
            token = page.token
            if token is None:
                break
        if not dry_run:
            for run_id in chosen:
                if permanently:
                    self.store.purge_run(run_id)
                else:
                    self.store.set_run_lifecycle(run_id, deleted=True)
        return chosen

    # -- artifacts --------------------------------------------------------------------------

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        """The artifacts directly under ``path`` (the run's artifact root by default)."""
        return self.store.list_artifacts(run_id, path)

    def download_artifacts(self, run_id: str, path: str = "", dst_path: str | None = None) -> str:
        """Copy an artifact file or directory to a local directory; returns its local path.

        Files already in ``dst_path`` are never touched: one in the way (with other content)
        is refused with ``InvalidInput`` before anything is written, and a failed download
        removes only what it wrote."""
        if dst_path is None:
            return self.store.download_artifact(
                run_id, path, tempfile.mkdtemp(prefix="modelops-artifacts-"))
        from modelops._placing import place_into

        local: list[str] = []

        def fill(staging: str) -> None:
            got = self.store.download_artifact(run_id, path, staging)
            local.append(os.path.relpath(got, staging))

        place_into(dst_path, fill, field="dst_path")
        return os.path.normpath(os.path.join(os.path.abspath(os.fspath(dst_path)), local[0]))

    def read_text(self, run_id: str, path: str) -> str:
        """An artifact's content as text."""
        with tempfile.TemporaryDirectory() as tmp:
            local = self.download_artifacts(run_id, path, tmp)
            if os.path.isdir(local):
                raise InvalidInput(f"{path!r} is a folder of artifacts, not a file",
                                   field="path")
            with open(local, "rb") as f:
                data = f.read()
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"artifact {path!r} is not UTF-8 text ({exc})",
                               field="path") from None

    # -- datasets ---------------------------------------------------------------------------

    def list_inputs(self, run_id: str) -> list[Dataset]:
        """The datasets run ``run_id`` logged with ``log_input``, in the order logged."""
        from modelops.tracking import datasets

        self.get_run(run_id)  # NotFound names the run
        return datasets.read_inputs(self.store, run_id)

    def get_input(self, run_id: str, name: str | None = None) -> Dataset:
        """One logged dataset: by run id and name, or by its URI
        (``runs:/<run_id>/datasets/<name>``, ``Dataset.uri``) alone."""
        from modelops.tracking import datasets

        if name is None:
            run_id, name = datasets.parse_uri(run_id)
        self.get_run(run_id)
        return datasets.read_record(self.store, run_id, name)

    def input_profile(self, run_id: str, name: str | None = None) -> DatasetProfile:
        """The drift profile logged with a dataset (what ``ops.drift.fit_reference(name,
        dataset=...)`` starts from); arguments as ``get_input``."""
        from modelops.tracking import datasets

        return datasets.read_profile(self.store, self.get_input(run_id, name))
