"""Drift statistics: pure functions over numpy arrays, each returning a :class:`StatResult`.

Every function compares a *reference* sample (what the model was built on) with a *current*
sample (what it sees now) and returns one :class:`StatResult`: the statistic, a p-value where
the method is a test, the threshold the verdict used and the verdict itself.

Tests (``kind == "test"``, threshold is alpha, default 0.05):

- ``ks``: :func:`ks`
- ``chi2``: :func:`chi2` (category counts)
- ``z_proportion``: :func:`z_proportion` (0/1 values)
- ``anderson_darling``: :func:`anderson_darling`

Distances (``kind == "distance"``, threshold default 0.1):

- ``wasserstein``: :func:`wasserstein`
- ``psi``: :func:`psi`, :func:`psi_from_counts`
- ``jensen_shannon``: :func:`jensen_shannon`, :func:`jensen_shannon_from_counts`
- ``hellinger``: :func:`hellinger`, :func:`hellinger_from_counts`
- ``tvd``: :func:`tvd` (category counts), :func:`tvd_binned`
- ``energy``: :func:`energy`

A test is drifted when ``pvalue < threshold``; a distance when ``statistic >= threshold``.

Input
-----
Numeric functions take 1-D array-likes of numbers (bool, int, float). NaN values are dropped
first; ±inf, arrays that are empty after dropping NaN, arrays that are not 1-D and non-numeric
values raise :class:`~modelops.errors.InvalidInput` naming the argument (``reference``,
``current``). Count functions take 1-D arrays of non-negative finite counts, one per category,
aligned by position; NaN is refused there (a missing count is not a count). Thresholds must be
finite and ``>= 0``; an alpha must also be ``<= 1``. ``bins`` must be an integer ``>= 2``.

Choices, each matched or stated exactly
---------------------------------------
``ks``
    Two-sample Kolmogorov-Smirnov, two-sided; statistic and p-value equal
    ``scipy.stats.ks_2samp(reference, current)`` (``method="auto"``): the exact distribution
    when both samples have at most 10,000 values, where the statistic is rounded to
    ``h / lcm(n1, n2)`` as scipy does, else Smirnov's asymptotic ``kstwo.sf(D, round(n1 n2 /
    (n1 + n2)))``. The exact p-value reproduces scipy's recursions (Hodges' ``n1 == n2``
    formula; the Viehmann "1 - p" lattice-path recursion otherwise, evaluated here one
    anti-diagonal at a time with numpy, the same floating-point operations in the same order).
``wasserstein``
    ``scipy.stats.wasserstein_distance(reference, current) / np.std(reference)`` (``ddof=0``),
    the normalisation of Evidently's ``wasserstein_distance_norm``. Evidently floors the
    standard deviation at 0.001, which makes small-scale columns unit-dependent; here there is
    no floor. A constant reference has no spread to normalise by: the statistic is 0 when the
    current sample is the same constant, otherwise the raw distance divided by the standard
    deviation of the pooled samples (positive as soon as the two differ; 1 should that
    underflow to 0), so the value stays scale-free.
``psi``
    ``PSI = sum((a - e) * ln(a / e))`` over bins, ``e`` the reference (expected) proportions
    and ``a`` the current (actual) ones. Empty bins: a proportion that is exactly 0 is replaced
    by ``PSI_EPSILON = 1e-4`` before the log (no renormalisation), as Evidently does; a bin
    empty in both samples contributes 0.
``jensen_shannon``
    Jensen-Shannon *distance* (square root of the divergence), base 2, so in ``[0, 1]``;
    equals ``scipy.spatial.distance.jensenshannon(p, q, base=2)`` on the same counts. A
    divergence that rounds to a tiny negative number is clipped to 0.
``hellinger``
    ``H = sqrt(1 - sum(sqrt(p q)))`` (``1 - BC``, BC the Bhattacharyya coefficient), in
    ``[0, 1]``; computed in the equivalent, cancellation-free form
    ``sqrt(sum((sqrt(p) - sqrt(q))**2) / 2)``.
``tvd``
    Total variation distance ``sum(|p - q|) / 2``, in ``[0, 1]``.
``chi2``
    Chi-square test of homogeneity of the 2 x k table ``[reference_counts, current_counts]``;
    categories absent from both samples are dropped first. Equals
    ``scipy.stats.chi2_contingency(table, correction=False)``: no Yates correction, ever
    (scipy's default applies it when dof == 1). One category left: statistic 0, p-value 1.
``z_proportion``
    Two-proportion z-test with pooled variance,
    ``z = (p_cur - p_ref) / sqrt(p (1 - p) (1/n_ref + 1/n_cur))``, two-sided p-value
    ``2 * (1 - Phi(|z|))``. ``z**2`` equals the uncorrected chi-square statistic of the 2 x 2
    table. Both samples all 0 or all 1: z = 0, p-value 1.
``anderson_darling``
    k-sample Anderson-Darling (Scholz & Stephens), midrank version, standardised; statistic
    and p-value equal ``scipy.stats.anderson_ksamp([reference, current])``. The p-value is
    scipy's interpolation of Scholz & Stephens' table and is **capped to [0.001, 0.25]**:
    0.25 means "0.25 or more", 0.001 means "0.001 or less". No warning is emitted. It needs
    at least 4 values in all. When every value in both samples is the same there is nothing
    to rank: statistic 0, p-value 0.25.
``energy``
    ``scipy.stats.energy_distance(reference, current)``, raw (not normalised): it is in the
    data's units, so pick the threshold per column.

Binning of numeric data (``psi``, ``jensen_shannon``, ``hellinger``, ``tvd_binned``)
    The cut points are the *interior* reference quantiles
    ``np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1])`` (numpy's default linear
    interpolation), duplicates removed; the outer bins are open to -inf and +inf, and bins
    are closed on the right: ``(-inf, c1], (c1, c2], ..., (c_last, +inf)``. Ties therefore may
    leave fewer than ``bins`` bins. A constant reference (value ``c``) gets three bins:
    ``< c``, ``== c`` and ``> c``.

Performance: no Python loop runs over values. Each sample is sorted once; the pooled ECDFs come
from one stable argsort of the two sorted samples (a linear timsort merge) and a cumulative sum,
so KS, Wasserstein, energy and Anderson-Darling are O(n log n) with small constants. Binned
statistics use ``np.quantile`` (a partition) and a search among at most ``bins - 1`` cut points.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import special
from scipy import stats as _sps

from modelops.entities.drift import StatResult
from modelops.errors import InvalidInput

__all__ = [
    "COUNT_METHODS",
    "METHODS",
    "PSI_EPSILON",
    "StatResult",
    "anderson_darling",
    "chi2",
    "energy",
    "fisher_exact_from_counts",
    "hellinger",
    "hellinger_from_counts",
    "jensen_shannon",
    "jensen_shannon_from_counts",
    "ks",
    "psi",
    "psi_from_counts",
    "tvd",
    "tvd_binned",
    "wasserstein",
    "z_proportion",
]

PSI_EPSILON = 1e-4
"""Stands in for a bin proportion that is exactly 0 in :func:`psi` (before the log)."""

KS_EXACT_MAX_N = 10_000
"""As scipy's ``method="auto"``: exact KS p-values when both samples are at most this big."""

