"""The statistics of a champion/challenger comparison: tests and sample sizes.

Each metric is compared with the test that fits it, closed-form where one exists:

- Shares of predictions — accuracy (over all predictions), precision (over the predicted
  positives), recall (over the actual positives) — with the two-proportion z-test with a
  pooled variance (the p-value of Pearson's chi-square on the 2×2 table without Yates'
  correction), and Fisher's exact test when an expected cell count is below 5, where the
  normal approximation is poor.
- Means of per-prediction losses — absolute error (mae), squared error (mse), log loss —
  with Welch's t-test, which does not assume equal variances.
- ROC AUC with DeLong's test for two independent areas (DeLong, DeLong & Clarke-Pearson,
  Biometrics 44, 1988): each area's variance from its placement values.
- Every other metric — F1, a plugin's metric, any callable ``metric(y_true, y_pred[,
  score])`` — with a permutation test of the difference (``scipy.stats.permutation_test``,
  the predictions reassigned between the two versions, seeded).

The sample size still needed is the textbook normal-approximation formula (Fleiss, Levin &
Paik, *Statistical Methods for Rates and Proportions*, §4.2, without continuity correction;
for means, the same with the Welch variances), for unequal group sizes. For a metric with no
such formula, the same formula takes each group's variance per prediction from its
bootstrap standard error (``scipy.stats.bootstrap``, seeded): n · SE(n)² is nearly constant
in n for a metric that averages over predictions.

Each test is checked against scipy or textbook values in the test suite; the sample sizes
against simulation.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import attrs
import numpy as np

#: Expected cell counts below this make the comparison of proportions use Fisher's test.
MIN_EXPECTED = 5.0


@attrs.frozen(kw_only=True)
class Significance:
    """A test's name, statistic (z, t, or Fisher's odds ratio) and two-sided p-value."""

    test: str
    statistic: float
    pvalue: float


def two_proportions(x1: int, n1: int, x2: int, n2: int) -> Significance:
    """Is the share ``x2/n2`` different from ``x1/n1``? Two-sided; the statistic is
    positive when the second is higher."""
    from scipy import stats

    if n1 < 1 or n2 < 1:
        raise ValueError("both groups need at least one observation")
    pooled = (x1 + x2) / (n1 + n2)
    expected = (n1 * pooled, n1 * (1 - pooled), n2 * pooled, n2 * (1 - pooled))
    if min(expected) < MIN_EXPECTED:
        table = [[x2, n2 - x2], [x1, n1 - x1]]
        odds, p = stats.fisher_exact(table, alternative="two-sided")
        return Significance(test="Fisher's exact test", statistic=float(odds), pvalue=float(p))
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = (x2 / n2 - x1 / n1) / se
    return Significance(test="two-proportion z-test", statistic=z,
                      pvalue=float(2 * stats.norm.sf(abs(z))))


def welch(a: np.ndarray, b: np.ndarray) -> Significance:
    """Is the mean of ``b`` different from the mean of ``a``? Welch's t-test, two-sided; the
    statistic is positive when ``b``'s mean is higher."""
    from scipy import stats

    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if len(a) < 2 or len(b) < 2:
        raise ValueError("both groups need at least two observations")
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se2 = va + vb
    if se2 == 0:
        # Each group one value: no spread for t to measure the difference by (it would be
        # infinite from two rows a side). The exact permutation test's p-value instead, two-
        # sided as scipy's (twice the one-sided): of the C(n_a + n_b, n_a) splits of the
        # rows only the observed one is as extreme — 1/3 for two rows a side, 0.008 for five.
        diff = float(b.mean() - a.mean())
        if diff == 0:
            return Significance(test="Welch's t-test", statistic=0.0, pvalue=1.0)
        return Significance(test="exact permutation test (no spread within either group)",
                            statistic=diff,
                            pvalue=min(1.0, 2 / math.comb(len(a) + len(b), len(a))))
    t = float((b.mean() - a.mean()) / math.sqrt(se2))
    df = se2 ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    return Significance(test="Welch's t-test", statistic=t,
                        pvalue=float(2 * stats.t.sf(abs(t), df)))


def _z(alpha: float, power: float) -> tuple[float, float]:
    from scipy import stats

    return float(stats.norm.isf(alpha / 2)), float(stats.norm.ppf(power))


