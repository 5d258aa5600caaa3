"""Drift statistics against scipy and against textbook values, never against themselves."""

from __future__ import annotations

import itertools
import math
import warnings

import attrs
import numpy as np
import pytest
import scipy.stats as sps
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.spatial.distance import jensenshannon

from modelops.drift import stats
from modelops.drift.stats import StatResult
from modelops.errors import InvalidInput

PROPERTY = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


def close(ours, theirs):
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


# --------------------------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------------------------

_CONTINUOUS = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, allow_subnormal=False)
_TIED = st.integers(-3, 3).map(float)


@st.composite
def samples(draw, min_size=1):
    """A float sample of 1-300 values: continuous, heavily tied, or a mix of both."""
    elements = draw(st.sampled_from([_CONTINUOUS, _TIED, st.one_of(_TIED, _CONTINUOUS)]))
    arr = draw(hnp.arrays(np.float64, st.integers(min_size, 300), elements=elements))
    return arr + draw(st.sampled_from([0.0, 0.0, 0.25, 1.0, 3.0]))


@st.composite
def pairs(draw, min_size=1):
    """(reference, current); half the time current resamples reference (ties across both)."""
    ref = draw(samples(min_size))
    if draw(st.booleans()):
        return ref, draw(samples(min_size))
    idx = draw(hnp.arrays(np.intp, st.integers(min_size, 300),
                          elements=st.integers(0, ref.size - 1)))
    return ref, ref[idx]


@st.composite
def count_pairs(draw):
    k = draw(st.integers(1, 12))
    counts = hnp.arrays(np.int64, k, elements=st.integers(0, 500))
    ref, cur = draw(counts), draw(counts)
    assume(ref.sum() > 0 and cur.sum() > 0)
    return ref, cur


binary = hnp.arrays(np.int64, st.integers(1, 300), elements=st.integers(0, 1))


def documented_bins(ref, cur, bins):
    """The module doc's binning rule, spelled out with comparisons instead of a search."""
    if ref.min() == ref.max():
        c = ref[0]
        return ([np.sum(x < c), np.sum(x == c), np.sum(x > c)] for x in (ref, cur))
    cuts = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1]))

    def count(x):
        inner = [np.sum((x > lo) & (x <= hi)) for lo, hi in itertools.pairwise(cuts)]
        return [np.sum(x <= cuts[0]), *inner, np.sum(x > cuts[-1])]

    return count(ref), count(cur)


def scipy_anderson(a, b):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            res = sps.anderson_ksamp([a, b], variant="midrank")
        except TypeError:  # scipy < 1.17: midrank is the default
            res = sps.anderson_ksamp([a, b])
    pvalue = getattr(res, "pvalue", None)
    return res.statistic, res.significance_level if pvalue is None else pvalue


# --------------------------------------------------------------------------------------------
# Agreement with scipy
# --------------------------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore:ks_2samp. Exact calculation unsuccessful")
@PROPERTY
@given(pairs())
def test_ks_matches_scipy(pair):
    ref, cur = pair
    ours = stats.ks(ref, cur)
    theirs = sps.ks_2samp(ref, cur)
    close(ours.statistic, theirs.statistic)
    close(ours.pvalue, theirs.pvalue)
    assert ours.drifted == (theirs.pvalue < 0.05)


@pytest.mark.filterwarnings("ignore:ks_2samp. Exact calculation unsuccessful")
def test_ks_falls_back_to_asymptotic_where_scipy_does():
    # n1 == n2 == 5, D = 1/5: the exact sum rounds to 1.0000000000000002, which scipy refuses
    # in favour of the asymptotic p-value.
    ref, cur = [0.0, 1.0, 2.0, 3.0, 4.0], [0.0, 1.0, 2.0, 3.0, 4.5]
    ours, theirs = stats.ks(ref, cur), sps.ks_2samp(ref, cur)
    close(ours.statistic, theirs.statistic)
    close(ours.pvalue, theirs.pvalue)


