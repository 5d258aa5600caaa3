"""Multivariate drift: a correlation-only shift, which column tests cannot see, is found."""

import json
import math

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

import modelops
from modelops import plugins
from modelops.drift import methods
from modelops.drift.multivariate import delong_auc
from modelops.entities.drift import MultivariateDrift, MultivariateMethod
from modelops.entities.drift_codec import (
    profile_from_data,
    profile_to_data,
    report_from_dict,
    report_to_json,
)
from modelops.errors import InvalidInput


def rows(rng, n, rho):
    """Two standard normal columns correlated by ``rho`` beside three independent ones and a
    categorical one: changing ``rho`` leaves every column's distribution as it was."""
    ab = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], n)
    out = {"a": ab[:, 0], "b": ab[:, 1]}
    for i in range(3):
        out[f"n{i}"] = rng.normal(0, 1, n)
    out["city"] = rng.choice(["x", "y", "z"], n)
    return out


@pytest.fixture(scope="module")
def ops():
    ops = modelops.connect("memory://")
    ops.drift.fit_reference("m", rows(np.random.default_rng(0), 5000, 0.9))
    return ops


def test_a_correlation_flip_is_found_that_column_tests_cannot_see(ops):
    rng = np.random.default_rng(1)
    frame = rows(rng, 500, -0.9)
    report = ops.drift.check("m", frame, multivariate=True, correction="bonferroni",
                             save=False)
    assert not report.drifted and report.drifted_columns == []   # marginals unchanged
    found = {m.method: m for m in report.multivariate}
    assert set(found) == {"reconstruction", "domain_classifier"}
    assert all(m.drifted for m in found.values()) and report.multivariate_drifted
    assert found["reconstruction"].statistic > found["reconstruction"].upper
    assert {c for c, _ in found["domain_classifier"].explanation[:2]} == {"a", "b"}
    assert {c for c, _ in found["reconstruction"].explanation[:2]} == {"a", "b"}


def test_detection_and_false_alarm_rates(ops):
    rng = np.random.default_rng(2)
    clean = [ops.drift.check("m", rows(rng, 500, 0.9), multivariate="reconstruction",
                             save=False).multivariate[0] for _ in range(40)]
    shifted = [ops.drift.check("m", rows(rng, 500, 0.5), multivariate="reconstruction",
                               save=False).multivariate[0] for _ in range(10)]
    assert sum(m.drifted for m in clean) <= 1          # 3 σ: 0.3% expected
    assert all(m.drifted for m in shifted)
    dc_clean = [ops.drift.check("m", rows(rng, 500, 0.9), multivariate="domain_classifier",
                                save=False).multivariate[0] for _ in range(5)]
    assert not any(m.drifted for m in dc_clean)


def test_windows_larger_than_the_reference_raise_no_false_alarms():
    # Both mean errors are estimates: judged by the window's standard error alone, clean
    # 10,000-row windows against a 1,000-row reference were "drifted" in most checks.
    from modelops.drift.multivariate import reconstruction

    rng = np.random.default_rng(11)
    found = []
    for _ in range(30):
        reference = rows(rng, 1_000, 0.9)
        found.append(reconstruction(reference, rows(rng, 10_000, 0.9), None))
    assert sum(m.drifted for m in found) <= 1           # 3 σ: 0.3 % expected
    shifted = reconstruction(rows(rng, 1_000, 0.9), rows(rng, 10_000, 0.6), None)
    assert shifted.drifted


def test_a_frame_beyond_the_row_limit_is_checked_on_a_fixed_uniform_sample(ops,
                                                                            monkeypatch):
    from modelops.drift import multivariate

    monkeypatch.setattr(multivariate, "CURRENT_ROWS", 2_000)
    profile = ops.drift.reference("m")
    rng = np.random.default_rng(5)
    clean, flipped = rows(rng, 20_000, 0.9), rows(rng, 20_000, -0.9)
    first = multivariate.check_multivariate(profile, clean, "reconstruction")[0]
    assert first.n_current == 2_000 and not first.drifted
    # the same rows every time: a frame always gets the same answer
    assert multivariate.check_multivariate(profile, clean, "reconstruction") == (first,)
    # which are a sample of the whole frame, not its first rows: a shift in its last
    # tenth is seen
    tail = {c: np.concatenate((v[:18_000], flipped[c][18_000:])) for c, v in clean.items()}
    whole = multivariate.check_multivariate(profile, tail, "reconstruction")[0]
    assert whole.statistic != first.statistic
    monkeypatch.setattr(multivariate, "CURRENT_ROWS", 10**9)
    every = multivariate.check_multivariate(profile, clean, "reconstruction")[0]
    assert every.n_current == 20_000
    # the sample's mean error estimates every row's: within the sample's standard error
    assert abs(first.statistic - every.statistic) < 4 * (first.upper - first.expected) / 3


