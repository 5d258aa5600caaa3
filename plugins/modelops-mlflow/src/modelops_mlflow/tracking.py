"""TrackingStore on MLflow: experiments, runs, metrics, params, tags and artifacts are
MLflow's own, so the MLflow UI and plain ``mlflow`` code see what modelops logs, and
modelops reads what they logged.

How modelops' model maps onto MLflow's:

- A run's ``run_name``, ``user`` and ``parent_run_id`` are MLflow's run name, ``user_id``
  and ``mlflow.parentRunId`` tag (so nested runs nest in the UI); the tags
  ``mlflow.runName``, ``mlflow.user`` and ``mlflow.parentRunId`` are therefore not listed
  among a run's tags.
- MLflow's SQL stores keep ±inf as ±1.7976931348623157e308 (the largest doubles) and -0.0
  as 0.0; modelops reads the largest doubles back as ±inf.
- MLflow returns a metric's history ordered by timestamp, then step (not in logging order),
  and keeps one copy of a point logged twice with the same step, timestamp and value.
- Experiments modelops keeps for itself (the registry's audit trail, drift reports) carry
  the tag ``modelops.internal`` and are not listed; nor is MLflow's ``Default`` experiment
  while it holds no run.
- ``purge_run`` needs direct access to the database (``mlflow+sqlite``…); a server offers no
  way to purge one run (``mlflow gc`` does it there).
"""

from __future__ import annotations

import contextlib
import inspect
import json
import math
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from modelops import query
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
    MAX_PARAM_VALUE_LENGTH,
    MAX_TAG_VALUE_LENGTH,
    check_key,
    check_name,
    check_str_mapping,
)
from modelops.errors import InvalidInput, NotFound, ParamConflict, StoreError
from modelops.stores import TrackingStore
from modelops.uri import hide_password
from modelops_mlflow import search as translate
from modelops_mlflow.connection import Connection, mlflow_errors

if TYPE_CHECKING:
    from modelops.query import Filter, OrderBy

#: Tags MLflow uses for what modelops holds as run attributes.
RUN_NAME_TAG = "mlflow.runName"
USER_TAG = "mlflow.user"
PARENT_TAG = "mlflow.parentRunId"
ATTRIBUTE_TAGS = frozenset({RUN_NAME_TAG, USER_TAG, PARENT_TAG})

#: The experiment tag marking experiments modelops keeps for itself; its value says why.
INTERNAL_TAG = "modelops.internal"

_DOUBLE_MAX = 1.7976931348623157e308
_BATCH_ENTITIES = 1000  # MLflow's limits per log_batch call
_BATCH_PARAMS_TAGS = 100
_SEARCH_PAGE = 50_000
_DEFAULT_EXPERIMENT_ID = "0"

_VIEWS = {ViewType.ACTIVE_ONLY: 1, ViewType.DELETED_ONLY: 2, ViewType.ALL: 3}


def metric_value(value: float) -> float:
    """A metric value as stored by MLflow, read back: the largest doubles mean ±inf."""
    if value == _DOUBLE_MAX:
        return math.inf
    if value == -_DOUBLE_MAX:
        return -math.inf
    return value


def check_id(value: Any, what: str) -> str:
    """An MLflow id: a valid name, and a number in canonical form if it is all digits
    (``0001`` would reach experiment 1 in a SQL store)."""
    text = check_name(value, what)
    if text.isdecimal() and text != str(int(text)):
        raise NotFound(f"no {what.split()[0]} with id {text!r}")
    return text


def to_experiment(exp: Any) -> Experiment:
    """An MLflow experiment as a modelops one."""
    stage = exp.lifecycle_stage
    return Experiment(experiment_id=exp.experiment_id, name=exp.name,
                      artifact_location=exp.artifact_location or "",
                      lifecycle_stage=LifecycleStage.DELETED if stage == "deleted"
                      else LifecycleStage.ACTIVE,
                      creation_time=int(exp.creation_time or 0), tags=dict(exp.tags or {}))


