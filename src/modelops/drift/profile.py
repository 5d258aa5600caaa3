"""Reference profiles: what a drift check needs to know about the reference data, small and
mergeable.

A numeric column keeps exact counts, moment sums (mean, M2, M3, M4: merged with the
formulas of Chan et al. / Pébay), min and max, and a sketch — counts per bucket of
``z = (x - center) / scale`` with buckets of 2 % relative width in ``|z|`` (a DDSketch-style
log histogram). While a column has at most ``EXACT_LIMIT`` values, every value is kept too.

``merge(profile(A, spec), profile(B, spec)) == profile(A ∪ B, spec)`` exactly for counts,
moments (to float rounding), min/max, buckets, categories and exact samples. Quantiles read
from buckets lie in the same bucket as the true quantile: within 2 % of its distance from the
center (plus 1e-6 scale). Fit partitions with one spec (``spec_for``), e.g. from a first pass
over the data; profiles with different specs do not merge.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from modelops.entities.drift import BucketSpec, CategoricalProfile, DatasetProfile, NumericProfile
from modelops.errors import InvalidInput
from modelops.frames import CATEGORICAL, NUMERIC, column_kind, to_columns

#: Numeric columns with at most this many values keep every value (exact tests).
EXACT_LIMIT = 5_000
#: Whole rows a profile keeps for the multivariate methods (all of them up to this many).
SAMPLE_ROWS = 5_000
#: The largest magnitude of a finite value in a numeric column: a profile keeps sums of the
#: deviations' fourth powers, which overflow a float past about 1e77 (the std, and every
#: effect measured in it, would then be infinite and judge any shift as none). 1e70 keeps
#: them finite up to 10^10 rows.
MAX_MAGNITUDE = 1e70


def check_magnitude(lo: float, hi: float, column: str, what: str = "holds") -> None:
    """``InvalidInput`` naming ``column`` when its finite values, from ``lo`` to ``hi``,
    reach beyond ±``MAX_MAGNITUDE``."""
    largest = max(-lo, hi)
    if largest > MAX_MAGNITUDE:
        raise InvalidInput(f"{what} values as large as {largest:.3g}: beyond the ±"
                           f"{MAX_MAGNITUDE:g} a drift profile keeps moments of (they would "
                           "overflow); rescale the column", field=f"column {column!r}")


# -- buckets ---------------------------------------------------------------------------------

def bucket_index(z: np.ndarray, spec: BucketSpec) -> np.ndarray:
    """The bucket of each standardised value: 0 for ``|z| < z_min``, else
    ``sign(z) * (1 + floor(log(|z| / z_min) / log(gamma)))``."""
    # One pass of whole-array operations: no boolean-mask copies.
    scaled = np.abs(z)
    scaled *= 1.0 / spec.z_min
    np.maximum(scaled, 1.0, out=scaled)          # |z| < z_min lands on log(1) = 0
    k = np.log(scaled, out=scaled)
    k *= 1.0 / math.log(spec.gamma)
    np.floor(k, out=k)
    k += 1.0
    k[np.abs(z) < spec.z_min] = 0.0
    np.copysign(k, z, out=k)
    return k.astype(np.int64)


def bucket_bounds(index: np.ndarray, spec: BucketSpec) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bound in x of each bucket index (bucket 0 spans ``±z_min``)."""
    index = np.asarray(index, dtype=np.int64)
    k = np.abs(index)
    inner = np.where(k == 0, 0.0, spec.z_min * spec.gamma ** (np.maximum(k, 1) - 1.0))
    outer = np.where(k == 0, spec.z_min, spec.z_min * spec.gamma ** k.astype(float))
    lo_z = np.where(index < 0, -outer, np.where(index == 0, -spec.z_min, inner))
    hi_z = np.where(index < 0, -inner, outer)
    return spec.center + spec.scale * lo_z, spec.center + spec.scale * hi_z


def count_buckets(values: np.ndarray, spec: BucketSpec) -> tuple[np.ndarray, np.ndarray]:
    """Sorted bucket indices present in ``values`` and their counts."""
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    idx = bucket_index((values - spec.center) / spec.scale, spec)
    lo, hi = int(idx.min()), int(idx.max())
    if hi - lo < 200_000:
        counts = np.bincount(idx - lo)
        present = np.flatnonzero(counts)
        return present + lo, counts[present]
    keys, counts = np.unique(idx, return_counts=True)
    return keys, counts


