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
from modelops.errors import InvalidInput
from modelops.stores import DriftStore


class Drift:
    """Drift detection on one DriftStore: ``ops.drift``."""

    def __init__(self, store: DriftStore, client: Any = None) -> None:
        self.store = store
        self._client = client

    def fit_reference(self, name: str, frame: Any, *, categorical: Sequence[str] | None = None,
                      target: str | None = None, prediction: str | None = None,
                      columns: Sequence[str] | None = None) -> DatasetProfile:
        """Profile a reference dataset for ``name`` (usually a model) and store it.

        Later checks compare against the newest reference. ``categorical`` forces columns to
        be categorical (strings are anyway); ``target`` and ``prediction`` name the columns
        whose drift is reported apart from the features'.
        """
        check_name(name, "name")
        profile = profile_frame(name, frame, categorical=categorical, target=target,
                                prediction=prediction, columns=columns)
        if profile.rows == 0:
            raise InvalidInput("the reference frame has no rows", field="frame")
        return self.save_reference(profile)

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
