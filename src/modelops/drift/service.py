"""Drift detection (``ops.drift``): reference profiles, checks, stored reports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from modelops._ids import new_id, now_ms
from modelops._time import to_ms as _ms
from modelops.drift.detector import check_profile
from modelops.drift.methods import DEFAULT_CORRECTION, DEFAULT_DRIFT_SHARE, DEFAULT_MIN_ROWS
from modelops.drift.profile import profile_frame
from modelops.entities.drift import DatasetProfile, DriftReport
from modelops.entities.validators import check_bool, check_name
from modelops.errors import Conflict, InvalidInput
from modelops.stores import DriftStore


class Drift:
    """Drift detection on one DriftStore: ``ops.drift``."""

    def __init__(self, store: DriftStore, client: Any = None) -> None:
        self.store = store
        self._client = client

    def fit_reference(self, name: str, frame: Any = None, *,
                      categorical: Sequence[str] | None = None, target: str | None = None,
                      prediction: str | None = None, columns: Sequence[str] | None = None,
                      dataset: Any = None) -> DatasetProfile:
        """Profile a reference dataset for ``name`` (usually a model) and store it.

        Later checks compare against the newest reference. ``categorical`` forces columns to
        be categorical (strings are anyway); ``target`` and ``prediction`` name the columns
        whose drift is reported apart from the features'.

        ``dataset`` starts from a dataset a run logged instead of a frame: a ``Dataset``
        (``run.inputs``, ``version.lineage.datasets``) or its URI
        (``runs:/<run_id>/datasets/<name>``). Its profile, made when it was logged, becomes
        the reference as it is: ``columns`` may pick some of its columns and ``target`` and
        ``prediction`` name roles, but ``categorical`` was decided when it was logged.
        """
        check_name(name, "name")
        if dataset is not None:
            if frame is not None:
                raise InvalidInput("give a frame or a dataset, not both", field="dataset")
            if categorical is not None:
                raise InvalidInput("a logged dataset was profiled when it was logged: pass "
                                   "categorical= to log_input", field="categorical")
            logged = self._logged_profile(dataset)
            return self.save_reference(_narrowed(logged, name, columns, target, prediction))
        if frame is None:
            raise InvalidInput("expected a frame (or dataset=)", field="frame")
        profile = profile_frame(name, frame, categorical=categorical, target=target,
                                prediction=prediction, columns=columns)
        if profile.rows == 0:
            raise InvalidInput("the reference frame has no rows", field="frame")
        return self.save_reference(profile)

    def _logged_profile(self, dataset: Any) -> DatasetProfile:
        from modelops.entities.datasets import Dataset, parse_uri

        if isinstance(dataset, Dataset):
            if dataset.run_id is None:
                raise InvalidInput("this Dataset names no run", field="dataset")
            run_id, dataset_name = dataset.run_id, dataset.name
        else:
            run_id, dataset_name = parse_uri(dataset)
        if self._client is None:
            raise Conflict("fit_reference(dataset=) needs ops.drift from a Client with "
                           "tracking")
        return self._client.tracking.input_profile(run_id, dataset_name)

    def save_reference(self, profile: DatasetProfile) -> DatasetProfile:
        """Store a profile made elsewhere (e.g. merged from partitions) as the reference."""
        if not isinstance(profile, DatasetProfile):
            raise InvalidInput(f"expected a DatasetProfile, got {type(profile).__name__}",
                               field="profile")
        check_name(profile.name, "name")
        stamped = attrs.evolve(profile, profile_id=new_id(), created_time=now_ms())
        return self.store.save_profile(stamped)

    def reference(self, name: str, profile_id: str | None = None) -> DatasetProfile:
        """The newest reference profile of ``name`` (or the one with ``profile_id``)."""
        if profile_id is not None:
            check_name(profile_id, "profile_id")
        return self.store.get_profile(check_name(name, "name"), profile_id)

    def check(self, name: str, frame: Any, *, method: str | Mapping[str, str] = "auto",
              threshold: float | None = None, correction: str | None = DEFAULT_CORRECTION,
              min_effect: float | Mapping[str, float] | None = None,
              drift_share: float = DEFAULT_DRIFT_SHARE, min_rows: int = DEFAULT_MIN_ROWS,
              histogram: str = "auto", save: bool = True,
              multivariate: bool | str | Sequence[str] = False, segment_by: Any = None,
              min_segment: int = 100,
              segment_correction: str | None = "bonferroni") -> Any:
        """Check a frame against the reference of ``name``; returns a DriftReport.

        See ``modelops.drift.detector`` for how columns and the dataset are judged: by
        default p-values are adjusted over the columns by Benjamini-Hochberg
        (``correction``), a column needs 100 non-missing values to be judged (``min_rows``)
        and the dataset drifts when half the judged features do (``drift_share``) — the
        defaults of the health rules too. ``histogram`` cuts the report's numeric histograms
        (``"auto"``: whole-number bins for whole numbers, log-spaced ones for a positive,
        right-skewed column; ``"linear"``; ``"log"``). ``multivariate`` also judges the
        columns together (True: ``reconstruction`` and ``domain_classifier``, or the names of
        the methods to run; see ``modelops.drift.multivariate``), into
        ``report.multivariate``. The report is stored (``save=False`` skips that) and, when
        the dataset drifted (or a multivariate method found drift), the
        ``modelops_drift_detected`` hook fires.

        ``segment_by`` (a column, or a function of the frame's columns giving one value per
        row) checks each segment against the same segment of the reference instead, and
        returns a ``SegmentedDriftReport``, worst segments first, not stored; see
        ``modelops.drift.segments`` for ``min_segment`` and ``segment_correction``.
        """
        check_bool(save, "save")
        profile = self.reference(name)
        if segment_by is not None:
            from modelops.drift.segments import check_segments

            return check_segments(profile, frame, segment_by, min_segment=min_segment,
                                  segment_correction=segment_correction, threshold=threshold,
                                  method=method, correction=correction,
                                  min_effect=min_effect, drift_share=drift_share,
                                  multivariate=multivariate)
        report = check_profile(profile, frame, method=method, threshold=threshold,
                               correction=correction, min_effect=min_effect,
                               drift_share=drift_share, min_rows=min_rows,
                               histogram=histogram, multivariate=multivariate)
        report = attrs.evolve(report, report_id=new_id(), created_time=now_ms())
        if save:
            report = self.store.save_report(report)
        if report.drifted or report.multivariate_drifted or \
                (report.target and report.target.drifted) or \
                (report.prediction and report.prediction.drifted):
            from modelops.plugins import emit

            emit("modelops_drift_detected", report=report, store_uri=self.store.uri)
        return report

    def names(self) -> list[str]:
        """The names that have a reference profile or stored reports, sorted."""
        return sorted(self.store.list_names())

    def reports(self, name: str, since: Any = None, until: Any = None) -> list[DriftReport]:
        """Stored reports of ``name`` created in ``[since, until)``, oldest first. Times are
        Unix ms, datetimes (naive: UTC) or ISO strings (``"2026-11-01"``)."""
        return self.store.list_reports(check_name(name, "name"), _ms(since, "since"),
                                       _ms(until, "until"))

    def report(self, name: str, report_id: str) -> DriftReport:
        """One stored report."""
        return self.store.get_report(check_name(name, "name"),
                                     check_name(report_id, "report_id"))


def _narrowed(profile: DatasetProfile, name: str, columns: Sequence[str] | None,
              target: str | None, prediction: str | None) -> DatasetProfile:
    """A logged dataset's profile as the reference of ``name``: some of its columns, and the
    roles asked for (its own target, when it is still among them, by default)."""
    keep = list(profile.columns) if columns is None else [str(c) for c in columns]
    missing = [c for c in keep if c not in profile.columns]
    if missing or not keep:
        raise InvalidInput(f"the logged dataset has no column {missing[0]!r}" if missing
                           else "expected some columns", field="columns")
    for role, column in (("target", target), ("prediction", prediction)):
        if column is not None and column not in keep:
            raise InvalidInput(f"no column {column!r} in the dataset's profile", field=role)
    if target is None and profile.target in keep:
        target = profile.target
    if prediction is None and profile.prediction in keep:
        prediction = profile.prediction
    sample = None if profile.sample is None else {c: profile.sample[c] for c in keep}
    return attrs.evolve(profile, name=name, columns={c: profile.columns[c] for c in keep},
                        target=target, prediction=prediction, sample=sample)