def spec_for(values: np.ndarray) -> BucketSpec:
    """A spec centred on the finite values' mean and scaled by their std (1 when constant)."""
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        return BucketSpec(0.0, 1.0)
    center = float(finite.mean())
    scale = float(finite.std())
    if not math.isfinite(scale) or scale <= 0:
        scale = max(abs(center), 1.0)
    return BucketSpec(center, scale)


# -- profiling -------------------------------------------------------------------------------

#: Rows a numeric column is profiled by at a time: what profiling holds beyond the frame is
#: a few float arrays of this many values, whatever the number of rows.
CHUNK_ROWS = 1 << 20


def _chunks(values: np.ndarray) -> list[np.ndarray]:
    return [values[i:i + CHUNK_ROWS] for i in range(0, len(values), CHUNK_ROWS)] or [values]


def profile_numeric(values: np.ndarray, spec: BucketSpec | None = None,
                    column: str = "value") -> NumericProfile:
    """Profile one numeric column (NaN is missing, ±inf counted apart), ``CHUNK_ROWS`` rows
    at a time: three passes (count and mean; central moments; buckets), each linear in the
    rows and holding one chunk's temporaries. A column of one chunk gives the figures a
    whole-array computation gives, bit for bit; a longer one the same up to float rounding
    in the sums."""
    values = np.asarray(values)
    chunks = [_finite_of(_as_float(c, column)) for c in _chunks(values)] \
        if len(values) <= CHUNK_ROWS else None
    n = missing = infinite = 0
    total = 0.0
    lo, hi = math.inf, -math.inf
    binary = integer = True
    for finite, nan, inf in chunks or (_finite_of(_as_float(c, column))
                                       for c in _chunks(values)):
        n += len(finite)
        missing += nan
        infinite += inf
        if len(finite):
            total += float(finite.sum())
            lo, hi = min(lo, float(finite.min())), max(hi, float(finite.max()))
            binary = binary and bool(np.all((finite == 0) | (finite == 1)))
            integer = integer and bool(np.all(finite == np.round(finite)))
    if n:
        check_magnitude(lo, hi, column)
    mean = total / n if n else 0.0
    m2 = m3 = m4 = 0.0
    for finite, _, _ in chunks or (_finite_of(_as_float(c, column))
                                   for c in _chunks(values)):
        if n and len(finite):
            d = finite - mean
            d2 = d * d
            m2 += float(d2.sum())
            d2 *= d
            m3 += float(d2.sum())
            d2 *= d
            m4 += float(d2.sum())
    if spec is None:
        scale = math.sqrt(m2 / n) if n else 1.0
        if not n:
            spec = BucketSpec(0.0, 1.0)
        else:
            if not math.isfinite(scale) or scale <= 0:
                scale = max(abs(mean), 1.0)
            spec = BucketSpec(mean, scale)
    buckets: dict[int, int] = {}
    kept: list[np.ndarray] = []
    for finite, _, _ in chunks or (_finite_of(_as_float(c, column))
                                   for c in _chunks(values)):
        keys, counts = count_buckets(finite, spec)
        for k, c in zip(keys.tolist(), counts.tolist()):
            buckets[k] = buckets.get(k, 0) + c
        if n <= EXACT_LIMIT:
            kept.append(finite)
    sample = tuple(np.sort(np.concatenate(kept)).tolist()) if n <= EXACT_LIMIT else None
    if not n:
        mean = 0.0
        binary = integer = False
    return NumericProfile(
        count=n, missing=missing, infinite=infinite, mean=mean, m2=m2, m3=m3,
        m4=m4, min=lo, max=hi, binary=binary, spec=spec,
        buckets=dict(sorted(buckets.items())), sample=sample, integer=integer,
    )


def _finite_of(values: np.ndarray) -> tuple[np.ndarray, int, int]:
    """The finite values of a float chunk, and how many were NaN and ±inf."""
    finite_mask = np.isfinite(values)
    if finite_mask.all():
        return values, 0, 0
    nan = int(np.isnan(values).sum())
    return values[finite_mask], nan, len(values) - int(finite_mask.sum()) - nan


def profile_categorical(values: np.ndarray, column: str = "value") -> CategoricalProfile:
    """Profile one categorical column (missing: None or NaN)."""
    levels, counts, missing = category_counts(values, column)
    return CategoricalProfile(count=int(counts.sum()), missing=missing,
                              frequencies=dict(zip(levels, counts.tolist())))


