"""``DriftStoreSuite``: the conformance tests every ``DriftStore`` must pass.

A backend author subclasses the suite in a test module and provides a ``store`` fixture
returning a fresh, empty store::

    import pytest
    from modelops.testing import DriftStoreSuite, StoreCapabilities

    class TestMyDriftStore(DriftStoreSuite):
        capabilities = StoreCapabilities(concurrent_processes=False)

        @pytest.fixture
        def store(self, tmp_path):
            store = MyDriftStore(tmp_path)
            yield store
            store.close()

The suite talks to the store only through the ``DriftStore`` interface. It checks the
contract written there: profiles and reports written once and found again with every field
(a profile compares equal, a report has the same strict JSON form), the newest profile of a
name, reports filtered by ``[since, until)`` on their creation time and returned in creation
order, ``NotFound`` for what is not there, names kept apart, and several handles, threads and
processes writing at once without loss.

Profiles and reports are made by the real profiler and detector (``modelops.drift``) from
seeded data, so they hold what the service stores: bucket counts, samples, categorical
frequencies, histograms with open-ended edges, target and prediction columns.

Capabilities come from ``StoreCapabilities`` (shared with the other suites); the ones this
suite uses are ``concurrent_threads``, ``reopen`` and ``concurrent_processes``. This module
needs pytest (it is a pytest test class); it does not need hypothesis.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
from typing import Any

import attrs
import pytest

from modelops._ids import new_id
from modelops.entities.drift import DatasetProfile, DriftReport
from modelops.entities.drift_codec import profile_to_data, report_to_json
from modelops.errors import NotFound
from modelops.stores import DriftStore
from modelops.testing.base import StoreCapabilities, StoreSuite, in_threads
from modelops.testing.tracking import AWKWARD_NAMES

__all__ = ["DriftStoreSuite", "StoreCapabilities", "make_profile", "make_report"]

#: A creation time (epoch ms, midnight UTC) the suite gives its records.
T0 = 1_790_000_000_000 - 1_790_000_000_000 % 86_400_000
DAY = 86_400_000


def _frame(seed: int, rows: int = 300, shift: float = 0.0) -> dict[str, Any]:
    import numpy as np

    rng = np.random.default_rng(seed)
    age = rng.normal(40 + shift * 10, 10, rows)
    age[::37] = np.nan
    return {
        "age": age,
        "income": rng.lognormal(10 + shift, 1, rows),
        "clicks": rng.poisson(3, rows).astype(float),
        "churned": (rng.random(rows) < 0.2 + shift * 0.3).astype(float),
        "country": rng.choice(["DE", "FR", "IT", "é ü", "名前"], rows),
        "label": rng.choice(["a", "b"], rows),
        "score": rng.random(rows),
    }


def make_profile(name: str, seed: int = 0, *, created_time: int = T0,
                 profile_id: str | None = None) -> DatasetProfile:
    """A reference profile of seeded data: numeric (with NaNs), binary and categorical
    columns, a target and a prediction column; a fresh time-ordered id unless given."""
    from modelops.drift.profile import profile_frame

    profile = profile_frame(name, _frame(seed), target="label", prediction="score")
    return attrs.evolve(profile, profile_id=profile_id or new_id(), created_time=created_time)


def make_report(profile: DatasetProfile, seed: int = 1, *, created_time: int = T0,
                shift: float = 0.5, report_id: str | None = None) -> DriftReport:
    """A drift report of seeded, shifted data against ``profile``, as the service makes it."""
    from modelops.drift.detector import check_profile

    report = check_profile(profile, _frame(seed, shift=shift))
    return attrs.evolve(report, report_id=report_id or new_id(), created_time=created_time,
                        profile_id=profile.profile_id)


def _same_data(a: Any, b: Any) -> bool:
    """Equality of plain data in which NaN equals NaN."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_data(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same_data(x, y) for x, y in zip(a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return bool(a == b)


def assert_same_profile(actual: DatasetProfile, expected: DatasetProfile) -> None:
    """Every field equal (NaN equals NaN)."""
    assert isinstance(actual, DatasetProfile), type(actual)
    assert _same_data(profile_to_data(actual), profile_to_data(expected)), (
        f"profile {expected.profile_id} of {expected.name!r} changed on its way through the "
        "store")


def assert_same_report(actual: DriftReport, expected: DriftReport) -> None:
    """The same strict JSON form: every field, NaN and ±inf written as null."""
    assert isinstance(actual, DriftReport), type(actual)
    assert report_to_json(actual) == report_to_json(expected), (
        f"report {expected.report_id} of {expected.name!r} changed on its way through the "
        "store")


