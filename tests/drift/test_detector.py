import datetime as dt

import numpy as np
import pytest
import scipy.stats

import modelops
from modelops import InvalidInput, NotFound
from modelops.drift import DriftMethod, StatResult
from modelops.drift.detector import check_profile
from modelops.drift.profile import profile_frame


@pytest.fixture
def ops():
    return modelops.connect("memory://")


def frames(n, seed=0, shift=None, cats=None):
    rng = np.random.default_rng(seed)
    data = {f"x{i}": rng.normal(i, 1 + i % 3, n) for i in range(6)}
    data["flag"] = (rng.random(n) < 0.3).astype(int)
    p = np.linspace(1, 3, 8)
    p /= p.sum()
    data["city"] = rng.choice([f"c{j}" for j in range(8)], n, p=cats if cats is not None else p)
    for col, amount in (shift or {}).items():
        data[col] = data[col] + amount
    return data


def test_exact_path_equals_scipy_for_small_references():
    ref, cur = frames(800, seed=1), frames(900, seed=2, shift={"x1": 0.5})
    report = check_profile(profile_frame("m", ref), cur)
    for col in ("x0", "x1"):
        c = report.column(col)
        want = scipy.stats.ks_2samp(ref[col], cur[col])
        assert c.method == "ks" and "exactly" in c.reason
        assert c.statistic == pytest.approx(want.statistic, abs=1e-12)
        assert c.raw_pvalue == pytest.approx(want.pvalue, rel=1e-9, abs=1e-300)
        want_w = scipy.stats.wasserstein_distance(ref[col], cur[col]) / np.std(ref[col])
        assert c.effect == pytest.approx(want_w, rel=1e-9)
    assert report.column("x1").drifted and not report.column("x0").drifted
    flag = report.column("flag")
    assert flag.kind == "binary" and flag.method == "z_proportion"
    table = [[np.sum(ref["flag"] == 0), np.sum(ref["flag"] == 1)],
             [np.sum(cur["flag"] == 0), np.sum(cur["flag"] == 1)]]
    assert flag.raw_pvalue == pytest.approx(scipy.stats.chi2_contingency(
        table, correction=False).pvalue, rel=1e-9)
    city = report.column("city")
    levels = sorted(set(ref["city"]) | set(cur["city"]))
    counts = [[np.sum(ref["city"] == v) for v in levels],
              [np.sum(cur["city"] == v) for v in levels]]
    want = scipy.stats.chi2_contingency(counts, correction=False)
    assert (city.method, city.statistic) == ("chi2", pytest.approx(want.statistic, rel=1e-9))
    assert city.raw_pvalue == pytest.approx(want.pvalue, rel=1e-9)


def test_bucketed_ks_is_close_to_the_exact_statistic_at_large_sizes():
    rng = np.random.default_rng(3)
    ref = {"x": rng.normal(100, 5, 60_000)}
    cur = {"x": rng.normal(100.4, 5, 60_000)}
    c = check_profile(profile_frame("m", ref), cur).column("x")
    want = scipy.stats.ks_2samp(ref["x"], cur["x"])
    assert "buckets" in c.reason
    assert c.statistic == pytest.approx(want.statistic, abs=0.004)
    assert c.effect == pytest.approx(scipy.stats.wasserstein_distance(ref["x"], cur["x"])
                                     / np.std(ref["x"]), rel=0.05)


def test_auto_finds_small_shifts_without_false_alarms_at_large_sizes():
    rng = np.random.default_rng(4)
    n = 200_000
    ref = {f"x{i}": rng.normal(0, 1, n) for i in range(20)}
    cur = {f"x{i}": rng.normal(0, 1, n) for i in range(20)}
    for i in range(4):
        cur[f"x{i}"] = cur[f"x{i}"] + 0.1
    report = check_profile(profile_frame("m", ref), cur)
    assert report.drifted_columns == ["x0", "x1", "x2", "x3"]
    # A plain KS at alpha 0.05 flags tiny noise once samples are this large; auto does not.
    plain = [c.column for c in report.columns if c.pvalue < 0.05]
    assert set(plain) >= {"x0", "x1", "x2", "x3"}
    assert report.share == 0.2 and not report.drifted