@pytest.mark.parametrize(("n1", "n2", "shift"), [
    (3000, 7000, 0.05),     # exact, unequal sizes
    (10000, 9999, 0.3),     # exact, unequal, tiny p-value
    (4000, 4000, 0.02),     # exact, equal sizes
    (10001, 20, 0.5),       # asymptotic
])
def test_ks_matches_scipy_at_larger_sizes(n1, n2, shift):
    rng = np.random.default_rng(n1 + n2)
    ref, cur = rng.normal(size=n1), rng.normal(shift, size=n2)
    ours, theirs = stats.ks(ref, cur), sps.ks_2samp(ref, cur)
    close(ours.statistic, theirs.statistic)
    close(ours.pvalue, theirs.pvalue)


@PROPERTY
@given(pairs())
def test_wasserstein_matches_scipy_normalised_by_reference_std(pair):
    ref, cur = pair
    # A constant reference is a documented special case (np.std of a constant array may round
    # to a tiny positive number, so test constancy exactly).
    assume(ref.min() != ref.max() and np.std(ref) > 0)
    expected = sps.wasserstein_distance(ref, cur) / np.std(ref)
    result = stats.wasserstein(ref, cur)
    close(result.statistic, expected)
    assert result.pvalue is None and result.drifted == (expected >= 0.1)


def test_wasserstein_constant_reference():
    ref = np.full(40, 2.5)
    assert stats.wasserstein(ref, np.full(7, 2.5)).statistic == 0.0
    rounded = np.full(9, 114.01906713)       # np.std(rounded) is 1.4e-14, not 0
    close(stats.wasserstein(rounded, [0.0]).statistic,
          sps.wasserstein_distance(rounded, [0.0]) / np.std(np.r_[rounded, 0.0]))
    cur = np.r_[np.full(30, 2.5), np.linspace(3, 9, 30)]
    expected = sps.wasserstein_distance(ref, cur) / np.std(np.r_[ref, cur])
    result = stats.wasserstein(ref, cur)
    close(result.statistic, expected)
    assert result.drifted


@PROPERTY
@given(pairs())
def test_energy_matches_scipy(pair):
    ref, cur = pair
    result = stats.energy(ref, cur, threshold=0.5)
    expected = sps.energy_distance(ref, cur)
    close(result.statistic, expected)
    assert result.drifted == (expected >= 0.5)


@PROPERTY
@given(pairs(min_size=2))
def test_anderson_darling_matches_scipy(pair):
    ref, cur = pair
    assume(np.unique(np.r_[ref, cur]).size >= 2)
    statistic, pvalue = scipy_anderson(ref, cur)
    result = stats.anderson_darling(ref, cur)
    close(result.statistic, statistic)
    close(result.pvalue, pvalue)
    assert 0.001 <= result.pvalue <= 0.25


@PROPERTY
@given(count_pairs())
def test_chi2_matches_scipy_without_correction(pair):
    ref, cur = pair
    table = np.array([ref, cur])
    table = table[:, table.sum(axis=0) > 0]
    theirs = sps.chi2_contingency(table, correction=False)
    ours = stats.chi2(ref, cur)
    close(ours.statistic, theirs.statistic)
    close(ours.pvalue, theirs.pvalue)


def test_chi2_drops_categories_absent_from_both_and_never_corrects():
    ours = stats.chi2([30, 0, 10], [12, 0, 25])
    theirs = sps.chi2_contingency([[30, 10], [12, 25]], correction=False)
    corrected = sps.chi2_contingency([[30, 10], [12, 25]])
    close(ours.statistic, theirs.statistic)
    close(ours.pvalue, theirs.pvalue)
    assert ours.statistic != corrected.statistic


@PROPERTY
@given(count_pairs())
def test_jensen_shannon_from_counts_matches_scipy(pair):
    ref, cur = pair
    close(stats.jensen_shannon_from_counts(ref, cur).statistic,
          jensenshannon(ref, cur, base=2))


