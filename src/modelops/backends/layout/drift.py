"""DriftStore over the layout, on any Storage.

Layout under the root::

    drift/<name>/profiles/<id>.json                     written once
    drift/<name>/reports/date=YYYY-MM-DD/<id>.json      written once; Hive-style partitions

Ids are time-ordered, so the newest profile is the last listed, and a time range of reports
touches only the days it spans.
"""

from __future__ import annotations

from modelops._time import utc_day
from modelops.backends.layout.storage import Storage, dumps, path_name
from modelops.entities.drift import DatasetProfile, DriftReport
from modelops.entities.drift_codec import (
    profile_from_data,
    profile_to_data,
    report_from_dict,
    report_to_json,
)
from modelops.errors import NotFound
from modelops.stores import DriftStore


class LayoutDriftStore(DriftStore):
    """Profiles and reports in the layout on a Storage."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.uri = storage.uri

    def _dir(self, name: str) -> str:
        return f"drift/{path_name(name)}"

    def list_names(self) -> list[str]:
        names = []
        for folder in self.storage.listdir("drift"):
            if not folder.startswith("~"):
                names.append(folder)
                continue
            found = self._name_inside(f"drift/{folder}")
            if found is not None:
                names.append(found)
        return sorted(names)

    def _name_inside(self, folder: str) -> str | None:
        """The name a folder holds records of (a name too long for a folder name is hashed):
        read from its first profile, else its first report; None if it holds neither."""
        profiles = self.storage.listdir(f"{folder}/profiles")
        if profiles:
            data = self.storage.read_json(f"{folder}/profiles/{profiles[0]}")
            if data is not None:
                return data["name"]
        for day in self.storage.listdir(f"{folder}/reports"):
            for entry in self.storage.listdir(f"{folder}/reports/{day}"):
                data = self.storage.read_json(f"{folder}/reports/{day}/{entry}")
                if data is not None:
                    return data["name"]
        return None

    def save_profile(self, profile: DatasetProfile) -> DatasetProfile:
        path = f"{self._dir(profile.name)}/profiles/{profile.profile_id}.json"
        self.storage.create(path, dumps(profile_to_data(profile)))
        return profile

    def get_profile(self, name: str, profile_id: str | None = None) -> DatasetProfile:
        folder = f"{self._dir(name)}/profiles"
        if profile_id is None:
            names = self.storage.listdir(folder)
            if not names:
                raise NotFound(f"no reference profile for {name!r}; fit one with "
                               "ops.drift.fit_reference")
            profile_id = names[-1].removesuffix(".json")
        data = self.storage.read_json(f"{folder}/{profile_id}.json")
        if data is None:
            raise NotFound(f"no profile {profile_id!r} for {name!r}")
        return profile_from_data(data)

    def list_profiles(self, name: str) -> list[DatasetProfile]:
        folder = f"{self._dir(name)}/profiles"
        out = []
        for entry in self.storage.listdir(folder):
            data = self.storage.read_json(f"{folder}/{entry}")
            if data is not None:
                out.append(profile_from_data(data))
        return out

    def save_report(self, report: DriftReport) -> DriftReport:
        path = (f"{self._dir(report.name)}/reports/date={utc_day(report.created_time)}/"
                f"{report.report_id}.json")
        self.storage.create(path, report_to_json(report, indent=None).encode())
        return report

    def get_report(self, name: str, report_id: str) -> DriftReport:
        folder = f"{self._dir(name)}/reports"
        for day in reversed(self.storage.listdir(folder)):
            data = self.storage.read_json(f"{folder}/{day}/{report_id}.json")
            if data is not None:
                return report_from_dict(data)
        raise NotFound(f"no drift report {report_id!r} for {name!r}")

    def list_reports(self, name: str, since: int | None = None,
                     until: int | None = None) -> list[DriftReport]:
        folder = f"{self._dir(name)}/reports"
        first = f"date={utc_day(since)}" if since is not None else None
        last = f"date={utc_day(until)}" if until is not None else None
        out = []
        for day in self.storage.listdir(folder):
            if (first and day < first) or (last and day > last):
                continue
            for entry in self.storage.listdir(f"{folder}/{day}"):
                data = self.storage.read_json(f"{folder}/{day}/{entry}")
                if data is None:
                    continue
                report = report_from_dict(data)
                if (since is None or report.created_time >= since) and \
                        (until is None or report.created_time < until):
                    out.append(report)
        return sorted(out, key=lambda r: (r.created_time, r.report_id))