def test_dataset_verdict_missing_new_and_unseen(ops):
    ops.drift.fit_reference("m", frames(3000))
    cur = frames(3000, seed=9, shift={f"x{i}": 5.0 for i in range(6)})
    cur["city"] = np.where(np.arange(3000) % 10 == 0, "brand-new", cur["city"])
    del cur["flag"]
    cur["extra"] = np.ones(3000)
    report = ops.drift.check("m", cur, drift_share=0.5)
    assert report.drifted and report.share == pytest.approx(7 / 7)
    assert report.missing_columns == ("flag",) and report.new_columns == ("extra",)
    assert report.column("city").unseen_categories == ("brand-new",)
    assert "never seen" in report.column("city").reason
    assert ops.drift.check("m", cur, drift_share=1.0).drifted


def test_target_and_prediction_drift_are_reported_apart(ops):
    ref = frames(2000)
    ref["label"], ref["score"] = ref["flag"], ref["x0"] * 0.1
    ops.drift.fit_reference("m", ref, target="label", prediction="score")
    cur = frames(2000, seed=5)
    cur["label"] = np.ones(2000, dtype=int)
    cur["score"] = cur["x0"] * 0.1
    report = ops.drift.check("m", cur)
    assert report.target.drifted and report.target.role == "target"
    assert report.prediction is not None and not report.prediction.drifted
    assert "label" not in [c.column for c in report.columns]


def test_named_methods_and_thresholds():
    ref, cur = frames(1000, seed=1), frames(1000, seed=2, shift={"x2": 1.0})
    profile = profile_frame("m", ref)
    psi = check_profile(profile, cur, method="psi").column("x2")
    from modelops.drift import stats

    assert psi.method == "psi"
    assert psi.statistic == pytest.approx(stats.psi(ref["x2"], cur["x2"]).statistic, rel=1e-12)
    ad = check_profile(profile, cur, method={"x2": "anderson_darling"}).column("x2")
    assert ad.raw_pvalue == pytest.approx(0.001)  # scipy's floor for a clear shift
    strict = check_profile(profile, cur, method="ks", threshold=1e-300).column("x0")
    assert not strict.drifted and strict.threshold == 1e-300
    tvd_city = check_profile(profile, cur, method="tvd").column("city")
    assert tvd_city.method == "tvd"
    for bad in ("nope", {"ghost": "ks"}, {"x0": "chi2"}):
        with pytest.raises(InvalidInput):
            check_profile(profile, cur, method=bad)


def test_corrections_match_scipy():
    ref = frames(600, seed=1)
    cur = frames(600, seed=2, shift={"x0": 0.15, "x3": 0.2})
    profile = profile_frame("m", ref)
    raw = check_profile(profile, cur, min_effect=0.0, correction="none")
    p = np.array([c.pvalue for c in raw.columns])
    assert all(c.raw_pvalue is None for c in raw.columns)
    bh = check_profile(profile, cur, min_effect=0.0)        # the default
    assert bh.correction == "bh" and [c.raw_pvalue for c in bh.columns] == list(p)
    assert [c.pvalue for c in bh.columns] == pytest.approx(
        scipy.stats.false_discovery_control(p, method="bh"), rel=1e-12)
    bonf = check_profile(profile, cur, correction="bonferroni", min_effect=0.0)
    assert [c.pvalue for c in bonf.columns] == pytest.approx(np.minimum(p * len(p), 1))
    assert all("adjusted" in c.reason for c in bonf.columns)
    with pytest.raises(InvalidInput, match="correction"):
        check_profile(profile, cur, correction="holm")


@pytest.mark.parametrize(("column", "values", "drifted", "method"), [
    ("x0", np.full(500, np.nan), True, "missing_values"),
    ("x0", np.full(500, np.inf), True, "missing_values"),
    ("city", np.array([None] * 500, dtype=object), True, "missing_values"),
])
def test_columns_without_values_have_a_defined_verdict(column, values, drifted, method):
    profile = profile_frame("m", frames(500))
    cur = frames(500, seed=1)
    cur[column] = values
    c = check_profile(profile, cur).column(column)
    assert (c.drifted, c.method) == (drifted, method) and "no" in c.reason


def test_constant_all_nan_and_infinite_reference_columns():
    ref = {"const": np.full(400, 7.0), "nan": np.full(400, np.nan),
           "inf": np.concatenate([np.full(10, np.inf), np.arange(390.0)])}
    profile = profile_frame("m", ref)
    same = check_profile(profile, {"const": np.full(300, 7.0), "nan": np.full(300, np.nan),
                                   "inf": np.arange(300.0)})
    assert not same.column("const").drifted
    assert same.column("const").statistic == 0.0
    assert not same.column("nan").drifted and same.column("nan").method == "missing_values"
    moved = check_profile(profile, {"const": np.full(300, 8.0), "nan": np.ones(300),
                                    "inf": np.arange(300.0)})
    assert moved.column("const").drifted and moved.column("nan").drifted
    assert np.isfinite(moved.column("const").effect)