def test_replayed_reference_rows_are_not_drift():
    # Each current row that is a reference row was seen by one of the two PCA fits, which
    # reconstructs it too well: replaying a 17-column reference 25 times was "drifted" at
    # z = -3.9, fresh rows of the same distribution were not.
    from modelops.drift.multivariate import reconstruction

    def draw(rng, n):
        out = {f"u{i}": rng.uniform(0, 1, n).round(2) for i in range(10)}
        out.update({f"l{i}": rng.lognormal(4, 1, n).round(2) for i in range(5)})
        out.update(k1=rng.integers(1, 12, n).astype(float),
                   k2=rng.integers(18, 90, n).astype(float))
        return out

    rng = np.random.default_rng(0)
    reference = draw(rng, 4096)
    replayed = reconstruction(reference, {c: np.tile(v, 25) for c, v in reference.items()},
                              None)
    assert not replayed.drifted
    assert replayed.statistic == pytest.approx(replayed.expected, rel=1e-3)
    assert not reconstruction(reference, draw(rng, 100_000), None).drifted
    # a shift among replayed rows is still seen: a third of the rows new, their two
    # correlated columns flipped
    reference = {c: v for c, v in rows(rng, 5_000, 0.9).items() if c != "city"}
    flipped = rows(rng, 5_000, -0.9)
    mixed = {c: np.concatenate((v, v, flipped[c])) for c, v in reference.items()}
    assert reconstruction(reference, mixed, None).drifted


def test_delong_matches_sklearn_and_the_bootstrap():
    rng = np.random.default_rng(3)
    y = rng.random(600) < 0.4
    s = rng.normal(0, 1, 600) + 0.8 * y
    auc, se = delong_auc(s, y)
    assert math.isclose(auc, roc_auc_score(y, s))
    boot = []
    for _ in range(400):
        i = rng.integers(0, 600, 600)
        boot.append(roc_auc_score(y[i], s[i]))
    assert se == pytest.approx(np.std(boot), rel=0.15)
    # under no difference the z of DeLong's test is standard normal
    zs = []
    for _ in range(300):
        yy = rng.random(400) < 0.5
        a, e = delong_auc(rng.normal(0, 1, 400), yy)
        zs.append((a - 0.5) / e)
    assert stats.kstest(zs, "norm").pvalue > 0.01


def test_the_row_sample_and_the_results_survive_storage(ops):
    profile = ops.drift.reference("m")
    assert profile.sample_rows == 5000 and set(profile.sample) == {"a", "b", "n0", "n1",
                                                                    "n2", "city"}
    back = profile_from_data(json.loads(json.dumps(profile_to_data(profile))))
    assert list(back.sample["city"]) == list(profile.sample["city"])
    assert np.array_equal(back.sample["a"], profile.sample["a"])
    assert not back.sample["a"].flags.writeable           # a frozen value's arrays too
    data = profile_to_data(profile)
    data["sample"]["city"]["codes"] = "not base64!"
    with pytest.raises(InvalidInput, match="base64"):
        profile_from_data(data)
    report = ops.drift.check("m", rows(np.random.default_rng(4), 300, -0.5),
                             multivariate="reconstruction")
    again = report_from_dict(json.loads(report_to_json(report)))
    assert again.multivariate == report.multivariate
    stored = ops.drift.report("m", report.report_id)
    assert stored.multivariate[0].explanation == report.multivariate[0].explanation


def test_missing_values_and_large_references():
    rng = np.random.default_rng(5)
    ops = modelops.connect("memory://")
    big = rows(rng, 20_000, 0.9)
    big["a"][::7] = np.nan
    big["city"] = big["city"].astype(object)
    big["city"][::11] = None
    profile = ops.drift.fit_reference("big", big)
    assert profile.sample_rows == 5000
    stored = ops.drift.reference("big")
    assert np.array_equal(stored.sample["a"], profile.sample["a"], equal_nan=True)
    assert list(stored.sample["city"]) == list(profile.sample["city"])
    assert None in list(stored.sample["city"])
    frame = rows(rng, 400, 0.9)
    frame["a"][::5] = np.nan
    found = ops.drift.check("big", frame, multivariate="reconstruction", save=False)
    assert not found.multivariate[0].drifted


def test_unknown_methods_and_profiles_without_rows(ops):
    with pytest.raises(InvalidInput, match="unknown multivariate method"):
        ops.drift.check("m", rows(np.random.default_rng(6), 100, 0.9), multivariate="pca",
                        save=False)
    import attrs

    old = ops.drift.save_reference(attrs.evolve(ops.drift.reference("m"), name="old",
                                                sample=None))
    with pytest.raises(InvalidInput, match="fit it again"):
        ops.drift.check(old.name, rows(np.random.default_rng(6), 100, 0.9),
                        multivariate=True, save=False)


def test_a_plugin_adds_a_multivariate_method(ops):
    def mean_norm(reference, current, threshold):
        ref = np.column_stack([reference[c] for c in ("a", "b")])
        cur = np.column_stack([current[c] for c in ("a", "b")])
        value = float(np.linalg.norm(cur.mean(axis=0) - ref.mean(axis=0)))
        return MultivariateDrift(method="mean_norm", statistic=value, drifted=value > 0.5,
                                 threshold=0.5, columns=("a", "b"))

    class Plugin:
        @modelops.hookimpl
        def modelops_drift_methods(self):
            return [MultivariateMethod("mean_norm", mean_norm)]

    plugin = Plugin()
    plugins.plugin_manager().register(plugin)
    try:
        assert "mean_norm" in methods.multivariate_table()
        frame = rows(np.random.default_rng(7), 300, 0.9)
        frame["a"] = frame["a"] + 1
        report = ops.drift.check("m", frame, multivariate=["mean_norm"], save=False)
        assert report.multivariate[0].method == "mean_norm" and report.multivariate_drifted
    finally:
        plugins.plugin_manager().unregister(plugin)