def category_counts(values: np.ndarray, column: str = "value"
                    ) -> tuple[list[str], np.ndarray, int]:
    """Levels (as strings, sorted), their counts, and the number of missing values; counted
    ``CHUNK_ROWS`` values at a time. ``InvalidInput`` naming ``column`` for values that
    cannot be categories (lists, dicts, sets)."""
    if values.dtype.kind in "US":
        merged_counts: dict[str, int] = {}
        for chunk in _chunks(values):
            keys, counts = np.unique(chunk, return_counts=True)
            for key, count in zip(keys.tolist(), counts.tolist()):
                merged_counts[str(key)] = merged_counts.get(str(key), 0) + count
        levels = sorted(merged_counts)
        return levels, np.array([merged_counts[k] for k in levels], dtype=np.int64), 0
    # Counting with a dict (C code in Counter) beats sorting strings; by chunk, so the list
    # of a chunk's values is all that is made beside the column.
    counter: Counter[Any] = Counter()
    for chunk in _chunks(values):
        try:
            counter.update(chunk.tolist())
        except TypeError:     # unhashable: a list, a dict, a set
            raise InvalidInput("holds values that cannot be categories (lists, dicts or "
                               "sets)", field=f"column {column!r}") from None
    merged: dict[str, int] = {}
    missing = 0
    for key, count in counter.items():
        if key is None or (isinstance(key, float) and key != key) or \
                type(key).__name__ == "NAType":
            missing += count
        else:
            text = key if type(key) is str else str(key)
            merged[text] = merged.get(text, 0) + count
    levels = sorted(merged)
    return levels, np.array([merged[k] for k in levels], dtype=np.int64), missing


def profile_frame(name: str, frame: Any, *, categorical: Sequence[str] | None = None,
                  target: str | None = None, prediction: str | None = None,
                  specs: Mapping[str, BucketSpec] | None = None,
                  columns: Sequence[str] | None = None) -> DatasetProfile:
    """Profile every column of a frame. Columns named in ``categorical`` are categorical
    whatever their dtype; strings are categorical anyway."""
    data = to_columns(frame, columns)
    kinds = column_kinds(data, categorical)
    for role, column in (("target", target), ("prediction", prediction)):
        if column is not None and column not in data:
            raise InvalidInput(f"no column {column!r} in the frame", field=role)
    specs = specs or {}
    out: dict[str, Any] = {}
    for col, values in data.items():
        if kinds[col] == NUMERIC:
            out[col] = profile_numeric(values, specs.get(col), col)
        else:
            out[col] = profile_categorical(values, col)
    rows = len(next(iter(data.values()))) if data else 0
    return DatasetProfile(name=name, columns=out, rows=rows, target=target,
                          prediction=prediction, sample=_row_sample(data, out, rows))


def _row_sample(data: Mapping[str, np.ndarray], profiles: Mapping[str, Any],
                rows: int) -> dict[str, np.ndarray]:
    """Up to ``SAMPLE_ROWS`` whole rows, drawn without replacement (a fixed seed, so a
    profile of the same data is the same), in their original order."""
    from modelops.frames import categorical

    pick = slice(None) if rows <= SAMPLE_ROWS else \
        np.sort(np.random.default_rng(0).choice(rows, SAMPLE_ROWS, replace=False))
    out: dict[str, np.ndarray] = {}
    for col, values in data.items():
        if profiles[col].kind == NUMERIC:
            out[col] = _as_float(values[pick], col)
        else:
            out[col] = categorical(np.asarray(values)[pick])
    return out


def merge_samples(profiles: Sequence[DatasetProfile]) -> dict[str, np.ndarray] | None:
    """One row sample of the profiled parts: every row while they have at most
    ``SAMPLE_ROWS`` together, else rows of each part in proportion to its rows."""
    if any(p.sample is None for p in profiles):
        return None
    total = sum(p.rows for p in profiles)
    rng = np.random.default_rng(0)
    wanted = [p.sample_rows if total <= SAMPLE_ROWS else
              min(p.sample_rows, round(SAMPLE_ROWS * p.rows / total)) for p in profiles]
    parts: dict[str, list[np.ndarray]] = {c: [] for c in profiles[0].columns}
    for p, k in zip(profiles, wanted):
        keep = np.arange(p.sample_rows) if k == p.sample_rows else \
            np.sort(rng.choice(p.sample_rows, k, replace=False))
        for col, found in parts.items():
            found.append(p.sample[col][keep])
    return {c: np.concatenate(v) for c, v in parts.items()}


def column_kinds(data: Mapping[str, np.ndarray],
                 categorical: Sequence[str] | None) -> dict[str, str]:
    forced = set(categorical or ())
    unknown = forced - set(data)
    if unknown:
        raise InvalidInput(f"no column {sorted(unknown)[0]!r} in the frame", field="categorical")
    return {col: CATEGORICAL if col in forced else column_kind(values, col)
            for col, values in data.items()}