def test_bad_input_is_refused_naming_the_column(ops):
    ops.drift.fit_reference("m", frames(100))
    with pytest.raises(InvalidInput, match="no rows"):
        ops.drift.check("m", {k: v[:0] for k, v in frames(10).items()})
    bad = frames(100)
    bad["x1"] = np.array(["a"] * 100, dtype=object)
    with pytest.raises(InvalidInput, match="'x1'"):
        ops.drift.check("m", bad)
    mixed = frames(100)
    mixed["x2"] = np.array([1, "two"] * 50, dtype=object)
    with pytest.raises(InvalidInput, match="'x2'"):
        ops.drift.check("m", mixed)
    with pytest.raises(InvalidInput, match="no rows"):
        ops.drift.fit_reference("empty", {"a": np.zeros(0)})
    with pytest.raises(NotFound, match="fit_reference"):
        ops.drift.check("unknown", frames(10))
    for kwargs in ({"drift_share": 0}, {"threshold": -1}, {"threshold": float("nan")}):
        with pytest.raises(InvalidInput):
            ops.drift.check("m", frames(100), **kwargs)


def test_reports_are_stored_listed_by_time_and_fire_the_hook(ops):
    from modelops import plugins

    seen = []

    class Alarm:
        @modelops.hookimpl
        def modelops_drift_detected(self, report, store_uri):
            seen.append(report.report_id)

    alarm = Alarm()
    plugins.plugin_manager().register(alarm)
    try:
        ops.drift.fit_reference("m", frames(1000))
        calm = ops.drift.check("m", frames(1000, seed=1))
        wild = ops.drift.check("m", frames(1000, seed=2, shift={f"x{i}": 3 for i in range(6)}))
        ops.drift.check("m", frames(50), save=False)
    finally:
        plugins.plugin_manager().unregister(alarm)
    assert seen == [wild.report_id] and not calm.drifted
    stored = ops.drift.reports("m")
    assert [r.report_id for r in stored] == [calm.report_id, wild.report_id]
    assert stored[1] == wild
    assert ops.drift.report("m", calm.report_id) == calm
    ops.drift.fit_reference("a", frames(200))
    assert ops.drift.names() == ["a", "m"]
    today = dt.datetime.now(dt.timezone.utc).date()
    assert len(ops.drift.reports("m", since=today.isoformat())) == 2
    assert ops.drift.reports("m", until=calm.created_time) == []
    assert ops.drift.reports("m", since=wild.created_time) == [wild]
    with pytest.raises(InvalidInput, match="since"):
        ops.drift.reports("m", since="yesterday-ish")


def test_reports_render_and_profiles_are_versioned(ops, tmp_path):
    first = ops.drift.fit_reference("m", frames(500))
    second = ops.drift.fit_reference("m", frames(500, seed=3))
    assert ops.drift.reference("m").profile_id == second.profile_id
    assert ops.drift.reference("m", first.profile_id) == first
    report = ops.drift.check("m", frames(500, seed=4))
    assert report.profile_id == second.profile_id
    page = report.to_html(str(tmp_path / "r.html"))
    assert (tmp_path / "r.html").read_text(encoding="utf-8") == page
    assert page.count("<svg") == len(report.columns) + 1       # and the chart of effects
    assert '"share"' in report.to_json()


def test_a_plugin_drift_method_is_usable_by_name(ops):
    from modelops import plugins

    def mean_gap(reference, current, threshold):
        gap = abs(float(np.nanmean(current)) - reference.mean)
        limit = threshold if threshold is not None else 1.0
        return StatResult(method="mean_gap", statistic=gap, pvalue=None, threshold=limit,
                          drifted=gap >= limit)

    class Methods:
        @modelops.hookimpl
        def modelops_drift_methods(self):
            return [DriftMethod("mean_gap", ("numeric",), mean_gap)]

    plugin = Methods()
    plugins.plugin_manager().register(plugin)
    try:
        ops.drift.fit_reference("m", frames(500))
        report = ops.drift.check("m", frames(500, seed=1, shift={"x0": 2.0}),
                                 method={"x0": "mean_gap", "x1": "mean_gap"})
        with pytest.raises(InvalidInput, match="does not apply to the categorical column"):
            ops.drift.check("m", frames(500), method={"city": "mean_gap"})
    finally:
        plugins.plugin_manager().unregister(plugin)
    assert report.column("x0").drifted and report.column("x0").method == "mean_gap"
    assert not report.column("x1").drifted