@PROPERTY
@given(pairs(), st.integers(2, 20))
def test_binned_distances_match_scipy_and_formulas_on_documented_bins(pair, bins):
    ref, cur = pair
    ref_counts, cur_counts = (np.asarray(c, dtype=float) for c in documented_bins(ref, cur, bins))
    p, q = ref_counts / ref_counts.sum(), cur_counts / cur_counts.sum()
    close(stats.jensen_shannon(ref, cur, bins=bins).statistic,
          jensenshannon(ref_counts, cur_counts, base=2))
    close(stats.tvd_binned(ref, cur, bins=bins).statistic, 0.5 * np.abs(p - q).sum())
    h = stats.hellinger(ref, cur, bins=bins).statistic
    np.testing.assert_allclose(h**2, 1.0 - np.sqrt(p * q).sum(), rtol=0, atol=1e-12)
    e, a = np.where(p == 0, 1e-4, p), np.where(q == 0, 1e-4, q)
    close(stats.psi(ref, cur, bins=bins).statistic, np.sum((a - e) * np.log(a / e)))


@PROPERTY
@given(binary, binary)
def test_z_proportion_squared_is_uncorrected_chi2(ref, cur):
    table = np.array([[ref.sum(), ref.size - ref.sum()], [cur.sum(), cur.size - cur.sum()]])
    assume((table.sum(axis=0) > 0).all())
    theirs = sps.chi2_contingency(table, correction=False)
    ours = stats.z_proportion(ref, cur)
    close(ours.statistic**2, theirs.statistic)
    close(ours.pvalue, theirs.pvalue)


# --------------------------------------------------------------------------------------------
# Textbook and hand-computed values
# --------------------------------------------------------------------------------------------

# The system stability report of credit-scorecard practice (as reproduced from Siddiqi,
# "Credit Risk Scorecards", Wiley 2006): ten score ranges (0-169, 170-179, ..., 250+), actual %
# and expected %, published index 0.0533. The test also recomputes it term by term.
SIDDIQI_ACTUAL = [7, 8, 7, 9, 11, 11, 10, 12, 11, 14]
SIDDIQI_EXPECTED = [8, 10, 9, 13, 11, 10, 9, 10, 11, 9]


def test_psi_textbook_credit_score_example():
    result = stats.psi_from_counts(SIDDIQI_EXPECTED, SIDDIQI_ACTUAL)
    by_hand = sum((a / 100 - e / 100) * math.log(a / e)
                  for a, e in zip(SIDDIQI_ACTUAL, SIDDIQI_EXPECTED))
    assert round(result.statistic, 4) == 0.0533
    close(result.statistic, by_hand)
    assert result.kind == "distance" and result.pvalue is None and not result.drifted


def test_psi_closed_form_two_bins():
    # (0.25 - 0.5) ln(0.25/0.5) + (0.75 - 0.5) ln(0.75/0.5) = 0.25 (ln 2 + ln 1.5) = 0.25 ln 3
    close(stats.psi_from_counts([50, 50], [25, 75]).statistic, 0.25 * math.log(3))


def test_psi_empty_bins_use_epsilon_and_reference_deciles():
    ref = np.arange(1.0, 101.0)          # interior deciles 10.9, 20.8, ...: ten bins of 10
    cur = np.repeat(np.arange(51.0, 101.0), 2)   # nothing in the lower five bins
    e = np.full(10, 0.1)
    a = np.array([1e-4] * 5 + [0.2] * 5)
    result = stats.psi(ref, cur)
    close(result.statistic, np.sum((a - e) * np.log(a / e)))
    assert result.drifted
    close(stats.psi_from_counts([1, 0, 1], [1, 0, 1]).statistic, 0.0)


def test_jensen_shannon_hand_computed():
    # Disjoint supports: divergence 1 bit, distance 1.
    close(stats.jensen_shannon_from_counts([1, 0], [0, 1]).statistic, 1.0)
    # p = (1/2, 1/2), q = (1, 0), m = (3/4, 1/4):
    # KL(p||m) = 1/2 log2(2/3) + 1/2 log2(2), KL(q||m) = log2(4/3).
    jsd = 0.5 * ((0.5 * math.log2(2 / 3) + 0.5) + math.log2(4 / 3))
    close(stats.jensen_shannon_from_counts([5, 5], [3, 0]).statistic, math.sqrt(jsd))
    close(math.sqrt(jsd), 0.5579230452)