def to_run(run: Any) -> Run:
    """An MLflow run as a modelops one."""
    info, data = run.info, run.data
    tags = data.tags
    info_out = RunInfo(
        run_id=info.run_id, experiment_id=info.experiment_id,
        run_name=info.run_name or tags.get(RUN_NAME_TAG) or info.run_id,
        status=info.status, start_time=int(info.start_time or 0),
        end_time=None if info.end_time is None else int(info.end_time),
        lifecycle_stage=LifecycleStage.DELETED if info.lifecycle_stage == "deleted"
        else LifecycleStage.ACTIVE,
        artifact_uri=info.artifact_uri or "", user=info.user_id or "",
        parent_run_id=tags.get(PARENT_TAG) or None,
    )
    latest = {m.key: Metric(m.key, metric_value(m.value), int(m.timestamp), int(m.step))
              for m in data._metric_objs}
    return Run(info_out, RunData(latest=latest, params=dict(data.params),
                                 tags={k: v for k, v in tags.items()
                                       if k not in ATTRIBUTE_TAGS}))


class MlflowTrackingStore(TrackingStore):
    """Experiments and runs in MLflow, through ``mlflow.MlflowClient``."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.uri = hide_password(connection.uri)   # for messages and hooks, never to connect
        self.client = connection.client()
        self._known_experiments: set[str] = set()
        self._lock = threading.Lock()
        # A database compares strings by code point; a server's database may not.
        self._strings_by_code_point = connection.tracking_uri.startswith("sqlite:")
        self._offset_tokens = not connection.tracking_uri.startswith("databricks")

    @property
    def mlflow_store(self) -> Any:
        """MLflow's own tracking store behind the client (SQL or REST)."""
        return self.client._tracking_client.store

    # -- experiments ------------------------------------------------------------------------

    def create_experiment(self, name: str, tags: Mapping[str, str] | None = None,
                          artifact_location: str | None = None) -> Experiment:
        check_name(name, "experiment name")
        tags = check_str_mapping(tags, "experiment tags", MAX_TAG_VALUE_LENGTH)
        location = artifact_location or self.connection.artifact_location(uuid.uuid4().hex)
        with mlflow_errors(f"creating experiment {name!r} in {self.uri}"):
            experiment_id = self.client.create_experiment(name, artifact_location=location,
                                                          tags=tags or None)
        self._known_experiments.add(experiment_id)
        return self.get_experiment(experiment_id)

    def get_experiment(self, experiment_id: str) -> Experiment:
        experiment_id = check_id(experiment_id, "experiment id")
        with mlflow_errors(f"no experiment with id {experiment_id!r} in {self.uri}"):
            exp = self.client.get_experiment(experiment_id)
        if exp.experiment_id != experiment_id:
            raise NotFound(f"no experiment with id {experiment_id!r} in {self.uri}")
        self._known_experiments.add(experiment_id)
        return to_experiment(exp)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        check_name(name, "experiment name")
        with mlflow_errors(f"looking up experiment {name!r} in {self.uri}"):
            exp = self.client.get_experiment_by_name(name)
        return None if exp is None else to_experiment(exp)

    def list_experiments(self, view: ViewType = ViewType.ACTIVE_ONLY) -> list[Experiment]:
        out = []
        for exp in self._all_experiments(ViewType(view)):
            if INTERNAL_TAG in (exp.tags or {}):
                continue
            if exp.experiment_id == _DEFAULT_EXPERIMENT_ID and not self._has_runs(exp):
                continue
            try:
                out.append(to_experiment(exp))
            except InvalidInput:
                continue  # a name modelops cannot hold (a workspace path with '/')
        return out

    def _all_experiments(self, view: ViewType) -> list[Any]:
        found: list[Any] = []
        token = None
        with mlflow_errors(f"listing experiments in {self.uri}"):
            while True:
                page = self.client.search_experiments(
                    view_type=_VIEWS[view], max_results=_SEARCH_PAGE, page_token=token,
                    order_by=["creation_time ASC", "experiment_id ASC"])
                found.extend(page)
                token = page.token
                if not token:
                    return found

    def _has_runs(self, exp: Any) -> bool:
        with mlflow_errors(f"listing runs of experiment {exp.experiment_id}"):
            return bool(self.client.search_runs([exp.experiment_id], run_view_type=3,
                                                max_results=1))

    def set_experiment_lifecycle(self, experiment_id: str, deleted: bool) -> None:
        exp = self.get_experiment(experiment_id)
        if (exp.lifecycle_stage is LifecycleStage.DELETED) == bool(deleted):
            return
        with mlflow_errors(f"changing experiment {experiment_id} in {self.uri}"):
            if deleted:
                self.client.delete_experiment(experiment_id)
            else:
                self.client.restore_experiment(experiment_id)

    def _require_experiment(self, experiment_id: str) -> None:
        if experiment_id not in self._known_experiments:
            self.get_experiment(experiment_id)

    # -- runs -------------------------------------------------------------------------------

    def create_run(self, experiment_id: str, *, run_name: str, start_time: int,
                   tags: Mapping[str, str] | None = None, parent_run_id: str | None = None,
                   user: str = "") -> Run:
        from mlflow.entities import RunTag

        check_name(run_name, "run name")
        tags = check_str_mapping(tags, "run tags", MAX_TAG_VALUE_LENGTH)
        experiment_id = check_id(experiment_id, "experiment id")
        if parent_run_id is not None:
            check_name(parent_run_id, "parent run id")
        all_tags = dict(tags)
        all_tags[USER_TAG] = user or ""
        if parent_run_id is not None:
            all_tags[PARENT_TAG] = parent_run_id
        self._require_experiment(experiment_id)
        with mlflow_errors(f"creating a run in experiment {experiment_id} of {self.uri}"):
            run = self.mlflow_store.create_run(
                experiment_id=experiment_id, user_id=user or "", start_time=int(start_time),
                tags=[RunTag(k, v) for k, v in all_tags.items()], run_name=run_name)
        return to_run(run)

    def get_run(self, run_id: str) -> Run:
        run_id = check_id(run_id, "run id")
        with mlflow_errors(f"no run with id {run_id!r} in {self.uri}"):
            return to_run(self.mlflow_store.get_run(run_id))

    def update_run(self, run_id: str, *, status: RunStatus | str | None = None,
                   end_time: int | None = None, run_name: str | None = None) -> Run:
        from mlflow.entities import RunStatus as MlflowStatus

        run_id = check_id(run_id, "run id")
        new_status = RunStatus.parse(status) if status is not None else None
        if run_name is not None:
            check_name(run_name, "run name")
        if new_status is None and end_time is None and run_name is None:
            return self.get_run(run_id)
        if new_status is None:
            new_status = self.get_run(run_id).info.status
        with mlflow_errors(f"updating run {run_id} in {self.uri}"):
            if run_name is None:
                updated = self._update_and_read(run_id, new_status.value, end_time)
                if updated is not None:
                    return to_run(updated)
            self.mlflow_store.update_run_info(
                run_id, MlflowStatus.from_string(new_status.value),
                None if end_time is None else int(end_time), run_name)
        return self.get_run(run_id)

    def _update_and_read(self, run_id: str, status: str, end_time: int | None) -> Any:
        """On MLflow's SQL store: change the run and read it whole in one transaction, as
        MLflow's own ``update_run_info`` does before it returns the run's info alone (so
        the run comes back with no second read). None on any other store."""
        from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

        store = self.mlflow_store
        if not isinstance(store, SqlAlchemyStore):
            return None
        # Newer MLflow marks sessions that write; older has no such argument.
        writing = "read_only" in inspect.signature(store.ManagedSessionMaker).parameters
        with (store.ManagedSessionMaker(read_only=False) if writing
              else store.ManagedSessionMaker()) as session:
            run = store._get_run(run_uuid=run_id, session=session)
            store._check_run_is_active(run)
            run.status = status
            if end_time is not None:
                run.end_time = int(end_time)
            session.add(run)
            session.flush()
            return run.to_mlflow_entity()

    def set_run_lifecycle(self, run_id: str, deleted: bool) -> None:
        run = self.get_run(run_id)
        if (run.info.lifecycle_stage is LifecycleStage.DELETED) == bool(deleted):
            return
        with mlflow_errors(f"changing run {run_id} in {self.uri}"):
            if deleted:
                self.mlflow_store.delete_run(run.run_id)
            else:
                self.mlflow_store.restore_run(run.run_id)

    def purge_run(self, run_id: str) -> None:
        run = self.get_run(run_id)
        hard_delete = getattr(self.mlflow_store, "_hard_delete_run", None)
        if hard_delete is None:
            raise StoreError(f"{self.uri} is an MLflow server, whose API cannot purge one run; "
                             "delete the run and run `mlflow gc` on the server")
        self._delete_artifacts(run)
        with mlflow_errors(f"purging run {run_id} from {self.uri}"):
            hard_delete(run.run_id)

    def _delete_artifacts(self, run: Run) -> None:
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

        with contextlib.suppress(FileNotFoundError, NotImplementedError):
            get_artifact_repository(run.info.artifact_uri).delete_artifacts()

    def log_batch(self, run_id: str, metrics: Sequence[MetricSeries] = (),
                  params: Mapping[str, str] | None = None,
                  tags: Mapping[str, str] | None = None) -> None:
        from mlflow.entities import Metric as MlflowMetric
        from mlflow.entities import Param, RunTag

        run_id = check_id(run_id, "run id")
        params = check_str_mapping(params, "params", MAX_PARAM_VALUE_LENGTH)
        tags = check_str_mapping(tags, "tags", MAX_TAG_VALUE_LENGTH)
        points: list[Any] = []
        for i, series in enumerate(metrics):
            if not isinstance(series, MetricSeries):
                raise InvalidInput(f"expected MetricSeries, got {type(series).__name__}",
                                   field=f"metrics[{i}]")
            key = series.key
            if len(series) and int(series.timestamps.min()) < 0:
                # MLflow refuses them; say so before any part of the batch is written.
                raise InvalidInput("MLflow keeps timestamps from 0 (the epoch) on; got "
                                   f"{int(series.timestamps.min())}",
                                   field=f"metrics[{i}].timestamps")
            points.extend(MlflowMetric(key, v, t, s) for s, v, t in zip(
                series.steps.tolist(), series.values.tolist(), series.timestamps.tolist()))
        param_list = [Param(k, v) for k, v in params.items()]
        tag_list = [RunTag(k, v) for k, v in tags.items()]
        # MLflow takes at most 100 params or tags and 1,000 entities a call, and logs params
        # first: a conflicting param fails the call before any of its metrics or tags is
        # written. A batch too big for one call goes params first, then metrics, then tags.
        if len(param_list) <= _BATCH_PARAMS_TAGS and len(tag_list) <= _BATCH_PARAMS_TAGS \
                and len(points) + len(param_list) + len(tag_list) <= _BATCH_ENTITIES:
            calls = [(points, param_list, tag_list)]
        else:
            calls = [([], param_list[i:i + _BATCH_PARAMS_TAGS], [])
                     for i in range(0, len(param_list), _BATCH_PARAMS_TAGS)]
            calls += [(points[i:i + _BATCH_ENTITIES], [], [])
                      for i in range(0, len(points), _BATCH_ENTITIES)]
            calls += [([], [], tag_list[i:i + _BATCH_PARAMS_TAGS])
                      for i in range(0, len(tag_list), _BATCH_PARAMS_TAGS)]
        for batch_metrics, batch_params, batch_tags in calls:
            try:
                with mlflow_errors(f"logging to run {run_id} in {self.uri}"):
                    self.mlflow_store.log_batch(run_id, metrics=batch_metrics,
                                                params=batch_params, tags=batch_tags)
            except InvalidInput as exc:
                if "Changing param values is not allowed" in str(exc):
                    raise ParamConflict(f"a param of run {run_id} was logged before with "
                                        f"another value; params are immutable ({exc})") from exc
                raise

    def get_metric_history(self, run_id: str, key: str) -> MetricSeries:
        run_id = check_id(run_id, "run id")
        check_key(key, "metric key")
        with mlflow_errors(f"reading metric {key!r} of run {run_id} in {self.uri}"):
            history = self.mlflow_store.get_metric_history(run_id, key)
            if not history:
                self.mlflow_store.get_run(run_id)  # MLflow answers [] for a purged run too
        return MetricSeries(key, [m.step for m in history],
                            [metric_value(m.value) for m in history],
                            [m.timestamp for m in history])

    # -- search -----------------------------------------------------------------------------

    def search_runs(self, experiment_ids: Sequence[str], filter: Filter | None = None,
                    order_by: Sequence[OrderBy] = (), max_results: int = 1000,
                    page_token: str | None = None,
                    view: ViewType = ViewType.ACTIVE_ONLY) -> Page:
        view = ViewType(view)
        if isinstance(max_results, bool) or not isinstance(max_results, int) \
                or not 1 <= max_results <= query.MAX_RESULTS:
            raise InvalidInput(f"expected an integer from 1 to {query.MAX_RESULTS}, got "
                               f"{max_results!r}", field="max_results")
        ids = [check_id(e, "experiment id") for e in experiment_ids]
        for experiment_id in ids:
            self._require_experiment(experiment_id)
        order = tuple(order_by or ())
        fingerprint = query.query_fingerprint(filter, order)
        offset = query.decode_page_token(page_token, fingerprint) if page_token else 0
        if not ids:
            return Page((), None)
        plan = translate.translate(filter, order, self._strings_by_code_point)
        if plan.exact and self._offset_tokens:
            runs = self._search(ids, plan.filter_string, plan.order_by or (), view, offset,
                                max_results + 1)
            more = len(runs) > max_results
            token = query.encode_page_token(offset + max_results, fingerprint) if more else None
            return Page(tuple(to_run(r) for r in runs[:max_results]), token)
        candidates = [to_run(r) for r in self._search_all(ids, plan.filter_string, view)]
        return query.search(candidates, filter, order, max_results, page_token)

    def _search(self, ids: list[str], filter_string: str, order_by: Sequence[str],
                view: ViewType, offset: int, count: int) -> list[Any]:
        """``count`` runs from ``offset`` of MLflow's answer (several calls past 50,000)."""
        from mlflow.utils.search_utils import SearchUtils

        out: list[Any] = []
        while count > 0:
            size = min(count, _SEARCH_PAGE)
            token = SearchUtils.create_page_token(offset).decode() if offset else None
            with mlflow_errors(f"searching runs in {self.uri}"):
                page = self.mlflow_store.search_runs(ids, filter_string, _VIEWS[view], size,
                                                     list(order_by), token)
            out.extend(page)
            if len(page) < size:
                break
            offset += size
            count -= size
        return out

    def _search_all(self, ids: list[str], filter_string: str, view: ViewType) -> list[Any]:
        out: list[Any] = []
        token = None
        while True:
            with mlflow_errors(f"searching runs in {self.uri}"):
                page = self.mlflow_store.search_runs(ids, filter_string, _VIEWS[view],
                                                     _SEARCH_PAGE, [], token)
            out.extend(page)
            token = page.token
            if not token:
                return out

    # -- artifacts --------------------------------------------------------------------------

    @staticmethod
    def _artifact_path(path: str | None) -> str:
        if path in (None, "", "."):
            return ""
        return check_key(path.strip("/") if path != "/" else "", "artifact path")

    def log_artifact(self, run_id: str, local_path: str, artifact_path: str) -> None:
        rel = self._artifact_path(artifact_path)
        if not rel:
            raise InvalidInput("expected a file path under the run", field="artifact path")
        if not os.path.isfile(local_path):
            raise NotFound(f"no local file {local_path!r} to log as an artifact")
        self._upload(run_id, rel, lambda target: shutil.copyfile(local_path, target))

    def write_artifact(self, run_id: str, data: bytes, artifact_path: str) -> None:
        rel = self._artifact_path(artifact_path)
        if not rel:
            raise InvalidInput("expected a file path under the run", field="artifact path")

        def write(target: str) -> None:
            with open(target, "wb") as f:
                f.write(data)

        self._upload(run_id, rel, write)

    def _upload(self, run_id: str, rel: str, make: Any) -> None:
        # MLflow names an artifact after its local file and takes the directory apart.
        run_id = check_id(run_id, "run id")
        directory, _, name = rel.rpartition("/")
        with tempfile.TemporaryDirectory(prefix="modelops-mlflow-") as tmp:
            target = os.path.join(tmp, name)
            make(target)
            with mlflow_errors(f"logging artifact {rel!r} to run {run_id} in {self.uri}"):
                self.client.log_artifact(run_id, target, directory or None)

    def mirror_dataset(self, run_id: str, dataset: Any) -> None:
        """The dataset as an MLflow run input too (what ``mlflow.log_input`` records), so
        MLflow's UI and ``run.inputs`` show it: its name, the first 32 hex digits of its
        digest (MLflow keeps 36 characters), its source, its rows as MLflow's profile and
        its context as the ``mlflow.data.context`` tag."""
        from mlflow.entities import Dataset as MlflowDataset
        from mlflow.entities import DatasetInput, InputTag

        run_id = check_id(run_id, "run id")
        mirrored = MlflowDataset(
            name=dataset.name, digest=dataset.digest[:32], source_type="modelops",
            source=json.dumps({"uri": dataset.source}),
            profile=json.dumps({"num_rows": dataset.rows}))
        with mlflow_errors(f"logging dataset {dataset.name!r} to run {run_id} in {self.uri}"):
            self.client.log_inputs(run_id, [DatasetInput(
                mirrored, [InputTag("mlflow.data.context", dataset.context)])])

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        run_id = check_id(run_id, "run id")
        rel = self._artifact_path(path)
        with mlflow_errors(f"listing artifacts of run {run_id} in {self.uri}"):
            found = self.client.list_artifacts(run_id, rel or None)
        out = [FileInfo(f.path, bool(f.is_dir), None if f.is_dir else f.file_size)
               for f in found]
        return sorted(out, key=lambda f: f.path)

    def download_artifact(self, run_id: str, path: str, dst_dir: str) -> str:
        run_id = check_id(run_id, "run id")
        rel = self._artifact_path(path)
        if rel and not self._artifact_exists(run_id, rel):
            raise NotFound(f"run {run_id} has no artifact {path!r}")
        os.makedirs(dst_dir, exist_ok=True)
        with mlflow_errors(f"downloading artifact {rel!r} of run {run_id} in {self.uri}"):
            local = self.client.download_artifacts(run_id, rel, dst_dir)
        return local

    def _artifact_exists(self, run_id: str, rel: str) -> bool:
        parent, _, name = rel.rpartition("/")
        return any(f.path == rel for f in self.list_artifacts(run_id, parent or None)) \
            or bool(name and self.list_artifacts(run_id, rel))


__all__ = ["MlflowTrackingStore", "to_experiment", "to_run"]