def test_built_in_methods_come_through_the_same_hook_as_plugins():
    from modelops import plugins
    from modelops.drift import methods

    table = methods.method_table()
    found = plugins.plugin_manager().hook.modelops_drift_methods()
    assert [m.name for m in methods.BUILTIN_METHODS] == [
        "ks", "wasserstein", "energy", "anderson_darling", "psi", "jensen_shannon",
        "hellinger", "tvd", "chi2", "z_proportion"]
    assert [*methods.BUILTIN_METHODS, *methods.BUILTIN_MULTIVARIATE] in found
    assert all(table[m.name] is m for m in methods.BUILTIN_METHODS)
    multivariate = methods.multivariate_table()
    assert all(multivariate[m.name] is m for m in methods.BUILTIN_MULTIVARIATE)
    assert table["chi2"].kinds == ("categorical",)
    assert table["psi"].kinds == ("numeric", "categorical")


def test_a_built_in_method_computes_like_the_statistic_it_names():
    from scipy import stats as sps

    from modelops.drift import methods, profile_frame

    rng = np.random.default_rng(4)
    ref, cur = rng.normal(0, 1, 800), rng.normal(0.3, 1, 600)
    profile = profile_frame("m", {"x": ref}).columns["x"]
    table = methods.method_table()
    result = table["ks"].compute(profile, cur, None)
    expected = sps.ks_2samp(ref, cur)
    assert result.statistic == pytest.approx(expected.statistic)
    assert result.pvalue == pytest.approx(expected.pvalue, rel=1e-6)
    assert result.threshold == methods.DEFAULT_ALPHA
    distance = table["wasserstein"].compute(profile, cur, 0.2)
    assert distance.statistic == pytest.approx(sps.wasserstein_distance(ref, cur) / ref.std())
    assert distance.threshold == 0.2


def test_a_plugin_may_replace_a_built_in_method_by_its_name(ops):
    from modelops import plugins

    def strict_psi(reference, current, threshold):
        return StatResult(method="psi", statistic=9.0, pvalue=None, threshold=0.1,
                          drifted=True)

    class Strict:
        @modelops.hookimpl
        def modelops_drift_methods(self):
            return [DriftMethod("psi", ("numeric",), strict_psi)]

    ops.drift.fit_reference("m", frames(500))
    plugin = Strict()
    plugins.plugin_manager().register(plugin)
    try:
        replaced = ops.drift.check("m", frames(500), method={"x0": "psi"})
    finally:
        plugins.plugin_manager().unregister(plugin)
    built_in = ops.drift.check("m", frames(500), method={"x0": "psi"})
    assert replaced.column("x0").statistic == 9.0
    assert "(from a plugin)" in replaced.column("x0").reason
    assert built_in.column("x0").statistic < 0.1 and "(from a plugin)" not in \
        built_in.column("x0").reason


def test_exact_ks_p_values_never_take_the_slow_recursion(monkeypatch):
    # A reference of 3,000-8,000 values against 1,000 made the exact KS p-value a Python loop
    # of m + n array steps per column (1-2 s for 30 columns); scipy ships that recursion
    # compiled, and the check uses it. Equal sizes use Hodges' sum in closed form.
    from modelops.drift import stats

    def slow(*args):
        raise AssertionError("the per-anti-diagonal recursion ran")

    monkeypatch.setattr(stats, "_ks_exact_unequal", slow)
    rng = np.random.default_rng(5)
    for n_ref, n_cur in ((5_000, 1_000), (8_000, 1_000), (3_000, 3_000), (800, 700)):
        ref = {f"x{i}": rng.normal(size=n_ref) for i in range(3)}
        cur = {f"x{i}": rng.normal(0.1 * i, size=n_cur) for i in range(3)}
        report = check_profile(profile_frame("m", ref), cur)
        for col in ref:
            if n_ref > 5_000:
                continue         # the reference's buckets: an approximate statistic
            want = scipy.stats.ks_2samp(ref[col], cur[col])
            got = report.column(col)
            assert got.statistic == pytest.approx(want.statistic, rel=1e-12)
            # exactly scipy's, unless its exact recursion would cost more than a few
            # milliseconds: then Smirnov's distribution, within a few per cent of it
            cost = max(n_ref, n_cur) * 2 * want.statistic * min(n_ref, n_cur)
            exact = n_ref == n_cur or cost <= stats.KS_EXACT_BUDGET
            assert got.raw_pvalue == pytest.approx(want.pvalue, rel=1e-9 if exact else 0.06)