def _as_float(values: np.ndarray, column: str) -> np.ndarray:
    from modelops.frames import numeric

    return numeric(values, column)


# -- merging ---------------------------------------------------------------------------------

def merge_numeric(a: NumericProfile, b: NumericProfile) -> NumericProfile:
    """The profile of both columns' values together."""
    if a.spec != b.spec:
        raise InvalidInput("profiles were fitted with different bucket specs; fit every part "
                           "with one spec (see modelops.drift.profile.spec_for)", field="spec")
    n = a.count + b.count
    if a.count == 0 or b.count == 0:
        src = b if a.count == 0 else a
        mean, m2, m3, m4 = src.mean, src.m2, src.m3, src.m4
    else:
        # Pébay (2008): pairwise update of central moment sums.
        na, nb = a.count, b.count
        delta = b.mean - a.mean
        mean = a.mean + delta * nb / n
        m2 = a.m2 + b.m2 + delta**2 * na * nb / n
        m3 = (a.m3 + b.m3 + delta**3 * na * nb * (na - nb) / n**2
              + 3 * delta * (na * b.m2 - nb * a.m2) / n)
        m4 = (a.m4 + b.m4 + delta**4 * na * nb * (na * na - na * nb + nb * nb) / n**3
              + 6 * delta**2 * (na * na * b.m2 + nb * nb * a.m2) / n**2
              + 4 * delta * (na * b.m3 - nb * a.m3) / n)
    buckets = dict(a.buckets)
    for k, c in b.buckets.items():
        buckets[k] = buckets.get(k, 0) + c
    sample = None
    if a.sample is not None and b.sample is not None and n <= EXACT_LIMIT:
        sample = tuple(sorted(a.sample + b.sample))
    return NumericProfile(
        count=n, missing=a.missing + b.missing, infinite=a.infinite + b.infinite, mean=mean,
        m2=m2, m3=m3, m4=m4, min=min(a.min, b.min), max=max(a.max, b.max),
        binary=(a.binary or a.count == 0) and (b.binary or b.count == 0) and n > 0,
        spec=a.spec, buckets=dict(sorted(buckets.items())), sample=sample,
        integer=(a.integer or a.count == 0) and (b.integer or b.count == 0) and n > 0,
    )


def merge_categorical(a: CategoricalProfile, b: CategoricalProfile) -> CategoricalProfile:
    freq = dict(a.frequencies)
    for k, c in b.frequencies.items():
        freq[k] = freq.get(k, 0) + c
    return CategoricalProfile(count=a.count + b.count, missing=a.missing + b.missing,
                              frequencies=dict(sorted(freq.items())))


def merge(*profiles: DatasetProfile) -> DatasetProfile:
    """One profile of all the profiled parts (same columns, same kinds, same specs)."""
    if not profiles:
        raise InvalidInput("needs at least one profile", field="profiles")
    first = profiles[0]
    columns = dict(first.columns)
    rows = first.rows
    for p in profiles[1:]:
        if set(p.columns) != set(columns):
            differing = sorted(set(p.columns) ^ set(columns))
            raise InvalidInput(f"profiles have different columns: {differing}", field="profiles")
        for col, prof in p.columns.items():
            mine = columns[col]
            if mine.kind != prof.kind:
                raise InvalidInput(f"column {col!r} is {mine.kind} in one profile and "
                                   f"{prof.kind} in another", field="profiles")
            columns[col] = merge_numeric(mine, prof) if mine.kind == NUMERIC \
                else merge_categorical(mine, prof)
        rows += p.rows
    return DatasetProfile(name=first.name, columns=columns, rows=rows, target=first.target,
                          prediction=first.prediction, sample=merge_samples(profiles))


def profile_partitions(name: str, partitions: Iterable[Any], *,
                       categorical: Sequence[str] | None = None, target: str | None = None,
                       prediction: str | None = None,
                       specs: Mapping[str, BucketSpec] | None = None) -> DatasetProfile:
    """Profile data given as parts (e.g. a Dask DataFrame's partitions, computed one by one)
    and merge the parts' profiles. ``specs`` fixes each numeric column's buckets; without it,
    the first part's mean and std are used, which is fine when parts look alike."""
    merged: DatasetProfile | None = None
    for part in partitions:
        p = profile_frame(name, part, categorical=categorical, target=target,
                          prediction=prediction, specs=specs)
        if specs is None:
            specs = {c: prof.spec for c, prof in p.columns.items() if prof.kind == NUMERIC}
        merged = p if merged is None else merge(merged, p)
    if merged is None:
        raise InvalidInput("no partitions", field="partitions")
    return merged