def n_for_proportions(p1: float, p2: float, *, alpha: float = 0.05, power: float = 0.8,
                      ratio: float = 1.0) -> float:
    """Observations needed in the second group (the first gets ``ratio`` times as many) for
    a two-sided test at ``alpha`` to detect ``p2 - p1`` with probability ``power``;
    ``inf`` when the two are equal."""
    delta = abs(p2 - p1)
    if delta == 0:
        return math.inf
    za, zb = _z(alpha, power)
    pbar = (ratio * p1 + p2) / (ratio + 1)
    null = za * math.sqrt(pbar * (1 - pbar) * (1 + 1 / ratio))
    alt = zb * math.sqrt(p1 * (1 - p1) / ratio + p2 * (1 - p2))
    return ((null + alt) / delta) ** 2


def n_for_means(delta: float, sd1: float, sd2: float, *, alpha: float = 0.05,
                power: float = 0.8, ratio: float = 1.0) -> float:
    """Observations needed in the second group (the first gets ``ratio`` times as many) for
    a two-sided test at ``alpha`` to detect a difference of means ``delta`` with probability
    ``power``, given the groups' standard deviations; ``inf`` when ``delta`` is 0."""
    if delta == 0:
        return math.inf
    za, zb = _z(alpha, power)
    return (za + zb) ** 2 * (sd1 ** 2 / ratio + sd2 ** 2) / delta ** 2


def delong(positive_a: np.ndarray, scores_a: np.ndarray, positive_b: np.ndarray,
           scores_b: np.ndarray) -> tuple[Significance, float, float]:
    """Is the ROC AUC of ``b`` different from that of ``a`` (independent samples)? DeLong's
    z-test, two-sided, positive when ``b``'s is higher; also each area's variance."""
    from scipy import stats

    auc_a, var_a = _auc_variance(positive_a, scores_a)
    auc_b, var_b = _auc_variance(positive_b, scores_b)
    se = math.sqrt(var_a + var_b)
    if se == 0:
        # Every placement alike on both sides (each side's classes apart, or all tied): no
        # variance to judge a difference by, however few the rows — no p-value.
        same = auc_a == auc_b
        return (Significance(test="DeLong's test" if same else
                             "DeLong's test (no variance on either side)",
                             statistic=0.0 if same else auc_b - auc_a,
                             pvalue=1.0 if same else math.nan), var_a, var_b)
    z = (auc_b - auc_a) / se
    return (Significance(test="DeLong's test", statistic=z,
                         pvalue=float(2 * stats.norm.sf(abs(z)))), var_a, var_b)


def _auc_variance(positive: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """The area and its DeLong variance, var(V10)/m + var(V01)/n, from the placement values:
    V10 of each positive is the share of negatives it outscores (ties half), V01 of each
    negative the share of positives that outscore it."""
    from scipy.stats import rankdata

    positive = np.asarray(positive, dtype=bool)
    scores = np.asarray(scores, dtype=np.float64)
    pos, neg = scores[positive], scores[~positive]
    m, n = len(pos), len(neg)
    if m < 2 or n < 2:
        raise ValueError("needs at least two positives and two negatives")
    both = rankdata(np.concatenate((pos, neg)))
    v10 = (both[:m] - rankdata(pos)) / n          # negatives below each positive
    v01 = 1.0 - (both[m:] - rankdata(neg)) / m    # positives above each negative
    auc = float(v10.mean())
    return auc, float(v10.var(ddof=1) / m + v01.var(ddof=1) / n)


def permutation(statistic: Callable[[np.ndarray], float], n_a: int, n_b: int, *,
                resamples: int, seed: int) -> Significance:
    """Is ``statistic`` of the second group different from the first's? A two-sided
    permutation test of the difference, the rows reassigned between the groups
    (``scipy.stats.permutation_test``); ``statistic(rows)`` measures a group of row
    indices (the first group's rows are 0 .. n_a - 1, the second's n_a .. n_a + n_b - 1)."""
    from scipy import stats

    def difference(a: np.ndarray, b: np.ndarray) -> float:
        return statistic(b) - statistic(a)

    rows = np.arange(n_a + n_b)
    found = stats.permutation_test((rows[:n_a], rows[n_a:]), difference,
                                   permutation_type="independent", vectorized=False,
                                   n_resamples=resamples, alternative="two-sided",
                                   rng=np.random.default_rng(seed))
    return Significance(test=f"permutation test ({resamples:,} resamples)",
                        statistic=float(found.statistic), pvalue=float(found.pvalue))


def unit_variance(statistic: Callable[[np.ndarray], float], rows: np.ndarray, *,
                  resamples: int, seed: int) -> float:
    """The variance per observation of ``statistic`` over ``rows``: n · SE², with SE its
    bootstrap standard error (``scipy.stats.bootstrap``)."""
    from scipy import stats

    found = stats.bootstrap((rows,), statistic, vectorized=False, n_resamples=resamples,
                            method="percentile", rng=np.random.default_rng(seed))
    return float(found.standard_error) ** 2 * len(rows)