def test_hellinger_hand_computed():
    # BC((1/2, 1/2), (1, 0)) = sqrt(1/2): H = sqrt(1 - 0.70710678...) = 0.5411961...
    close(stats.hellinger_from_counts([1, 1], [4, 0]).statistic, math.sqrt(1 - math.sqrt(0.5)))
    close(stats.hellinger_from_counts([1, 1], [4, 0]).statistic, 0.5411961001)
    close(stats.hellinger_from_counts([2, 0], [0, 9]).statistic, 1.0)
    # p = (.36, .64), q = (.64, .36): BC = 2 * .6 * .8 = .96, H = sqrt(.04) = .2
    result = stats.hellinger_from_counts([36, 64], [64, 36], threshold=0.2)
    close(result.statistic, 0.2)
    assert result.drifted


@PROPERTY
@given(count_pairs())
def test_hellinger_squared_is_one_minus_bhattacharyya(pair):
    ref, cur = pair
    p, q = ref / ref.sum(), cur / cur.sum()
    h = stats.hellinger_from_counts(ref, cur).statistic
    np.testing.assert_allclose(h**2, 1.0 - np.sum(np.sqrt(p * q)), rtol=0, atol=1e-12)
    assert 0.0 <= h <= 1.0


def test_tvd_hand_computed():
    close(stats.tvd([5, 3, 2], [2, 3, 5]).statistic, 0.3)   # (0.3 + 0 + 0.3) / 2
    close(stats.tvd([1, 0], [0, 7]).statistic, 1.0)
    result = stats.tvd([50, 50], [45, 55], threshold=0.05)
    close(result.statistic, 0.05)
    assert result.drifted


def test_z_proportion_textbook_examples():
    # 400 men (200 in favour) and 600 women (325 in favour): z = 1.292611
    men = np.r_[np.ones(200), np.zeros(200)]
    women = np.r_[np.ones(325), np.zeros(275)]
    result = stats.z_proportion(men, women)
    assert round(result.statistic, 6) == 1.292611        # current minus reference
    close(result.pvalue, 2 * sps.norm.sf(abs(result.statistic)))
    assert not result.drifted
    # Two samples of 200 with proportions .70 and .75: z = -1.12
    a = np.r_[np.ones(140), np.zeros(60)].astype(bool)
    b = np.r_[np.ones(150), np.zeros(50)].astype(bool)
    assert round(stats.z_proportion(b, a).statistic, 2) == -1.12
    # By the formula: pooled p = .725
    se = math.sqrt(0.725 * 0.275 * (1 / 200 + 1 / 200))
    close(stats.z_proportion(b, a).statistic, (0.70 - 0.75) / se)


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------

NUMERIC = [stats.ks, stats.wasserstein, stats.psi, stats.jensen_shannon, stats.hellinger,
           stats.tvd_binned, stats.anderson_darling, stats.energy, stats.z_proportion]
COUNTS = [(stats.psi_from_counts, "expected_counts", "actual_counts"),
          (stats.jensen_shannon_from_counts, "reference_counts", "current_counts"),
          (stats.hellinger_from_counts, "reference_counts", "current_counts"),
          (stats.tvd, "reference_counts", "current_counts"),
          (stats.chi2, "reference_counts", "current_counts")]
GOOD = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.0])

BAD_VALUES = {
    "empty": [],
    "all NaN": [np.nan, np.nan],
    "inf": [0.0, 1.0, np.inf],
    "-inf": [0.0, -np.inf, 1.0],
    "2-D": [[0.0, 1.0], [1.0, 0.0]],
    "0-D": 1.0,
    "strings": ["a", "b", "c"],
    "string": "0101",
    "object strings": np.array(["a", 1.0], dtype=object),
    "complex": np.array([1 + 1j, 0j]),
}


@pytest.mark.parametrize("func", NUMERIC, ids=lambda f: f.__name__)
@pytest.mark.parametrize("case", sorted(BAD_VALUES))
@pytest.mark.parametrize("argument", ["reference", "current"])
def test_bad_values_name_the_argument(func, case, argument):
    args = {"reference": GOOD, "current": GOOD, argument: BAD_VALUES[case]}
    with pytest.raises(InvalidInput) as info:
        func(**args)
    assert info.value.field == argument