# -- reading a profile back ------------------------------------------------------------------

#: id(profile) -> (the bucketed column profile, what was derived from it). A stored reference
#: is kept decoded between checks (``LayoutDriftStore``), so what every check derives from
#: its columns is derived once; bounded, and checked by identity (an id can be reused).
_DERIVED: dict[int, tuple[NumericProfile, dict[Any, Any]]] = {}
_DERIVED_KEPT = 4096


def _derived(profile: NumericProfile) -> dict[Any, Any]:
    found = _DERIVED.get(id(profile))
    if found is None or found[0] is not profile:
        if len(_DERIVED) >= _DERIVED_KEPT:
            _DERIVED.clear()
        found = _DERIVED[id(profile)] = (profile, {})
    return found[1]


def bucket_arrays(profile: NumericProfile) -> tuple[np.ndarray, np.ndarray]:
    """The profile's bucket indices, sorted, and their counts (read-only: derived once)."""
    memo = _derived(profile)
    found = memo.get("buckets")
    if found is None:
        keys = np.fromiter(profile.buckets.keys(), dtype=np.int64, count=len(profile.buckets))
        counts = np.fromiter(profile.buckets.values(), dtype=np.int64,
                             count=len(profile.buckets))
        order = np.argsort(keys)
        found = memo["buckets"] = (keys[order], counts[order])
        for array in found:
            array.flags.writeable = False
    return found


def sorted_quantiles(values: np.ndarray, qs: Sequence[float],
                     integer: bool = False) -> list[float]:
    """``np.quantile(values, qs)`` (its default, linear rule) of values already sorted: read
    at their positions instead of partitioning again. ``integer``: the ``inverted_cdf``
    rule instead — the smallest value with at least that share at or below it — so the
    quantiles of counts are counts."""
    n = len(values)
    if n == 0:
        return [math.nan] * len(qs)
    out = []
    for q in qs:   # a handful of quantiles: scalar arithmetic beats array calls here
        if integer:
            out.append(float(values[min(max(math.ceil(q * n) - 1, 0), n - 1)]))
            continue
        at = q * (n - 1)
        below = math.floor(at)
        t = at - below
        a, b = float(values[below]), float(values[min(below + 1, n - 1)])
        # numpy's _lerp: from the nearer end, so that t = 1 gives b exactly.
        out.append(b - (b - a) * (1 - t) if t >= 0.5 else a + (b - a) * t)
    return out


def quantiles(profile: NumericProfile, qs: Sequence[float]) -> list[float]:
    """Quantiles: exact (numpy's linear rule) while every value is kept, else from buckets
    (the midpoint, in z, of the bucket holding the quantile, clipped to [min, max]); whole
    numbers for a column of whole numbers (see :func:`sorted_quantiles`)."""
    if profile.count == 0:
        return [math.nan] * len(qs)
    if profile.sample is not None:
        return sorted_quantiles(profile.sample_array, qs, profile.integer)
    memo = _derived(profile)
    key = ("quantiles", tuple(float(q) for q in qs))
    found = memo.get(key)
    if found is None:
        keys, counts = bucket_arrays(profile)
        cum = np.cumsum(counts)
        lo, hi = bucket_bounds(keys, profile.spec)
        found = []
        for q in qs:
            i = int(np.searchsorted(cum, q * (profile.count - 1) + 1, side="left"))
            i = min(i, len(keys) - 1)
            value = float(np.clip((lo[i] + hi[i]) / 2, profile.min, profile.max))
            found.append(float(round(value)) if profile.integer else value)
        memo[key] = found
    return list(found)


def summary(profile: Any) -> dict[str, float]:
    """The numbers a report shows for a column profile."""
    if profile.kind == NUMERIC:
        q = quantiles(profile, (0.05, 0.25, 0.5, 0.75, 0.95))
        return {"count": float(profile.count), "missing_share": profile.missing_share,
                "mean": profile.mean if profile.count else math.nan, "std": profile.std,
                "min": profile.min if profile.count else math.nan,
                "max": profile.max if profile.count else math.nan,
                "p05": q[0], "p25": q[1], "median": q[2], "p75": q[3], "p95": q[4]}
    top = max(profile.frequencies.items(), key=lambda kv: kv[1], default=(None, 0))
    return {"count": float(profile.count), "missing_share": profile.missing_share,
            "categories": float(len(profile.frequencies)),
            "top_share": top[1] / profile.count if profile.count else math.nan}
