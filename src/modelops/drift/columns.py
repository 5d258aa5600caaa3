"""A column of current data against its reference profile, ready for the drift methods.

While the reference keeps every value (at most 5,000), statistics are computed exactly, on
the values (they equal scipy's; a KS p-value whose exact recursion would take more than a
few milliseconds comes from Smirnov's distribution instead, see ``stats.ks_pvalue``).
Beyond, from the reference's buckets, with the current values put in the same buckets (a 2 %
relative grid): the KS statistic is that of the bucketed data, and its p-value comes from the
limiting Kolmogorov distribution once n·m/(n+m) ≥ 10,000.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from modelops.drift import stats
from modelops.drift.profile import (
    bucket_arrays,
    bucket_bounds,
    category_counts,
    count_buckets,
    quantiles,
    sorted_quantiles,
)
from modelops.entities.drift import CategoricalProfile, Histogram, NumericProfile

#: Effective sample size n·m/(n+m) from which bucketed KS p-values are asymptotic.
KS_ASYMPTOTIC_N = 10_000
_HIST_BINS = 20


# The column a drift check already prepared, so a built-in method it calls reuses it rather
# than bucketing or sorting the same values again.
_prepared: contextvars.ContextVar[Any] = contextvars.ContextVar("prepared_column",
                                                               default=None)


@contextlib.contextmanager
def prepared(column: Any, values: Any) -> Iterator[None]:
    """While inside, :meth:`NumericColumn.of` and :meth:`CategoricalColumn.of` called with
    ``column.ref`` and ``values`` (the very objects) return ``column``."""
    token = _prepared.set((column, values))
    try:
        yield
    finally:
        _prepared.reset(token)


def _reuse(kind: type, ref: Any, values: Any) -> Any:
    found = _prepared.get()
    if found is not None and found[1] is values and type(found[0]) is kind \
            and found[0].ref is ref:
        return found[0]
    return kind(ref, values)


class NumericColumn:
    """A numeric column of the current data against its reference profile."""

    @classmethod
    def of(cls, ref: NumericProfile, values: np.ndarray) -> NumericColumn:
        """The column of ``values`` against ``ref``: the one being checked, if it is."""
        return _reuse(cls, ref, values)

    def __init__(self, ref: NumericProfile, values: np.ndarray) -> None:
        self.ref = ref
        self.values = values[np.isfinite(values)]
        self.exact = ref.sample is not None
        if self.exact:
            # Sorted once: the tests sort again, and quantiles partition, far faster so.
            self.values = np.sort(self.values)
        if not self.exact:
            ref_keys, ref_counts = bucket_arrays(ref)
            cur_keys, cur_counts = count_buckets(self.values, ref.spec)
            keys = np.union1d(ref_keys, cur_keys)
            self.r = np.zeros(len(keys))
            self.c = np.zeros(len(keys))
            self.r[np.searchsorted(keys, ref_keys)] = ref_counts
            self.c[np.searchsorted(keys, cur_keys)] = cur_counts
            lo, hi = bucket_bounds(keys, ref.spec)
            self.points = (lo + hi) / 2

    @property
    def reference(self) -> np.ndarray:
        """Every reference value, sorted (only while the reference kept them)."""
        return self.ref.sample_array

    @functools.cached_property
    def pooled(self) -> stats.Pooled:
        """The reference and current values merged, once for every exact statistic."""
        return stats.Pooled.of(self.reference, self.values)

    def current_quantiles(self, qs: Sequence[float]) -> list[float]:
        """Quantiles of the current values: exact while they are sorted, else read from
        their buckets (as the reference's)."""
        if self.exact:
            return sorted_quantiles(self.values, qs, self.integer)
        cum = np.cumsum(self.c)
        n = cum[-1]
        lo, hi = float(self.values.min()), float(self.values.max())
        out = []
        for q in qs:
            i = min(int(np.searchsorted(cum, q * (n - 1) + 1, side="left")), len(cum) - 1)
            value = float(np.clip(self.points[i], lo, hi))
            out.append(float(round(value)) if self.integer else value)
        return out

    def _cdf_gaps(self) -> tuple[np.ndarray, np.ndarray]:
        gaps = np.cumsum(self.r) / self.r.sum() - np.cumsum(self.c) / self.c.sum()
        return gaps[:-1], np.diff(self.points)

    def ks(self, alpha: float) -> stats.StatResult:
        if self.exact:
            return stats.ks_of_pooled(self.pooled, stats._alpha(alpha),
                                      stats.KS_EXACT_BUDGET)
        gaps = np.cumsum(self.r) / self.r.sum() - np.cumsum(self.c) / self.c.sum()
        d = float(np.abs(gaps).max())
        n, m = self.ref.count, len(self.values)
        en = n * m / (n + m)
        if en >= KS_ASYMPTOTIC_N:
            # The limiting Kolmogorov distribution: within 1 % (relative) of the finite-n
            # one here, and microseconds instead of up to a second per column.
            from scipy import special

            p = float(special.kolmogorov(math.sqrt(en) * d))
        else:
            d, p = stats.ks_pvalue(d, n, m, stats.KS_EXACT_BUDGET)
        return stats.StatResult(method="ks", statistic=min(max(d, 0.0), 1.0),
                                pvalue=min(max(p, 0.0), 1.0), threshold=alpha,
                                drifted=p < alpha)

    def wasserstein(self, threshold: float) -> stats.StatResult:
        if self.exact:
            return stats.wasserstein_of_pooled(self.pooled, self.values, threshold,
                                               math.sqrt(self.ref.variance))
        gaps, widths = self._cdf_gaps()
        raw = float(np.sum(np.abs(gaps) * widths))
        scale = math.sqrt(self.ref.variance) if self.ref.min != self.ref.max else 0.0
        if scale == 0.0 and raw > 0:
            pooled = np.concatenate((self.values, [self.ref.mean]))
            scale = float(pooled.std()) or 1.0
        value = raw / scale if scale > 0 else raw
        return stats.StatResult(method="wasserstein", statistic=value, pvalue=None,
                                threshold=threshold, drifted=value >= threshold)

    def energy(self, threshold: float) -> stats.StatResult:
        if self.exact:
            return stats.energy_of_pooled(self.pooled, threshold)
        gaps, widths = self._cdf_gaps()
        value = float(math.sqrt(2) * math.sqrt(np.sum(gaps**2 * widths)))
        return stats.StatResult(method="energy", statistic=value, pvalue=None,
                                threshold=threshold, drifted=value >= threshold)

    def coarse_counts(self, bins: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Counts over the reference's deciles (the same rule as ``stats.psi``)."""
        if self.exact:
            return stats._numeric_binned(self.reference, self.values, bins)
        cuts = np.unique(quantiles(self.ref, np.linspace(0, 1, bins + 1)[1:-1]))
        where = np.searchsorted(cuts, self.points, side="left")
        n = len(cuts) + 1
        return (np.bincount(where, weights=self.r, minlength=n),
                np.bincount(where, weights=self.c, minlength=n))

    @functools.cached_property
    def integer(self) -> bool:
        """Whether both samples hold whole numbers only (counts, ages, codes)."""
        return self.ref.integer and bool(np.all(self.values == np.round(self.values)))

    def histogram(self, scale: str = "auto") -> Histogram:
        """Reference and current shares over 20 bins between the reference's 0.5 % and
        99.5 % quantiles (values beyond fall in the outer bins). Whole numbers get bins of
        whole numbers; ``scale`` ``"log"`` (or ``"auto"`` for a positive column skewed to
        the right, skewness above 2 over a range of more than a factor of 20) cuts bins of
        equal ratios, ``"linear"`` of equal widths."""
        lo, hi = quantiles(self.ref, (0.005, 0.995))
        if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
            lo, hi = (self.ref.min, self.ref.max) if self.ref.count else (0.0, 1.0)
            if hi <= lo:
                lo, hi = lo - 0.5, hi + 0.5
        if self.integer:
            first, last = math.floor(lo), math.ceil(hi)
            width = max(1, math.ceil((last - first + 1) / _HIST_BINS))
            bins = math.ceil((last - first + 1) / width)
            edges = first - 0.5 + width * np.arange(bins + 1, dtype=np.float64)
            starts = [first + i * width for i in range(bins)]
            labels = [f"{a:,}" if width == 1 else f"{a:,} to {a + width - 1:,}"
                      for a in starts]
            shape = "integer"
        elif scale == "log" or (scale == "auto" and _skewed(self.ref, lo, hi)):
            lo = lo if lo > 0 else (self.ref.min if self.ref.min > 0 else hi / 1e3)
            edges = np.geomspace(lo, hi, _HIST_BINS + 1)
            labels = [f"{e:.3g}" for e in edges[:-1]]
            shape = "log"
        else:
            edges = np.linspace(lo, hi, _HIST_BINS + 1)
            labels = [f"{e:.3g}" for e in edges[:-1]]
            shape = "linear"
        if self.exact:  # both sorted: np.histogram of the clipped values, by search
            r = _sorted_counts(self.reference, edges)
            c = _sorted_counts(self.values, edges)
        else:  # from the bucket counts both sides already have
            points = np.clip(self.points, edges[0], edges[-1])
            r = np.histogram(points, bins=edges, weights=self.r)[0]
            c = np.histogram(points, bins=edges, weights=self.c)[0]
        return Histogram(labels, (r / max(r.sum(), 1)).tolist(), (c / max(c.sum(), 1)).tolist(),
                         edges.tolist(), scale=shape)


def _skewed(ref: NumericProfile, lo: float, hi: float) -> bool:
    skew = ref.skewness
    return bool(lo > 0 and hi / lo > 20 and math.isfinite(skew) and skew > 2)


def _sorted_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """``np.histogram(np.clip(values, edges[0], edges[-1]), bins=edges)[0]`` of sorted
    ``values``: a value belongs to the bin of the last interior edge at or below it."""
    below = np.searchsorted(values, edges, side="left")
    below[0], below[-1] = 0, len(values)
    return np.diff(below)


class CategoricalColumn:
    """A categorical column of the current data against its reference profile: the counts of
    both over every category either has (sorted), aligned by position."""

    @classmethod
    def of(cls, ref: CategoricalProfile, values: np.ndarray) -> CategoricalColumn:
        """The column of ``values`` against ``ref``: the one being checked, if it is."""
        return _reuse(cls, ref, values)

    def __init__(self, ref: CategoricalProfile, values: np.ndarray,
                 column: str = "value") -> None:
        self.ref = ref
        self.levels, self.counts, self.missing = category_counts(values, column)
        self.n = int(self.counts.sum())
        self.categories = sorted(set(ref.frequencies) | set(self.levels))
        current = dict(zip(self.levels, self.counts.tolist()))
        self.current = current
        self.r = np.array([ref.frequencies.get(k, 0) for k in self.categories], dtype=float)
        self.c = np.array([current.get(k, 0) for k in self.categories], dtype=float)
