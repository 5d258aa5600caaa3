"""The DriftStore interface: reference profiles and drift reports over time."""

from __future__ import annotations

import abc

from modelops.entities.drift import DatasetProfile, DriftReport


class DriftStore(abc.ABC):
    """Persists reference profiles per monitored model, and drift reports over time.

    Profiles and reports arrive complete (ids and times set by ``modelops.drift``); a store
    writes each once, whole or absent, and finds them again. ``list_names`` lists every name
    with a profile or a report; ``list_reports`` filters by ``created_time`` (Unix ms) and
    returns reports in creation order.
    """

    uri: str = ""

    @abc.abstractmethod
    def list_names(self) -> list[str]:
        """Every name (monitored model) that has a reference profile or a drift report,
        sorted."""

    @abc.abstractmethod
    def save_profile(self, profile: DatasetProfile) -> DatasetProfile:
        """Store a profile (``profile.profile_id`` is new); returns it."""

    @abc.abstractmethod
    def get_profile(self, name: str, profile_id: str | None = None) -> DatasetProfile:
        """One profile, or the newest when ``profile_id`` is None; ``NotFound`` if none."""

    @abc.abstractmethod
    def list_profiles(self, name: str) -> list[DatasetProfile]:
        """Every profile of ``name``, oldest first."""

    @abc.abstractmethod
    def save_report(self, report: DriftReport) -> DriftReport:
        """Store a report (``report.report_id`` is new); returns it."""

    @abc.abstractmethod
    def get_report(self, name: str, report_id: str) -> DriftReport:
        """One report; ``NotFound`` if absent."""

    @abc.abstractmethod
    def list_reports(self, name: str, since: int | None = None,
                     until: int | None = None) -> list[DriftReport]:
        """Reports of ``name`` created in ``[since, until)`` (Unix ms; None: unbounded)."""

    def close(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release connections or caches."""
