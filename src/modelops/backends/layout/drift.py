"""DriftStore over the layout, on any Storage.

Layout under the root::

    drift/<name>/profiles/<id>.json                     written once
    drift/<name>/reports/date=YYYY-MM-DD/<id>.json      written once; Hive-style partitions

Ids are time-ordered, so the newest profile is the last listed, and a time range of reports
touches only the days it spans. Profiles never change once written, so a process keeps the
latest one it decoded of each name: a check lists the profiles (one small listing), and
decodes again only when a newer one appears — refitted here or by another process. A
profile or report that does not decode is a ``StoreError`` naming its file when asked for by
id, and is skipped with a ``StoreWarning`` by listings.
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from modelops._files import path_name
from modelops._time import utc_day
from modelops.backends.layout.storage import DECODE_ERRORS, Storage, dumps, skipped
from modelops.entities.drift import DatasetProfile, DriftReport
from modelops.entities.drift_codec import (
    profile_from_data,
    profile_to_data,
    report_from_dict,
    report_to_json,
)
from modelops.errors import NotFound, StoreError
from modelops.stores import DriftStore

#: How many names' decoded profiles a store keeps (the last used; one profile each).
PROFILES_KEPT = 16


class LayoutDriftStore(DriftStore):
    """Profiles and reports in the layout on a Storage."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.uri = storage.uri
        # name -> (profile id, the decoded profile), the last used last
        self._profiles: OrderedDict[str, tuple[str, DatasetProfile]] = OrderedDict()
        self._lock = threading.Lock()

    def _dir(self, name: str) -> str:
        return f"drift/{path_name(name)}"

    def list_names(self) -> list[str]:
        names = []
        for folder in self.storage.listdir("drift"):
            if not folder.startswith("~"):
                names.append(folder)
                continue
            found = self._name_inside(folder)
            if found is not None:
                names.append(found)
        return sorted(names)

    def _name_inside(self, folder: str) -> str | None:
        """The name the folder ``drift/<folder>`` holds records of (a name too long for a
        folder name is hashed): read from its first profile, else its first report, and
        kept only if it hashes to that folder; None if it holds neither."""
        base = f"drift/{folder}"
        profiles = (f"{base}/profiles/{entry}"
                    for entry in self.storage.listdir(f"{base}/profiles"))
        reports = (f"{base}/reports/{day}/{entry}"
                   for day in self.storage.listdir(f"{base}/reports")
                   for entry in self.storage.listdir(f"{base}/reports/{day}"))
        for rel in itertools.chain(profiles, reports):
            data = self.storage.read_json(rel)
            if data is None:
                continue
            name = data.get("name") if isinstance(data, dict) else None
            if isinstance(name, str) and path_name(name) == folder:
                return name
            skipped(StoreError(f"{self.storage.uri_of(rel)}: not a drift record of the "
                               f"folder {folder!r}"))
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
        with self._lock:
            kept = self._profiles.get(name)
            if kept is not None and kept[0] == profile_id:
                self._profiles.move_to_end(name)
                return kept[1]
        profile = self._decode(f"{folder}/{profile_id}.json", _of(name, profile_from_data),
                               "profile")
        if profile is None:
            raise NotFound(f"no profile {profile_id!r} for {name!r}")
        self._keep(name, profile_id, profile)
        return profile

    def _keep(self, name: str, profile_id: str, profile: DatasetProfile) -> None:
        with self._lock:
            self._profiles[name] = (profile_id, profile)
            self._profiles.move_to_end(name)
            while len(self._profiles) > PROFILES_KEPT:
                self._profiles.popitem(last=False)

    def _decode(self, rel: str, decode: Any, what: str) -> Any:
        """The record in ``rel`` decoded; None if there is none, ``StoreError`` naming the
        file if it does not decode."""
        data = self.storage.read_json(rel)
        if data is None:
            return None
        try:
            return decode(data)
        except DECODE_ERRORS as exc:
            raise StoreError(f"{self.storage.uri_of(rel)}: not a drift {what} "
                             f"({type(exc).__name__}: {exc})") from None

    def _listed(self, rel: str, decode: Any, what: str) -> Any:
        try:
            return self._decode(rel, decode, what)
        except StoreError as exc:
            skipped(exc)
            return None

    def list_profiles(self, name: str) -> list[DatasetProfile]:
        folder = f"{self._dir(name)}/profiles"
        out = []
        for entry in self.storage.listdir(folder):
            profile = self._listed(f"{folder}/{entry}", _of(name, profile_from_data),
                                   "profile")
            if profile is not None:
                out.append(profile)
        return out

    def save_report(self, report: DriftReport) -> DriftReport:
        path = (f"{self._dir(report.name)}/reports/date={utc_day(report.created_time)}/"
                f"{report.report_id}.json")
        self.storage.create(path, report_to_json(report, indent=None).encode())
        return report

    def get_report(self, name: str, report_id: str) -> DriftReport:
        folder = f"{self._dir(name)}/reports"
        for day in reversed(self.storage.listdir(folder)):
            report = self._decode(f"{folder}/{day}/{report_id}.json",
                                  _of(name, report_from_dict), "report")
            if report is not None:
                return report
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
                report = self._listed(f"{folder}/{day}/{entry}", _of(name, report_from_dict),
                                      "report")
                if report is None:
                    continue
                if (since is None or report.created_time >= since) and \
                        (until is None or report.created_time < until):
                    out.append(report)
        return sorted(out, key=lambda r: (r.created_time, r.report_id))


def _of(name: str, decode: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``decode``, refusing (``ValueError``) a record that is not of ``name``: the folder a
    record lies in says whose it is, and a check saves its report under the profile's own
    name, so a profile naming another model (or no string at all) would file it there."""
    def checked(data: Any) -> Any:
        found = decode(data)
        if found.name != name:
            raise ValueError(f"it is of {found.name!r}, in the folder of {name!r}")
        return found
    return checked