_TESTS = frozenset({"ks", "chi2", "z_proportion", "anderson_darling"})
_DISTANCES = frozenset({"wasserstein", "psi", "jensen_shannon", "hellinger", "tvd", "energy"})


def _test_result(method: str, statistic: float, pvalue: float, alpha: float) -> StatResult:
    pvalue = min(max(float(pvalue), 0.0), 1.0)
    return StatResult(method=method, statistic=statistic, pvalue=pvalue, threshold=alpha,
                      drifted=pvalue < alpha)


def _distance_result(method: str, statistic: float, threshold: float) -> StatResult:
    return StatResult(method=method, statistic=statistic, pvalue=None, threshold=threshold,
                      drifted=statistic >= threshold)


# --------------------------------------------------------------------------------------------
# Input validation
# --------------------------------------------------------------------------------------------

def _check_number(value: Any, field: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise InvalidInput(f"expected a number, got {value!r}", field=field)
    number = float(value)
    if not math.isfinite(number) or number < 0.0:
        raise InvalidInput(f"must be finite and >= 0, got {value!r}", field=field)
    return number


def _alpha(threshold: Any) -> float:
    alpha = _check_number(threshold, "threshold")
    if alpha > 1.0:
        raise InvalidInput(f"is a significance level and must be in [0, 1], got {threshold!r}",
                           field="threshold")
    return alpha


def _distance_threshold(threshold: Any) -> float:
    return _check_number(threshold, "threshold")


def _check_bins(bins: Any) -> int:
    if isinstance(bins, (bool, np.bool_)) or not isinstance(bins, (int, np.integer)):
        raise InvalidInput(f"expected an integer, got {bins!r}", field="bins")
    if bins < 2:
        raise InvalidInput(f"must be >= 2 (one bin can never show drift), got {bins!r}",
                           field="bins")
    return int(bins)


def _as_float_1d(values: Any, field: str) -> np.ndarray:
    """A 1-D float64 array of ``values``; non-numeric or not 1-D is ``InvalidInput``."""
    if isinstance(values, (str, bytes)):
        raise InvalidInput(f"expected a 1-D array of numbers, got {values!r}", field=field)
    try:
        arr = np.asarray(values)
    except (TypeError, ValueError) as exc:  # ragged nested sequences
        raise InvalidInput(f"expected a 1-D array of numbers: {exc}", field=field) from None
    if arr.ndim != 1:
        raise InvalidInput(f"expected a 1-D array, got {arr.ndim}-D with shape {arr.shape}",
                           field=field)
    kind = arr.dtype.kind
    if kind == "O":
        try:
            return arr.astype(np.float64)
        except (TypeError, ValueError):
            raise InvalidInput("expected numbers, got non-numeric values", field=field) from None
    if kind not in "biuf":
        raise InvalidInput(f"expected numbers, got values of dtype {arr.dtype}", field=field)
    return arr.astype(np.float64, copy=False)


def _values(values: Any, field: str) -> np.ndarray:
    """Numeric sample: NaN dropped, ±inf refused, non-empty."""
    arr = _as_float_1d(values, field)
    finite = np.isfinite(arr)
    if not finite.all():
        if np.isinf(arr).any():
            raise InvalidInput("contains ±inf; drop or clip infinite values first", field=field)
        arr = arr[finite]
    if arr.size == 0:
        raise InvalidInput("has no values (after dropping NaN)", field=field)
    return arr


def _sorted_values(values: Any, field: str) -> np.ndarray:
    return np.sort(_values(values, field))


def _binary(values: Any, field: str) -> np.ndarray:
    arr = _values(values, field)
    if not ((arr == 0.0) | (arr == 1.0)).all():
        raise InvalidInput("expected only 0/1 (or bool) values", field=field)
    return arr


def _counts(values: Any, field: str, *, integers: bool = False) -> np.ndarray:
    arr = _as_float_1d(values, field)
    if arr.size == 0:
        raise InvalidInput("has no categories", field=field)
    if not np.isfinite(arr).all():
        raise InvalidInput("counts must be finite numbers (no NaN or ±inf)", field=field)
    if (arr < 0).any():
        raise InvalidInput("counts must be >= 0", field=field)
    if integers and (arr != np.floor(arr)).any():
        raise InvalidInput("expected whole counts, got fractions", field=field)
    return arr


def _count_pair(reference: Any, current: Any, ref_field: str, cur_field: str,
                *, integers: bool = False) -> tuple[np.ndarray, np.ndarray]:
    ref = _counts(reference, ref_field, integers=integers)
    cur = _counts(current, cur_field, integers=integers)
    if ref.size != cur.size:
        raise InvalidInput(f"has {cur.size} categories but {ref_field} has {ref.size}; "
                           "counts are aligned by position", field=cur_field)
    if ref.sum() <= 0:
        raise InvalidInput("all counts are 0", field=ref_field)
    if cur.sum() <= 0:
        raise InvalidInput("all counts are 0", field=cur_field)
    return ref, cur


# --------------------------------------------------------------------------------------------
# Shared pieces
# --------------------------------------------------------------------------------------------

def _pooled_counts(ref: np.ndarray, cur: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct pooled values, and at each how many reference / current values are <= it.

    ``ref`` and ``cur`` are sorted, so the stable argsort of their concatenation is one linear
    timsort merge of two runs; no per-value search is needed.
    """
    pooled = np.concatenate((ref, cur))
    order = np.argsort(pooled, kind="stable")
    merged = pooled[order]
    last = np.empty(merged.size, dtype=bool)  # last of each run of equal values
    np.not_equal(merged[1:], merged[:-1], out=last[:-1])
    last[-1] = True
    ref_le = np.cumsum(order < ref.size)[last]
    cur_le = (np.flatnonzero(last) + 1) - ref_le
    return merged[last], ref_le, cur_le


def _binned_counts(ref: np.ndarray, cur: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Counts of both samples in the reference-quantile bins described in the module doc."""
    lo, hi = ref.min(), ref.max()
    if lo == hi:
        return (np.array([0.0, float(ref.size), 0.0]),
                np.array([np.count_nonzero(cur < lo), np.count_nonzero(cur == lo),
                          np.count_nonzero(cur > lo)], dtype=np.float64))
    cuts = np.unique(np.quantile(ref, np.linspace(0.0, 1.0, bins + 1)[1:-1]))
    size = cuts.size + 1
    ref_counts = np.bincount(np.searchsorted(cuts, ref, side="left"), minlength=size)
    cur_counts = np.bincount(np.searchsorted(cuts, cur, side="left"), minlength=size)
    return ref_counts.astype(np.float64), cur_counts.astype(np.float64)


def _numeric_binned(reference: Any, current: Any, bins: Any) -> tuple[np.ndarray, np.ndarray]:
    ref = _values(reference, "reference")
    cur = _values(current, "current")
    return _binned_counts(ref, cur, _check_bins(bins))


# --------------------------------------------------------------------------------------------
# Kolmogorov-Smirnov
# --------------------------------------------------------------------------------------------

def _ks_exact_equal(n: int, h: int) -> float:
    """P(D_{n,n} >= h/n): Hodges' alternating sum, in scipy's nested (Horner-like) order.

    Its k-th term is the product over j < h of (n - kh - j) / (n + kh + j + 1), a ratio of
    factorials; scipy multiplies it out term by term (O(n) Python steps in all), here it is
    one vectorised ``gammaln`` expression (relative error about 1e-11), and the nesting runs
    only over the terms that do not underflow to 0.
    """
    k = np.arange(n // h + 1, dtype=np.float64)
    low = n - (k + 1) * h          # a factor of the product is 0 once this is negative
    with np.errstate(invalid="ignore"):
        logs = (special.gammaln(n - k * h + 1) - special.gammaln(low + 1)
                + special.gammaln(n + k * h + 1) - special.gammaln(n + (k + 1) * h + 1))
    terms = np.where(low >= 0, np.exp(logs), 0.0).tolist()
    total = 0.0
    for p1 in reversed(terms):
        total = p1 * (1.0 - total)
    return 2 * total


_NO_CELLS = np.empty(0)


def _ks_exact_unequal(m: int, n: int, g: int, h: int) -> float:
    """The proportion of lattice paths (0,0) -> (m,n) that leave the band |x/m - y/n| < h/lcm.

    Viehmann's recursion for ``1 - p`` as scipy evaluates it column by column: a cell outside
    the band holds 1, column 0 inside it holds 0, and any other inside cell holds
    ``(A(i-1, j) * i + A(i, j-1) * j) / (i + j)``. Both of a cell's inputs lie on the previous
    anti-diagonal, so each anti-diagonal is one vectorised step with the very same floating-point
    operations, and the result is bit-for-bit scipy's.
    """
    if m < n:
        m, n = n, m
    mg, ng = m // g, n // g
    s = mg + ng
    # On anti-diagonal d (i + j = d) a cell is inside iff |s * i - mg * d| < h.
    prev, prev_lo = np.zeros(1), 0  # d = 0: the origin, inside because h >= 1
    for d in range(1, m + n + 1):
        lo = max(d - n, (mg * d - h) // s + 1, 0)
        hi = min(d, m, (mg * d + h - 1) // s)
        if lo > hi:
            prev, prev_lo = _NO_CELLS, lo
            continue
        # Previous diagonal's values at i = lo - 1 .. hi; cells outside the band hold 1.
        ext = np.ones(hi - lo + 2)
        a, b = max(lo - 1, prev_lo), min(hi, prev_lo + prev.size - 1)
        if a <= b:
            ext[a - lo + 1:b - lo + 2] = prev[a - prev_lo:b - prev_lo + 1]
        i = np.arange(lo, hi + 1)
        j = d - i
        # ext[:-1] is A(i-1, j), ext[1:] is A(i, j-1); weights i = 0 or j = 0 zero out the
        # neighbours that fall off the grid.
        prev, prev_lo = (ext[:-1] * i + ext[1:] * j) / (i + j), lo
    return float(prev[0])


def _exact_unequal() -> Callable[[int, int, int, int], float]:
    """The recursion of :func:`_ks_exact_unequal` compiled: scipy's own (it ships it
    compiled with Pythran, and ``ks_2samp`` calls it), else the numpy one here. The numpy one
    steps once per anti-diagonal — m + n steps of a few array operations, about 40 ms at
    5,000 and 1,000 values — where the compiled one takes about 1 ms."""
    try:
        from scipy.stats._stats_pythran import _compute_outer_prob_inside_method
    except ImportError:  # a scipy that does not ship it compiled
        return _ks_exact_unequal
    return _compute_outer_prob_inside_method


#: The drift check's budget for one exact KS p-value, in steps of the exact recursion.
KS_EXACT_BUDGET = 200_000


def ks_pvalue(d: float, n1: int, n2: int,
              budget: float | None = None) -> tuple[float, float]:
    """(statistic, p-value) as ``scipy.stats.ks_2samp(..., method="auto")`` reports them.

    With a ``budget``, the exact p-value of unequal sizes is computed only when its
    recursion takes at most that many steps — about ``max(n1, n2) · 2 D · min(n1, n2)``,
    a few milliseconds for 5,000 against 1,000 values and a clear difference — and
    otherwise read from Smirnov's distribution ``kstwo.sf(D, round(n1 n2 / (n1 + n2)))``,
    what scipy itself uses beyond 10,000 values (within a few per cent of the exact value
    at these sizes). Equal sizes are exact at any size: Hodges' sum costs microseconds."""
    if max(n1, n2) <= KS_EXACT_MAX_N and (
            budget is None or n1 == n2 or max(n1, n2) * 2 * d * min(n1, n2) <= budget):
        g = math.gcd(n1, n2)
        lcm = (n1 // g) * n2
        h = int(np.round(d * lcm))
        d = h * 1.0 / lcm
        if h == 0:
            return d, 1.0
        prob = _ks_exact_equal(n1, h) if n1 == n2 else _exact_unequal()(n1, n2, g, h)
        if 0.0 <= prob <= 1.0:
            return d, prob
        # scipy falls back to the asymptotic p-value (with the rounded statistic) here.
    m, n = sorted([float(n1), float(n2)], reverse=True)
    en = m * n / (m + n)
    return d, float(_sps.kstwo.sf(d, np.round(en)))


def ks(reference: Any, current: Any, threshold: float = 0.05) -> StatResult:
    """Two-sample Kolmogorov-Smirnov test (two-sided); drifted when ``pvalue < threshold``.

    Statistic and p-value equal ``scipy.stats.ks_2samp(reference, current)``.
    """
    alpha = _alpha(threshold)
    ref = _sorted_values(reference, "reference")
    cur = _sorted_values(current, "current")
    return ks_of_pooled(Pooled.of(ref, cur), alpha)


# --------------------------------------------------------------------------------------------
# Distances on the real line
# --------------------------------------------------------------------------------------------

class Pooled:
    """Two sorted samples merged once: the distinct pooled values and, at each, how many
    reference and current values are at or below it. KS, Wasserstein and energy read it."""

    __slots__ = ("cur_le", "m", "n", "ref", "ref_le", "values")

    def __init__(self, ref: np.ndarray, values: np.ndarray, ref_le: np.ndarray,
                 cur_le: np.ndarray, m: int) -> None:
        self.ref, self.values, self.ref_le, self.cur_le = ref, values, ref_le, cur_le
        self.n, self.m = ref.size, m

    @classmethod
    def of(cls, ref: np.ndarray, cur: np.ndarray) -> Pooled:
        """Of two sorted, finite, non-empty samples."""
        values, ref_le, cur_le = _pooled_counts(ref, cur)
        return cls(ref, values, ref_le, cur_le, cur.size)

    def gaps(self) -> np.ndarray:
        """The ECDFs' gap (reference minus current) at every distinct value."""
        return self.ref_le / self.n - self.cur_le / self.m


def ks_of_pooled(pooled: Pooled, alpha: float, budget: float | None = None) -> StatResult:
    """:func:`ks` of samples already merged (``budget``: see :func:`ks_pvalue`)."""
    diffs = pooled.gaps()
    d = float(max(diffs.max(), min(max(-diffs.min(), 0.0), 1.0)))
    d, p = ks_pvalue(d, pooled.n, pooled.m, budget)
    return _test_result("ks", min(max(d, 0.0), 1.0), min(max(p, 0.0), 1.0), alpha)


def _cdf_distance_parts(pooled: Pooled) -> tuple[np.ndarray, np.ndarray]:
    """ECDF gaps on each interval between consecutive distinct values, and the intervals."""
    return pooled.gaps()[:-1], np.diff(pooled.values)


def wasserstein(reference: Any, current: Any, threshold: float = 0.1) -> StatResult:
    """Wasserstein-1 distance divided by the reference's standard deviation (``ddof=0``).

    ``scipy.stats.wasserstein_distance(reference, current) / np.std(reference)``, as
    Evidently's ``wasserstein_distance_norm`` (without its 0.001 floor on the standard
    deviation); drifted when ``statistic >= threshold``. A constant reference: 0 when current
    is the same constant, else the raw distance divided by the pooled standard deviation.
    """
    limit = _distance_threshold(threshold)
    ref = _sorted_values(reference, "reference")
    cur = _sorted_values(current, "current")
    return wasserstein_of_pooled(Pooled.of(ref, cur), cur, limit)


def wasserstein_of_pooled(pooled: Pooled, cur: np.ndarray, threshold: float,
                          ref_std: float | None = None) -> StatResult:
    """:func:`wasserstein` of samples already merged (``cur`` the current one, sorted;
    ``ref_std`` the reference's ``np.std`` when known)."""
    ref = pooled.ref
    diffs, deltas = _cdf_distance_parts(pooled)
    raw = float(np.sum(np.abs(diffs) * deltas))  # np.dot goes through BLAS threads: slower
    if ref_std is None:
        ref_std = float(np.std(ref))
    scale = 0.0 if ref[0] == ref[-1] else ref_std
    if scale == 0.0:  # a constant reference (or one whose spread underflows)
        scale = float(np.std(np.concatenate((ref, cur)))) if raw > 0.0 else 0.0
    statistic = raw / scale if scale > 0.0 else raw
    return _distance_result("wasserstein", statistic, threshold)


def energy(reference: Any, current: Any, threshold: float = 0.1) -> StatResult:
    """Energy distance, raw, equal to ``scipy.stats.energy_distance(reference, current)``.

    Not normalised: it is in the data's units. Drifted when ``statistic >= threshold``.
    """
    limit = _distance_threshold(threshold)
    ref = _sorted_values(reference, "reference")
    cur = _sorted_values(current, "current")
    return energy_of_pooled(Pooled.of(ref, cur), limit)


def energy_of_pooled(pooled: Pooled, threshold: float) -> StatResult:
    """:func:`energy` of samples already merged."""
    diffs, deltas = _cdf_distance_parts(pooled)
    statistic = float(np.sqrt(2) * np.sqrt(np.sum(np.square(diffs) * deltas)))
    return _distance_result("energy", statistic, threshold)


# --------------------------------------------------------------------------------------------
# Binned / categorical distances
# --------------------------------------------------------------------------------------------

def _psi_value(expected: np.ndarray, actual: np.ndarray) -> float:
    e = expected / expected.sum()
    a = actual / actual.sum()
    e = np.where(e == 0.0, PSI_EPSILON, e)
    a = np.where(a == 0.0, PSI_EPSILON, a)
    return float(np.sum((a - e) * np.log(a / e)))


def psi_from_counts(expected_counts: Any, actual_counts: Any,
                    threshold: float = 0.1) -> StatResult:
    """Population stability index of pre-binned or categorical counts (or proportions).

    ``sum((a - e) * ln(a / e))`` over categories; a zero proportion is replaced by
    ``PSI_EPSILON`` (1e-4) first. Drifted when ``statistic >= threshold``.
    """
    limit = _distance_threshold(threshold)
    expected, actual = _count_pair(expected_counts, actual_counts,
                                   "expected_counts", "actual_counts")
    return _distance_result("psi", _psi_value(expected, actual), limit)


def psi(reference: Any, current: Any, bins: int = 10, threshold: float = 0.1) -> StatResult:
    """Population stability index of numeric data on reference-quantile bins.

    See the module doc for the bins and the empty-bin rule. Drifted when
    ``statistic >= threshold``.
    """
    limit = _distance_threshold(threshold)
    ref_counts, cur_counts = _numeric_binned(reference, current, bins)
    return _distance_result("psi", _psi_value(ref_counts, cur_counts), limit)


def _js_value(p_counts: np.ndarray, q_counts: np.ndarray) -> float:
    # scipy.spatial.distance.jensenshannon(p, q, base=2), step by step.
    p = p_counts / np.sum(p_counts)
    q = q_counts / np.sum(q_counts)
    m = (p + q) / 2.0
    js = np.sum(special.rel_entr(p, m)) + np.sum(special.rel_entr(q, m))
    js /= np.log(2.0)
    return float(np.sqrt(max(js / 2.0, 0.0)))


def jensen_shannon_from_counts(reference_counts: Any, current_counts: Any,
                               threshold: float = 0.1) -> StatResult:
    """Jensen-Shannon distance (base 2) between two count vectors over the same categories.

    Equals ``scipy.spatial.distance.jensenshannon(reference_counts, current_counts, base=2)``.
    Drifted when ``statistic >= threshold``.
    """
    limit = _distance_threshold(threshold)
    ref, cur = _count_pair(reference_counts, current_counts, "reference_counts",
                           "current_counts")
    return _distance_result("jensen_shannon", _js_value(ref, cur), limit)


def jensen_shannon(reference: Any, current: Any, bins: int = 10,
                   threshold: float = 0.1) -> StatResult:
    """Jensen-Shannon distance (base 2) of numeric data on reference-quantile bins."""
    limit = _distance_threshold(threshold)
    ref_counts, cur_counts = _numeric_binned(reference, current, bins)
    return _distance_result("jensen_shannon", _js_value(ref_counts, cur_counts), limit)


def _hellinger_value(p_counts: np.ndarray, q_counts: np.ndarray) -> float:
    p = p_counts / p_counts.sum()
    q = q_counts / q_counts.sum()
    # sqrt(1 - sum(sqrt(p q))) without the cancellation in 1 - BC when p ~ q.
    return float(min(np.sqrt(np.sum(np.square(np.sqrt(p) - np.sqrt(q))) / 2.0), 1.0))


def hellinger_from_counts(reference_counts: Any, current_counts: Any,
                          threshold: float = 0.1) -> StatResult:
    """Hellinger distance ``sqrt(1 - sum(sqrt(p q)))`` between two count vectors."""
    limit = _distance_threshold(threshold)
    ref, cur = _count_pair(reference_counts, current_counts, "reference_counts",
                           "current_counts")
    return _distance_result("hellinger", _hellinger_value(ref, cur), limit)


def hellinger(reference: Any, current: Any, bins: int = 10,
              threshold: float = 0.1) -> StatResult:
    """Hellinger distance of numeric data on reference-quantile bins."""
    limit = _distance_threshold(threshold)
    ref_counts, cur_counts = _numeric_binned(reference, current, bins)
    return _distance_result("hellinger", _hellinger_value(ref_counts, cur_counts), limit)


def _tvd_value(p_counts: np.ndarray, q_counts: np.ndarray) -> float:
    p = p_counts / p_counts.sum()
    q = q_counts / q_counts.sum()
    return float(min(0.5 * np.sum(np.abs(p - q)), 1.0))


def tvd(reference_counts: Any, current_counts: Any, threshold: float = 0.1) -> StatResult:
    """Total variation distance ``sum(|p - q|) / 2`` between two count vectors."""
    limit = _distance_threshold(threshold)
    ref, cur = _count_pair(reference_counts, current_counts, "reference_counts",
                           "current_counts")
    return _distance_result("tvd", _tvd_value(ref, cur), limit)


def tvd_binned(reference: Any, current: Any, bins: int = 10,
               threshold: float = 0.1) -> StatResult:
    """Total variation distance of numeric data on reference-quantile bins."""
    limit = _distance_threshold(threshold)
    ref_counts, cur_counts = _numeric_binned(reference, current, bins)
    return _distance_result("tvd", _tvd_value(ref_counts, cur_counts), limit)


# --------------------------------------------------------------------------------------------
# Tests on counts and proportions
# --------------------------------------------------------------------------------------------

def chi2(reference_counts: Any, current_counts: Any, threshold: float = 0.05) -> StatResult:
    """Chi-square test of homogeneity of the 2 x k table of category counts, no correction.

    Categories absent from both samples are dropped; statistic and p-value then equal
    ``scipy.stats.chi2_contingency([reference_counts, current_counts], correction=False)``.
    """
    alpha = _alpha(threshold)
    ref, cur = _count_pair(reference_counts, current_counts, "reference_counts",
                           "current_counts", integers=True)
    observed = np.stack((ref, cur))
    observed = observed[:, observed.sum(axis=0) > 0]
    dof = observed.shape[1] - 1
    if dof == 0:
        return _test_result("chi2", 0.0, 1.0, alpha)
    # As scipy.stats.contingency.expected_freq and scipy.stats.power_divergence compute them.
    expected = (observed.sum(axis=1, keepdims=True) * observed.sum(axis=0, keepdims=True)
                / observed.sum())
    statistic = float(((observed - expected) ** 2 / expected).sum())
    return _test_result("chi2", statistic, float(_sps.chi2.sf(statistic, dof)), alpha)


def z_proportion(reference: Any, current: Any, threshold: float = 0.05) -> StatResult:
    """Two-proportion z-test (pooled variance, two-sided) for binary 0/1 or bool columns.

    ``z = (p_cur - p_ref) / sqrt(p (1 - p) (1/n_ref + 1/n_cur))`` with ``p`` the pooled
    proportion; p-value ``2 * (1 - Phi(|z|))``. Both samples all 0 or all 1: z = 0, p = 1.
    """
    ref = _binary(reference, "reference")
    cur = _binary(current, "current")
    return z_proportion_from_counts(float(ref.sum()), ref.size, float(cur.sum()), cur.size,
                                    threshold)


def z_proportion_from_counts(ones_reference: float, n_reference: int, ones_current: float,
                             n_current: int, threshold: float = 0.05) -> StatResult:
    """The two-proportion z-test of ``z_proportion`` from counts of ones and sample sizes."""
    alpha = _alpha(threshold)
    n1, n2, x1, x2 = n_reference, n_current, ones_reference, ones_current
    if n1 <= 0 or n2 <= 0:
        raise InvalidInput("both samples need at least one value", field="counts")
    pooled = (x1 + x2) / (n1 + n2)
    variance = pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)
    if variance <= 0.0:
        return _test_result("z_proportion", 0.0, 1.0, alpha)
    z = (x2 / n2 - x1 / n1) / math.sqrt(variance)
    pvalue = float(special.erfc(abs(z) / math.sqrt(2.0)))  # = 2 * norm.sf(|z|)
    return _test_result("z_proportion", z, pvalue, alpha)


def fisher_exact_from_counts(ones_reference: float, n_reference: int, ones_current: float,
                            n_current: int, threshold: float = 0.05) -> StatResult:
    """Fisher's exact test (two-sided, ``scipy.stats.fisher_exact``) of two samples' shares of
    ones, from counts; the statistic is the current share minus the reference's.

    Where few ones (or zeros) are expected, the z-test's normal tail is too light: at a 1 %
    share and 200 current rows it rejects at twice its alpha in the tails a correction over
    many columns uses. Fisher's test conditions on the margins and never exceeds alpha.
    """
    from scipy import stats as _stats

    alpha = _alpha(threshold)
    n1, n2 = int(n_reference), int(n_current)
    x1, x2 = round(ones_reference), round(ones_current)
    if n1 <= 0 or n2 <= 0:
        raise InvalidInput("both samples need at least one value", field="counts")
    pvalue = float(_stats.fisher_exact([[x1, n1 - x1], [x2, n2 - x2]]).pvalue)
    return _test_result("fisher_exact", x2 / n2 - x1 / n1, pvalue, alpha)


# --------------------------------------------------------------------------------------------
# Anderson-Darling
# --------------------------------------------------------------------------------------------

# Scholz & Stephens (1987), Table 2: interpolation coefficients of the critical values for the
# significance levels below (as scipy.stats.anderson_ksamp).
_AD_B0 = np.array([0.675, 1.281, 1.645, 1.96, 2.326, 2.573, 3.085])
_AD_B1 = np.array([-0.245, 0.25, 0.678, 1.149, 1.822, 2.364, 3.615])
_AD_B2 = np.array([-0.105, -0.305, -0.362, -0.391, -0.396, -0.345, -0.154])
_AD_SIG = np.array([0.25, 0.1, 0.05, 0.025, 0.01, 0.005, 0.001])


def anderson_darling(reference: Any, current: Any, threshold: float = 0.05) -> StatResult:
    """k-sample (here 2-sample) Anderson-Darling test, midrank version, standardised.

    Statistic and p-value equal ``scipy.stats.anderson_ksamp([reference, current])``; the
    p-value is capped to [0.001, 0.25] (see the module doc). Drifted when
    ``pvalue < threshold``.
    """
    alpha = _alpha(threshold)
    ref = _sorted_values(reference, "reference")
    cur = _sorted_values(current, "current")
    big_n = ref.size + cur.size
    zstar, ref_le, cur_le = _pooled_counts(ref, cur)
    if zstar.size < 2:
        return _test_result("anderson_darling", 0.0, float(_AD_SIG.max()), alpha)
    if big_n < 4:
        raise InvalidInput("anderson_darling needs at least 4 values in both samples together",
                           field="reference" if ref.size < 2 else "current")
    n = np.array([ref.size, cur.size])

    # A2akN, equation 7 of Scholz & Stephens, as scipy's _anderson_ksamp_midrank; the integer
    # counts its searchsorted calls produce come here from the pooled cumulative counts.
    all_le = ref_le + cur_le
    lj = np.diff(all_le, prepend=0)  # multiplicity of each distinct value
    bj = (all_le - lj) + lj / 2.0
    a2akn = 0.0
    for s_right, size in ((ref_le, n[0]), (cur_le, n[1])):
        mij = s_right.astype(float)
        fij = np.diff(s_right, prepend=0)
        mij -= fij / 2.0
        inner = lj / float(big_n) * (big_n * mij - bj * size) ** 2 / (
            bj * (big_n - bj) - big_n * lj / 4.0)
        a2akn += inner.sum() / size
    a2akn *= (big_n - 1.0) / big_n

    # Standardisation (mean k - 1, variance sigma^2) for k = 2 samples.
    k = 2
    h_sum = (1.0 / n).sum()
    hs_cs = (1.0 / np.arange(big_n - 1, 1, -1)).cumsum()
    h = hs_cs[-1] + 1
    g = (hs_cs / np.arange(2, big_n)).sum()
    a = (4 * g - 6) * (k - 1) + (10 - 6 * g) * h_sum
    b = (2 * g - 4) * k**2 + 8 * h * k + (2 * g - 14 * h - 4) * h_sum - 8 * h + 4 * g - 6
    c = (6 * h + 2 * g - 2) * k**2 + (4 * h - 4 * g + 6) * k + (2 * h - 6) * h_sum + 4 * h
    d = (2 * h + 6) * k**2 - 4 * h * k
    sigmasq = (a * big_n**3 + b * big_n**2 + c * big_n + d) / (
        (big_n - 1.0) * (big_n - 2.0) * (big_n - 3.0))
    m = k - 1
    statistic = float((a2akn - m) / math.sqrt(sigmasq))

    critical = _AD_B0 + _AD_B1 / math.sqrt(m) + _AD_B2 / m
    if statistic < critical.min():
        pvalue = float(_AD_SIG.max())
    elif statistic > critical.max():
        pvalue = float(_AD_SIG.min())
    else:
        pf = np.polyfit(critical, np.log(_AD_SIG), 2)
        pvalue = math.exp(np.polyval(pf, statistic))
    return _test_result("anderson_darling", statistic, pvalue, alpha)


# --------------------------------------------------------------------------------------------
# Registries
# --------------------------------------------------------------------------------------------

METHODS: dict[str, Callable[..., StatResult]] = {
    "ks": ks,
    "wasserstein": wasserstein,
    "psi": psi,
    "jensen_shannon": jensen_shannon,
    "hellinger": hellinger,
    "chi2": chi2,
    "z_proportion": z_proportion,
    "tvd": tvd,
    "anderson_darling": anderson_darling,
    "energy": energy,
}
"""Method name -> the function of that name. Inputs differ: ``chi2`` and ``tvd`` take category
counts, ``z_proportion`` takes 0/1 values, the rest take numeric values."""

COUNT_METHODS: dict[str, Callable[..., StatResult]] = {
    "psi": psi_from_counts,
    "jensen_shannon": jensen_shannon_from_counts,
    "hellinger": hellinger_from_counts,
    "chi2": chi2,
    "tvd": tvd,
}
"""Method name -> the function that takes two aligned count vectors (categorical data)."""