def test_a_rare_binary_column_is_judged_by_fishers_exact_test():
    # At a 1-4 % share and 200 current rows the z-test's normal tail is too light: it rejected
    # at up to twice its alpha at the levels a correction over many columns uses.
    rng = np.random.default_rng(21)
    ref = {"rare": (rng.random(2_000) < 0.03).astype(float), "x": rng.normal(size=2_000)}
    profile = profile_frame("m", ref)
    cur = {"rare": (rng.random(200) < 0.03).astype(float), "x": rng.normal(size=200)}
    rare = check_profile(profile, cur, correction="none").column("rare")
    table = [[int(ref["rare"].sum()), 2_000 - int(ref["rare"].sum())],
             [int(cur["rare"].sum()), 200 - int(cur["rare"].sum())]]
    assert rare.method == "fisher_exact" and "Fisher's exact test" in rare.reason
    assert rare.pvalue == pytest.approx(scipy.stats.fisher_exact(table).pvalue, rel=1e-9)
    common = check_profile(profile_frame("c", {"f": (rng.random(2_000) < 0.3).astype(float)}),
                           {"f": (rng.random(200) < 0.3).astype(float)}).column("f")
    assert common.method == "z_proportion"
    # its false alarms at alpha 0.0025 on clean data stay at or below alpha
    alarms = 0
    for _ in range(2_000):
        cur = {"rare": (rng.random(200) < 0.03).astype(float)}
        alarms += check_profile(profile, cur, threshold=0.0025, correction="none",
                                min_effect=0.0).column("rare").pvalue < 0.0025
    assert alarms <= 2_000 * 0.0025 * 1.5


@pytest.mark.parametrize("rows", [2_000, 20_000])   # exact, and on the reference's buckets
def test_a_reference_beyond_the_range_of_its_moments_is_refused_naming_its_column(ops, rows):
    """A column with values near a float's limit made the profile's moment sums overflow:
    its std became infinite, every shift measured in it zero, and a shift of three standard
    deviations was judged "not drifted". Such a reference is now refused, and nothing is
    stored."""
    rng = np.random.default_rng(1)
    with pytest.raises(InvalidInput, match=r"column 'x'.*as large as .*rescale"):
        ops.drift.fit_reference("m", {"x": rng.normal(size=rows) * 1e300,
                                      "y": rng.normal(size=rows)})
    with pytest.raises(NotFound):
        ops.drift.reference("m")


def test_a_stored_reference_beyond_that_range_is_refused_at_check(ops, monkeypatch):
    from modelops.drift import profile

    rng = np.random.default_rng(2)
    monkeypatch.setattr(profile, "MAX_MAGNITUDE", float("inf"))   # an older modelops's fit
    ops.drift.fit_reference("m", {"x": rng.normal(size=2_000) * 1e300})
    monkeypatch.undo()
    with pytest.raises(InvalidInput, match="column 'x': has a reference with values as large"):
        ops.drift.check("m", {"x": (rng.normal(size=2_000) + 3) * 1e300})


@pytest.mark.parametrize("rows", [2_000, 20_000])
def test_verdicts_hold_up_to_that_range_and_for_a_huge_current_outlier(ops, rows):
    rng = np.random.default_rng(3)
    ops.drift.fit_reference("m", {"x": rng.normal(size=rows) * 1e69})
    shifted = ops.drift.check("m", {"x": (rng.normal(size=rows) + 3) * 1e69}).column("x")
    same = ops.drift.check("m", {"x": rng.normal(size=rows) * 1e69}).column("x")
    assert shifted.drifted and not same.drifted
    ops.drift.fit_reference("n", {"x": rng.normal(size=rows)})
    with np.errstate(over="ignore"):
        outlier = ops.drift.check("n", {"x": np.r_[rng.normal(size=rows - 1), 1e300]})
    assert outlier.column("x").judged and not outlier.column("x").drifted
