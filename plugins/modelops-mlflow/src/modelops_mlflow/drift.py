"""DriftStore on MLflow: drift over time as runs, so the MLflow UI charts it.

Each monitored model has an experiment, ``modelops-drift-<name>`` (tagged
``modelops.internal = drift`` and ``modelops.drift_for = <name>``). In it:

- each reference profile is a run named ``reference``, tagged ``modelops.kind = profile``
  and ``modelops.profile_id``, with the profile as the artifact ``profile.json``;
- each drift report is a run named ``drift``, tagged ``modelops.kind = report``,
  ``modelops.report_id``, ``modelops.profile_id`` and ``modelops.drifted``; its metrics are
  the dataset's ``drift.share``, ``drift.drifted`` (1 or 0), ``rows.current`` and, per
  column, ``<column>.statistic``, ``<column>.pvalue``, ``<column>.drifted`` and
  ``<column>.effect`` (characters MLflow refuses in a metric key become ``_``); its artifacts
  are ``report.json`` (the whole report, read back by modelops) and ``report.html``.

A run's start time is the report's (or profile's) creation time, so MLflow's charts over
runs are drift over time. A run is finished only after its last artifact is stored; modelops
reads only finished runs, so a save cut short is never read.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
import uuid
from typing import Any

from modelops._json import loads
from modelops.entities.drift import DatasetProfile, DriftReport
from modelops.entities.drift_codec import (
    profile_from_data,
    profile_to_data,
    report_from_dict,
    report_to_json,
)
from modelops.errors import NotFound, StoreError
from modelops.stores import DriftStore
from modelops.uri import hide_password
from modelops_mlflow.connection import (
    DECODE_ERRORS,
    Connection,
    error_code,
    mlflow_errors,
    skipped,
)
from modelops_mlflow.tracking import INTERNAL_TAG

#: Each kind of record: its artifact's path in its run, and its decoder.
_RECORDS = {"profile": ("profile.json", profile_from_data),
            "report": ("report.json", report_from_dict)}

KIND_TAG = "modelops.kind"
PROFILE_TAG = "modelops.profile_id"
REPORT_TAG = "modelops.report_id"
DRIFTED_TAG = "modelops.drifted"
DRIFT_FOR_TAG = "modelops.drift_for"
EXPERIMENT_PREFIX = "modelops-drift-"

_KEY_CHARS = re.compile(r"[^\w./\- :]")
_PAGE = 50_000


def metric_key(column: str, what: str) -> str:
    """The MLflow metric key for ``what`` of ``column`` (refused characters become ``_``)."""
    return _KEY_CHARS.sub("_", f"{column}.{what}")[:250]


def report_metrics(report: DriftReport) -> dict[str, float]:
    """The metrics a report's run carries: dataset figures, then each column's."""
    metrics = {"drift.share": float(report.share), "drift.drifted": float(report.drifted),
               "rows.current": float(report.n_current),
               "rows.reference": float(report.n_reference)}
    columns = list(report.columns) + [c for c in (report.target, report.prediction) if c]
    for c in columns:
        metrics[metric_key(c.column, "statistic")] = float(c.statistic)
        if c.pvalue is not None:
            metrics[metric_key(c.column, "pvalue")] = float(c.pvalue)
        metrics[metric_key(c.column, "drifted")] = float(c.drifted)
        if c.effect is not None:
            metrics[metric_key(c.column, "effect")] = float(c.effect)
    return metrics


class MlflowDriftStore(DriftStore):
    """Reference profiles and drift reports as runs of one experiment per model."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.uri = hide_password(connection.uri)   # for messages and hooks, never to connect
        self.client = connection.client()
        self._experiments: dict[str, str] = {}
        self._lock = threading.Lock()

    # -- experiments ------------------------------------------------------------------------

    def _experiment(self, name: str, create: bool) -> str | None:
        cached = self._experiments.get(name)
        if cached is not None:
            return cached
        title = f"{self.connection.experiment_prefix}{EXPERIMENT_PREFIX}{name}"
        with mlflow_errors(f"finding the drift experiment of {name!r} in {self.uri}"):
            exp = self.client.get_experiment_by_name(title)
            if exp is not None:
                experiment_id = exp.experiment_id
            elif not create:
                return None
            else:
                try:
                    experiment_id = self.client.create_experiment(
                        title, artifact_location=self.connection.artifact_location(
                            uuid.uuid4().hex),
                        tags={INTERNAL_TAG: "drift", DRIFT_FOR_TAG: name,
                              "mlflow.note.content": f"Drift of {name!r} over time: one run "
                              "per drift report, one per reference profile."})
                except Exception as exc:
                    if error_code(exc) != "RESOURCE_ALREADY_EXISTS":
                        raise
                    experiment_id = self.client.get_experiment_by_name(title).experiment_id
        self._experiments[name] = experiment_id
        return experiment_id

    def list_names(self) -> list[str]:
        """The monitored models that have a drift experiment (a profile or a report), sorted."""
        names = set()
        token = None
        with mlflow_errors(f"listing drift experiments in {self.uri}"):
            while True:
                page = self.client.search_experiments(
                    view_type=3, max_results=1000, page_token=token,
                    filter_string=f"tags.`{INTERNAL_TAG}` = 'drift'")
                names.update(e.tags[DRIFT_FOR_TAG] for e in page if DRIFT_FOR_TAG in e.tags)
                token = page.token
                if not token:
                    return sorted(names)

    # -- writing ----------------------------------------------------------------------------

    def _save(self, name: str, run_name: str, start_time: int, tags: dict[str, str],
              metrics: dict[str, float], artifacts: dict[str, bytes]) -> None:
        from mlflow.entities import Metric, RunStatus, RunTag

        experiment_id = self._experiment(name, create=True)
        store = self.client._tracking_client.store
        with mlflow_errors(f"storing drift of {name!r} in {self.uri}"):
            run = store.create_run(experiment_id=experiment_id, user_id="",
                                   start_time=int(start_time),
                                   tags=[RunTag(k, v) for k, v in tags.items()],
                                   run_name=run_name)
            run_id = run.info.run_id
            points = [Metric(k, v, int(start_time), 0) for k, v in metrics.items()]
            for i in range(0, len(points), 1000):
                store.log_batch(run_id, metrics=points[i:i + 1000], params=[], tags=[])
            with tempfile.TemporaryDirectory(prefix="modelops-mlflow-drift-") as tmp:
                for file_name, data in artifacts.items():
                    with open(os.path.join(tmp, file_name), "wb") as f:
                        f.write(data)
                self.client.log_artifacts(run_id, tmp)
            store.update_run_info(run_id, RunStatus.FINISHED, int(start_time), None)

    def save_profile(self, profile: DatasetProfile) -> DatasetProfile:
        data = json.dumps(profile_to_data(profile), separators=(",", ":"),
                          ensure_ascii=False).encode()
        self._save(profile.name, "reference", profile.created_time,
                   {KIND_TAG: "profile", PROFILE_TAG: profile.profile_id},
                   {"rows.reference": float(profile.rows)}, {"profile.json": data})
        return profile

    def save_report(self, report: DriftReport) -> DriftReport:
        artifacts = {"report.json": report_to_json(report, indent=None).encode(),
                     "report.html": report.to_html().encode()}
        self._save(report.name, "drift", report.created_time,
                   {KIND_TAG: "report", REPORT_TAG: report.report_id,
                    PROFILE_TAG: report.profile_id, DRIFTED_TAG: str(report.drifted).lower()},
                   report_metrics(report), artifacts)
        return report

    # -- reading ----------------------------------------------------------------------------

    def _runs(self, name: str, kind: str, extra: str = "",
              order: str = "attributes.start_time ASC") -> list[Any]:
        experiment_id = self._experiment(name, create=False)
        if experiment_id is None:
            return []
        query = f"tags.`{KIND_TAG}` = '{kind}' and attributes.status = 'FINISHED'{extra}"
        out: list[Any] = []
        token = None
        with mlflow_errors(f"reading drift of {name!r} in {self.uri}"):
            while True:
                page = self.client.search_runs([experiment_id], query, max_results=_PAGE,
                                               order_by=[order], page_token=token)
                out.extend(page)
                token = page.token
                if not token:
                    return out

    def _record(self, run: Any, name: str, what: str) -> Any:
        """The profile or report (``what``) of ``name`` kept as an artifact of ``run``;
        ``StoreError`` naming them when it does not decode as one. Anyone who can log to a
        run can replace its artifacts: what is read back is checked like a stored file."""
        path, decode = _RECORDS[what]
        where = f"{path} of run {run.info.run_id} in {self.uri}"
        with tempfile.TemporaryDirectory(prefix="modelops-mlflow-drift-") as tmp:
            with mlflow_errors(f"reading {where}"):
                local = self.client.download_artifacts(run.info.run_id, path, tmp)
            with open(local, "rb") as f:
                raw = f.read()
        try:
            found = decode(loads(raw))
            if found.name != name:
                raise ValueError(f"it is of {found.name!r}")
        except DECODE_ERRORS as exc:
            raise StoreError(f"{where}: not a drift {what} of {name!r} "
                             f"({type(exc).__name__}: {exc})") from None
        return found

    def _records(self, runs: list[Any], name: str, what: str) -> list[Any]:
        """The records of ``runs``, skipping (with a warning) those that do not decode."""
        out = []
        for run in runs:
            try:
                out.append(self._record(run, name, what))
            except StoreError as exc:
                skipped(exc)
        return out

    def get_profile(self, name: str, profile_id: str | None = None) -> DatasetProfile:
        if profile_id is None:
            runs = self._runs(name, "profile", order="attributes.start_time DESC")
            if not runs:
                raise NotFound(f"no reference profile for {name!r}; fit one with "
                               "ops.drift.fit_reference")
        else:
            runs = [r for r in self._runs(name, "profile")
                    if r.data.tags.get(PROFILE_TAG) == profile_id]
            if not runs:
                raise NotFound(f"no profile {profile_id!r} for {name!r}")
        newest = max(runs, key=lambda r: (r.info.start_time,
                                          r.data.tags.get(PROFILE_TAG, "")))
        return self._record(newest, name, "profile")

    def list_profiles(self, name: str) -> list[DatasetProfile]:
        runs = sorted(self._runs(name, "profile"),
                      key=lambda r: (r.info.start_time, r.data.tags.get(PROFILE_TAG, "")))
        return self._records(runs, name, "profile")

    def get_report(self, name: str, report_id: str) -> DriftReport:
        for run in self._runs(name, "report"):
            if run.data.tags.get(REPORT_TAG) == report_id:
                return self._record(run, name, "report")
        raise NotFound(f"no drift report {report_id!r} for {name!r}")

    def list_reports(self, name: str, since: int | None = None,
                     until: int | None = None) -> list[DriftReport]:
        extra = ""
        if since is not None:
            extra += f" and attributes.start_time >= {int(since)}"
        if until is not None:
            extra += f" and attributes.start_time < {int(until)}"
        runs = sorted(self._runs(name, "report", extra),
                      key=lambda r: (r.info.start_time, r.data.tags.get(REPORT_TAG, "")))
        return self._records(runs, name, "report")