def _ids(items: Any) -> list[str]:
    return [getattr(i, "report_id", None) or i.profile_id for i in items]


_CHILD_SCRIPT = textwrap.dedent("""
    import json, os, sys, time
    from modelops.client import open_store
    from modelops.testing.drift import make_profile, make_report
    from modelops.uri import parse_uri

    uri, name, barrier, index, count = sys.argv[1:6]
    index, count = int(index), int(count)
    store = open_store("drift", parse_uri(uri))
    profile = make_profile(name, seed=index)
    reports = [make_report(profile, seed=index * 10 + i) for i in range(3)]
    open(os.path.join(barrier, str(index)), "w").close()
    deadline = time.monotonic() + 60
    while len(os.listdir(barrier)) < count and time.monotonic() < deadline:
        time.sleep(0.001)
    store.save_profile(profile)
    for report in reports:
        store.save_report(report)
    store.close()
    print(json.dumps({"profile": profile.profile_id,
                      "reports": [r.report_id for r in reports]}))
""")


class DriftStoreSuite(StoreSuite):
    """Conformance tests of the ``DriftStore`` contract.

    Subclass it as ``class TestMyStore(DriftStoreSuite)`` and define a ``store`` fixture that
    returns a fresh, empty store. The class name has no ``Test`` prefix, so pytest collects
    it only through subclasses.
    """

    # -- fixtures and shared steps -------------------------------------------------------------

    @pytest.fixture
    def store(self) -> DriftStore:
        """Overridden by the subclass: a fresh, empty DriftStore."""
        pytest.fail(f"{type(self).__name__} must define a `store` fixture returning a fresh, "
                    "empty DriftStore")

    @pytest.fixture
    def profile(self, store: DriftStore) -> DatasetProfile:
        """A stored profile of ``fraud``."""
        return store.save_profile(make_profile("fraud"))

    def open_again(self, store: DriftStore) -> DriftStore:
        """A second handle on the same data, as another process would open it."""
        from modelops.client import open_store
        from modelops.uri import parse_uri

        other = open_store("drift", parse_uri(self.store_uri(store)))
        assert other is not None, f"no drift store at {self.store_uri(store)}"
        return other

    # -- the store object -----------------------------------------------------------------

    def test_store_is_a_drift_store(self, store: DriftStore) -> None:
        """The fixture yields a DriftStore whose ``uri`` is a string."""
        assert isinstance(store, DriftStore)
        assert isinstance(store.uri, str)

    def test_fresh_store_is_empty(self, store: DriftStore) -> None:
        """A fresh store has no profiles and no reports, and says so with NotFound."""
        assert store.list_names() == []
        assert store.list_profiles("fraud") == []
        assert store.list_reports("fraud") == []
        with pytest.raises(NotFound):
            store.get_profile("fraud")
        with pytest.raises(NotFound):
            store.get_report("fraud", new_id())

    # -- profiles -------------------------------------------------------------------------

    def test_save_profile_returns_it(self, store: DriftStore) -> None:
        profile = make_profile("fraud")
        assert_same_profile(store.save_profile(profile), profile)

    def test_profile_round_trips_every_field(self, store: DriftStore) -> None:
        """Numeric columns (moments, buckets, samples, NaN counts), binary and categorical
        columns (non-ASCII categories), target and prediction come back as saved."""
        profile = make_profile("fraud")
        store.save_profile(profile)
        assert_same_profile(store.get_profile("fraud", profile.profile_id), profile)
        assert_same_profile(store.get_profile("fraud"), profile)
        (listed,) = store.list_profiles("fraud")
        assert_same_profile(listed, profile)

    def test_profile_of_an_empty_numeric_column(self, store: DriftStore) -> None:
        """A numeric column with no finite value (min +inf, max -inf, NaN moments) round-
        trips."""
        import numpy as np

        from modelops.drift.profile import profile_frame

        frame = {"x": np.array([np.nan, np.nan]), "y": np.array([1.0, 2.0])}
        profile = attrs.evolve(profile_frame("fraud", frame), profile_id=new_id(),
                               created_time=T0)
        store.save_profile(profile)
        back = store.get_profile("fraud", profile.profile_id)
        assert_same_profile(back, profile)
        assert back.columns["x"].min == math.inf and back.columns["x"].max == -math.inf

    def test_newest_profile_is_the_default(self, store: DriftStore) -> None:
        """``get_profile(name)`` is the newest; ``list_profiles`` is oldest first."""
        profiles = [store.save_profile(make_profile("fraud", seed=i, created_time=T0 + i))
                    for i in range(3)]
        assert store.get_profile("fraud").profile_id == profiles[-1].profile_id
        assert _ids(store.list_profiles("fraud")) == _ids(profiles)
        assert store.get_profile("fraud", profiles[0].profile_id).profile_id == \
            profiles[0].profile_id

    def test_unknown_profile_id_raises_not_found(self, store: DriftStore,
                                                 profile: DatasetProfile) -> None:
        with pytest.raises(NotFound):
            store.get_profile("fraud", new_id())
        with pytest.raises(NotFound):
            store.get_profile("churn", profile.profile_id)

    def test_profiles_of_different_names_are_independent(self, store: DriftStore) -> None:
        a = store.save_profile(make_profile("fraud", seed=1))
        b = store.save_profile(make_profile("churn", seed=2))
        assert _ids(store.list_profiles("fraud")) == [a.profile_id]
        assert _ids(store.list_profiles("churn")) == [b.profile_id]
        assert store.get_profile("fraud").profile_id == a.profile_id
        assert store.list_profiles("fraud-2") == []

    def test_names_are_case_sensitive(self, store: DriftStore) -> None:
        store.save_profile(make_profile("Fraud"))
        assert store.list_profiles("fraud") == []
        with pytest.raises(NotFound):
            store.get_profile("fraud")

    def test_names_with_profiles_or_reports_are_listed(self, store: DriftStore) -> None:
        """``list_names`` gives every name holding a profile, a report or both, sorted, each
        once."""
        fraud = store.save_profile(make_profile("fraud", seed=1))
        store.save_report(make_report(fraud))
        store.save_profile(make_profile("fraud", seed=2))
        store.save_profile(make_profile("churn", seed=3))
        store.save_report(make_report(make_profile("Zeta", seed=4)))   # a report alone
        assert store.list_names() == sorted(["fraud", "churn", "Zeta"])

    @pytest.mark.parametrize("name", AWKWARD_NAMES)
    def test_awkward_valid_names(self, store: DriftStore, name: str) -> None:
        """Names that are awkward as paths, keys or URLs are stored and found as given."""
        profile = store.save_profile(make_profile(name))
        report = store.save_report(make_report(profile))
        assert store.list_names() == [name]
        assert store.get_profile(name).name == name
        assert_same_report(store.get_report(name, report.report_id), report)
        assert store.list_profiles(name + "x") == []

    # -- reports --------------------------------------------------------------------------

    def test_save_report_returns_it(self, store: DriftStore, profile: DatasetProfile) -> None:
        report = make_report(profile)
        assert_same_report(store.save_report(report), report)

    def test_report_round_trips_every_field(self, store: DriftStore,
                                            profile: DatasetProfile) -> None:
        """Columns with their statistics, histograms (open-ended edges included), target and
        prediction drift come back with the same strict JSON form."""
        report = make_report(profile)
        assert report.columns and report.target is not None
        assert any(c.histogram is not None for c in report.columns)
        store.save_report(report)
        assert_same_report(store.get_report("fraud", report.report_id), report)
        (listed,) = store.list_reports("fraud")
        assert_same_report(listed, report)

    def test_unknown_report_raises_not_found(self, store: DriftStore,
                                             profile: DatasetProfile) -> None:
        report = store.save_report(make_report(profile))
        with pytest.raises(NotFound):
            store.get_report("fraud", new_id())
        with pytest.raises(NotFound):
            store.get_report("churn", report.report_id)

    def test_reports_listed_in_creation_order(self, store: DriftStore,
                                              profile: DatasetProfile) -> None:
        """Reports saved out of order, over several days, are listed by creation time."""
        times = [T0 + 2 * DAY + 5, T0 + 10, T0 + DAY, T0 + 11, T0 + 2 * DAY]
        saved = [store.save_report(make_report(profile, seed=i, created_time=t))
                 for i, t in enumerate(times)]
        listed = store.list_reports("fraud")
        assert [r.created_time for r in listed] == sorted(times)
        assert sorted(_ids(listed)) == sorted(_ids(saved))
        for report in saved:
            assert_same_report(store.get_report("fraud", report.report_id), report)

    def test_list_reports_since_until(self, store: DriftStore,
                                      profile: DatasetProfile) -> None:
        """``since`` is inclusive, ``until`` exclusive, both on ``created_time`` (Unix ms);
        either may be left out; ranges may span days."""
        times = [T0 - 1, T0, T0 + 1, T0 + DAY - 1, T0 + DAY, T0 + 3 * DAY]
        for i, t in enumerate(times):
            store.save_report(make_report(profile, seed=i, created_time=t))

        def created(**kw: Any) -> list[int]:
            return [r.created_time for r in store.list_reports("fraud", **kw)]

        assert created() == times
        assert created(since=T0) == times[1:]
        assert created(until=T0) == [T0 - 1]
        assert created(since=T0, until=T0 + DAY) == [T0, T0 + 1, T0 + DAY - 1]
        assert created(since=T0 + 1, until=T0 + 2) == [T0 + 1]
        assert created(since=T0 + DAY, until=T0 + 3 * DAY + 1) == [T0 + DAY, T0 + 3 * DAY]
        assert created(since=T0 + 4 * DAY) == []
        assert created(since=T0, until=T0) == []

    def test_reports_of_different_names_are_independent(self, store: DriftStore) -> None:
        a = store.save_report(make_report(store.save_profile(make_profile("fraud"))))
        b = store.save_report(make_report(store.save_profile(make_profile("churn"))))
        assert _ids(store.list_reports("fraud")) == [a.report_id]
        assert _ids(store.list_reports("churn")) == [b.report_id]

    def test_profiles_and_reports_do_not_mix(self, store: DriftStore,
                                             profile: DatasetProfile) -> None:
        report = store.save_report(make_report(profile))
        assert _ids(store.list_profiles("fraud")) == [profile.profile_id]
        assert _ids(store.list_reports("fraud")) == [report.report_id]
        with pytest.raises(NotFound):
            store.get_report("fraud", profile.profile_id)
        with pytest.raises(NotFound):
            store.get_profile("fraud", report.report_id)

    # -- several handles ------------------------------------------------------------------

    def test_second_handle_sees_profiles_and_reports(self, store: DriftStore,
                                                     profile: DatasetProfile) -> None:
        """A handle opened later by URI reads what the first wrote, and the first reads what
        the second writes."""
        self.require("reopen")
        report = store.save_report(make_report(profile))
        other = self.open_again(store)
        try:
            assert_same_profile(other.get_profile("fraud"), profile)
            assert_same_report(other.get_report("fraud", report.report_id), report)
            newer = other.save_profile(make_profile("fraud", seed=5, created_time=T0 + 1))
            later = other.save_report(make_report(newer, created_time=T0 + 1))
        finally:
            other.close()
        assert store.get_profile("fraud").profile_id == newer.profile_id
        assert _ids(store.list_reports("fraud")) == [report.report_id, later.report_id]

    # -- concurrency ----------------------------------------------------------------------

    def test_threads_saving_at_once(self, store: DriftStore) -> None:
        """8 threads each saving a profile and 3 reports of one name lose nothing."""
        self.require("concurrent_threads")
        profiles = [make_profile("fraud", seed=i) for i in range(8)]
        reports = [[make_report(p, seed=10 * i + j, created_time=T0 + 10 * i + j)
                    for j in range(3)] for i, p in enumerate(profiles)]

        def save(i: int) -> None:
            store.save_profile(profiles[i])
            for report in reports[i]:
                store.save_report(report)

        in_threads(8, save)
        assert sorted(_ids(store.list_profiles("fraud"))) == sorted(_ids(profiles))
        expected = sorted((r for rs in reports for r in rs), key=lambda r: r.created_time)
        assert _ids(store.list_reports("fraud")) == _ids(expected)

    @pytest.mark.slow
    def test_processes_saving_at_once(self, store: DriftStore, tmp_path: Any) -> None:
        """4 processes open the store by URI and each saves a profile and 3 reports of one
        name at once: every one is there afterwards, whole."""
        self.require("concurrent_processes")
        count = 4
        barrier = tmp_path / "barrier"
        barrier.mkdir()
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", _CHILD_SCRIPT, self.store_uri(store), "shared",
                 str(barrier), str(i), str(count)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for i in range(count)
        ]
        outputs = []
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            outputs.append(json.loads(out.strip().splitlines()[-1]))
        assert sorted(_ids(store.list_profiles("shared"))) == \
            sorted(o["profile"] for o in outputs)
        assert sorted(_ids(store.list_reports("shared"))) == \
            sorted(r for o in outputs for r in o["reports"])
        for i, o in enumerate(outputs):
            expected = make_profile("shared", seed=i, profile_id=o["profile"])
            assert_same_profile(store.get_profile("shared", o["profile"]), expected)
