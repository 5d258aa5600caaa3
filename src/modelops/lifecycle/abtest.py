"""The statistics of a champion/challenger comparison: tests and sample sizes.

- Accuracy (a share of correct predictions) is compared with the two-proportion z-test with a
  pooled variance — the same p-value as Pearson's chi-square test of the 2×2 table without
  Yates' correction — and with Fisher's exact test when an expected cell count is below 5,
  where the normal approximation is poor.
- Per-prediction losses (absolute or squared error) are compared with Welch's t-test, which
  does not assume equal variances.
- The sample size still needed is the textbook normal-approximation formula (Fleiss, Levin &
  Paik, *Statistical Methods for Rates and Proportions*, §4.2, without continuity
  correction; for means, the same with the Welch variances), for unequal group sizes.

Each test is checked against scipy in the test suite; the sample sizes against simulation.
"""

from __future__ import annotations

import math

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
        same = float(a.mean()) == float(b.mean())
        return Significance(test="Welch's t-test", statistic=0.0 if same else math.copysign(
            math.inf, float(b.mean() - a.mean())), pvalue=1.0 if same else 0.0)
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