@pytest.mark.parametrize("func", NUMERIC + [c[0] for c in COUNTS], ids=lambda f: f.__name__)
@pytest.mark.parametrize("threshold", [-0.01, math.nan, math.inf, "0.1", None, True])
def test_bad_threshold(func, threshold):
    names = list(func.__code__.co_varnames[:2])
    args = dict(zip(names, (GOOD, GOOD) if func in NUMERIC else ([1, 2], [2, 1])))
    with pytest.raises(InvalidInput) as info:
        func(**args, threshold=threshold)
    assert info.value.field == "threshold"


@pytest.mark.parametrize("func", [stats.ks, stats.chi2, stats.z_proportion,
                                  stats.anderson_darling], ids=lambda f: f.__name__)
def test_alpha_above_one_is_refused(func):
    args = ([1, 2], [2, 1]) if func is stats.chi2 else (GOOD, GOOD)
    with pytest.raises(InvalidInput, match="threshold"):
        func(*args, threshold=1.5)


@pytest.mark.parametrize("func", [stats.psi, stats.jensen_shannon, stats.hellinger,
                                  stats.tvd_binned], ids=lambda f: f.__name__)
@pytest.mark.parametrize("bins", [0, 1, -3, 2.5, "10", True, None])
def test_bad_bins(func, bins):
    with pytest.raises(InvalidInput) as info:
        func(GOOD, GOOD, bins=bins)
    assert info.value.field == "bins"


@pytest.mark.parametrize(("func", "first", "second"), COUNTS,
                         ids=lambda c: getattr(c, "__name__", c))
@pytest.mark.parametrize(("case", "bad_first", "bad_second"), [
    ("negative", [1, -1, 2], None),
    ("NaN", [1, np.nan, 2], None),
    ("inf", None, [1, np.inf, 2]),
    ("all zero", [0, 0, 0], None),
    ("all zero current", None, [0, 0, 0]),
    ("length mismatch", None, [1, 2]),
    ("empty", [], None),
    ("2-D", [[1, 2, 3]], None),
    ("strings", ["a", "b", "c"], None),
])
def test_bad_counts_name_the_argument(func, first, second, case, bad_first, bad_second):
    with pytest.raises(InvalidInput) as info:
        func(bad_first if bad_first is not None else [1, 2, 3],
             bad_second if bad_second is not None else [3, 2, 1])
    assert info.value.field == (first if bad_first is not None else second)


def test_chi2_wants_whole_counts():
    with pytest.raises(InvalidInput) as info:
        stats.chi2([0.5, 0.5], [1, 1])
    assert info.value.field == "reference_counts"


def test_z_proportion_wants_binary_values():
    with pytest.raises(InvalidInput) as info:
        stats.z_proportion([0, 1, 1], [0, 2, 1])
    assert info.value.field == "current"


def test_anderson_darling_needs_four_values():
    with pytest.raises(InvalidInput) as info:
        stats.anderson_darling([1.0], [2.0, 3.0])
    assert info.value.field == "reference"


# --------------------------------------------------------------------------------------------
# NaN, constants, identical samples
# --------------------------------------------------------------------------------------------

def test_nan_values_are_dropped_first():
    rng = np.random.default_rng(7)
    ref, cur = rng.normal(size=200), rng.normal(0.3, size=150)
    ref_nan = np.insert(ref, [0, 50, 200], np.nan)
    cur_nan = np.insert(cur, [10, 10], np.nan)
    theirs = sps.ks_2samp(ref, cur)
    ours = stats.ks(ref_nan, cur_nan)
    close(ours.statistic, theirs.statistic)
    close(ours.pvalue, theirs.pvalue)
    close(stats.energy(ref_nan, cur_nan).statistic, sps.energy_distance(ref, cur))
    assert stats.z_proportion([1, 0, np.nan], [1.0, 1.0]) == stats.z_proportion([1, 0], [1, 1])


@pytest.mark.parametrize("func", NUMERIC, ids=lambda f: f.__name__)
@pytest.mark.parametrize("value", [0.0, 1.0])
def test_constant_identical_columns_are_defined_and_not_drifted(func, value):
    for ref, cur in [(np.full(50, value), np.full(50, value)),
                     (np.full(3, value), np.full(1, value)),
                     (np.full(1, value), np.full(1, value))]:
        result = func(ref, cur)
        assert math.isfinite(result.statistic)
        assert not result.drifted
        assert result.pvalue is None or result.pvalue >= 0.25


@pytest.mark.parametrize("func", NUMERIC, ids=lambda f: f.__name__)
def test_constant_reference_against_another_constant_drifts(func):
    result = func(np.zeros(50), np.ones(50))
    assert math.isfinite(result.statistic)
    assert result.drifted


@pytest.mark.parametrize("func", NUMERIC, ids=lambda f: f.__name__)
def test_identical_samples_are_not_drifted(func):
    sample = np.random.default_rng(3).integers(0, 2, 500).astype(float)
    result = func(sample, sample.copy())
    assert not result.drifted
    if result.kind == "distance":
        assert result.statistic == 0.0


@pytest.mark.parametrize(("func", "_first", "_second"), COUNTS,
                         ids=lambda c: getattr(c, "__name__", c))
def test_identical_counts_are_not_drifted(func, _first, _second):
    for counts in ([10, 0, 5], [7]):
        result = func(counts, counts)
        assert result.statistic == 0.0
        assert not result.drifted


def test_inputs_may_be_lists_ints_and_bools():
    ref, cur = [1, 2, 3, 4, 5, 6], [True, False, True, True, False, True]
    theirs = sps.ks_2samp(np.array(ref, float), np.array(cur, float))
    close(stats.ks(ref, cur).pvalue, theirs.pvalue)
    close(stats.ks(np.array(ref, dtype=np.int8), cur).statistic, theirs.statistic)


# --------------------------------------------------------------------------------------------
# Result type and registry
# --------------------------------------------------------------------------------------------

def test_stat_result_is_a_frozen_value_with_a_kind():
    result = stats.ks([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert result.kind == "test" and result.method == "ks" and result.threshold == 0.05
    assert stats.tvd([1, 2], [2, 1]).kind == "distance"
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        result.statistic = 0.5  # type: ignore[misc]
    with pytest.raises(TypeError):
        StatResult("ks", 0.1, 0.5, 0.05, False)  # type: ignore[misc]  # kw_only
    with pytest.raises(InvalidInput):
        StatResult(method="", statistic=0.1, pvalue=None, threshold=0.1, drifted=False)
    with pytest.raises(InvalidInput):
        StatResult(method="ks", statistic=math.nan, pvalue=0.5, threshold=0.1, drifted=False)


def test_methods_registry_names_every_method():
    assert set(stats.METHODS) == {"ks", "wasserstein", "psi", "jensen_shannon", "hellinger",
                                  "chi2", "z_proportion", "tvd", "anderson_darling", "energy"}
    for name, func in stats.METHODS.items():
        args = ([3, 1, 2], [1, 2, 2]) if name in ("chi2", "tvd") else (GOOD, GOOD[::-1])
        assert func(*args).method == name
    for name, func in stats.COUNT_METHODS.items():
        assert func([3, 1, 2], [1, 2, 2]).method == name


# --------------------------------------------------------------------------------------------
# Large samples
# --------------------------------------------------------------------------------------------

def test_million_value_columns():
    rng = np.random.default_rng(2024)
    ref = rng.normal(size=1_000_000)
    cur = rng.normal(0.1, size=1_000_000)    # a 0.1-standard-deviation shift
    ours, theirs = stats.ks(ref, cur), sps.ks_2samp(ref, cur)
    assert ours.pvalue < 1e-10 and ours.drifted
    close(ours.statistic, theirs.statistic)
    close(ours.pvalue, theirs.pvalue)
    for func in NUMERIC[1:-1]:
        assert math.isfinite(func(ref, cur).statistic)
    same = stats.psi(ref, rng.normal(size=1_000_000))
    assert same.statistic < 0.001 and not same.drifted
