"""Checking a dataset against a reference profile, column by column.

``method="auto"`` picks, per column:

- numeric: the two-sample Kolmogorov-Smirnov test **and** the Wasserstein distance in
  reference standard deviations. A column drifts when the test is significant (p < 0.025,
  after the correction below; ``threshold`` sets it) and the distance is at least
  ``min_effect`` (0.05 σ). The test
  alone flags every column once samples are large — a shift of 0.001 σ is "significant" at a
  million rows — and a distance alone cannot tell noise from drift in small samples;
  requiring both keeps the false-alarm rate at or below α at every size, while a 0.1 σ shift
  is found from a few thousand rows on.
- binary (every value 0 or 1): the two-proportion z-test — Fisher's exact test when fewer than
  ``MIN_EXPECTED_FOR_Z`` ones or zeros are expected in the current data — and the change of
  the share of ones (at least ``min_effect`` 0.02).
- categorical: the chi-square test of homogeneity and the total variation distance (at least
  0.02).

The verdict of a whole check, by default (``modelops.drift.methods`` holds the defaults,
shared with the health rules; docs/decisions.md gives the error rates they were chosen
from):

- ``min_rows`` (100): a column with fewer non-missing current values is not judged
  (``ColumnDrift.judged`` is False): one logged row is no evidence of drift;
- ``correction`` (``"bh"``): the p-values of the judged columns (target and prediction
  included) are adjusted together by Benjamini-Hochberg, so a check of 30 clean columns
  flags one in about α of checks, not in 1 - (1 - α)^30 = 79 % of them; ``"bonferroni"``
  is stricter, ``"none"`` judges each column at α alone;
- ``drift_share`` (0.5): the dataset drifted when at least this share of the judged feature
  columns drifted.

While the reference keeps every value (at most 5,000), the statistics are computed exactly
(they equal scipy's); beyond, from the reference's buckets, with the current values put in
the same buckets (``modelops.drift.columns``). A named ``method`` comes from the drift method
table (``modelops.drift.methods``: the built-in statistics and those of plugins, found the
same way) and applies to the columns it suits, without the effect gate; ``threshold``
overrides its alpha or distance threshold.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from modelops.drift import stats
from modelops.drift.columns import CategoricalColumn, NumericColumn, prepared
from modelops.drift.methods import (
    CORRECTIONS,
    DEFAULT_CORRECTION,
    DEFAULT_DRIFT_ALPHA,
    DEFAULT_DRIFT_SHARE,
    DEFAULT_MIN_EFFECT,
    DEFAULT_MIN_ROWS,
    is_builtin,
    method_table,
)
from modelops.drift.multivariate import check_multivariate
from modelops.drift.profile import check_magnitude, summary
from modelops.entities.drift import (
    CategoricalProfile,
    ColumnDrift,
    DatasetProfile,
    DriftMethod,
    DriftReport,
    Histogram,
    NumericProfile,
)
from modelops.errors import InvalidInput
from modelops.frames import numeric, to_columns

_HIST_LEVELS = 20
#: A binary column is judged by the two-proportion z-test when at least this many ones and
#: zeros are expected in the current data, else by Fisher's exact test.
MIN_EXPECTED_FOR_Z = 10
#: How ``check_profile(histogram=...)`` may cut numeric histograms.
HISTOGRAM_SCALES = ("auto", "linear", "log")
_CORRECTION_NAMES = {"bh": "Benjamini-Hochberg", "bonferroni": "Bonferroni"}


def _fmt_n(n: int) -> str:
    return f"{n:,}"


def _gate(test: stats.StatResult, effect: float, min_effect: float) -> bool:
    return bool(test.pvalue is not None and test.pvalue < test.threshold
                and effect >= min_effect)


def _numeric_summary(finite: np.ndarray, rows: int,
                     quantile_of: Any) -> dict[str, float]:
    """The numbers ``profile.summary`` reports, computed directly from current values;
    ``quantile_of(qs)`` gives their quantiles."""
    n = len(finite)
    if n == 0:
        nan = math.nan
        return {"count": 0.0, "missing_share": 1.0 if rows else 0.0, "mean": nan, "std": nan,
                "min": nan, "max": nan, "p05": nan, "p25": nan, "median": nan, "p75": nan,
                "p95": nan}
    qs = (0.05, 0.25, 0.5, 0.75, 0.95)
    q = quantile_of(qs)
    return {"count": float(n), "missing_share": 1 - n / rows if rows else 0.0,
            "mean": float(finite.mean()), "std": float(finite.std(ddof=1)) if n > 1 else math.nan,
            "min": float(finite.min()), "max": float(finite.max()),
            "p05": q[0], "p25": q[1], "median": q[2], "p75": q[3], "p95": q[4]}


def _categorical_summary(counts: np.ndarray, missing: int) -> dict[str, float]:
    n = int(counts.sum())
    rows = n + missing
    return {"count": float(n), "missing_share": missing / rows if rows else 0.0,
            "categories": float(len(counts)),
            "top_share": float(counts.max()) / n if n else math.nan}


def check_profile(profile: DatasetProfile, frame: Any, *, method: str | Mapping[str, str] = "auto",
                  threshold: float | None = None, correction: str | None = DEFAULT_CORRECTION,
                  min_effect: float | Mapping[str, float] | None = None,
                  drift_share: float = DEFAULT_DRIFT_SHARE,
                  min_rows: int = DEFAULT_MIN_ROWS, histogram: str = "auto",
                  multivariate: bool | str | Sequence[str] = False) -> DriftReport:
    """Check a frame against a reference profile; returns an (unsaved) DriftReport.

    See the module doc for how columns and the dataset are judged; ``correction=None`` is
    ``"none"``. ``histogram`` cuts the numeric columns' histograms: ``"auto"`` (log-spaced
    bins for a positive, right-skewed column, whole-number bins for whole numbers, else
    equal widths), ``"linear"`` or ``"log"``. ``multivariate`` names multivariate methods to
    run too (True: all of them; see ``modelops.drift.multivariate``).
    """
    correction = check_correction(correction)
    if not (isinstance(drift_share, (int, float)) and 0 < drift_share <= 1):
        raise InvalidInput(f"expected a share in (0, 1], got {drift_share!r}",
                           field="drift_share")
    if threshold is not None and (not isinstance(threshold, (int, float))
                                  or not math.isfinite(threshold) or threshold <= 0):
        raise InvalidInput(f"expected a positive number, got {threshold!r}", field="threshold")
    if isinstance(min_rows, bool) or not isinstance(min_rows, int) or min_rows < 1:
        raise InvalidInput(f"expected a whole number >= 1, got {min_rows!r}", field="min_rows")
    if histogram not in HISTOGRAM_SCALES:
        raise InvalidInput(f"expected one of {', '.join(HISTOGRAM_SCALES)}, got "
                           f"{histogram!r}", field="histogram")
    gates = dict(DEFAULT_MIN_EFFECT)
    if isinstance(min_effect, Mapping):
        gates.update(min_effect)
    elif min_effect is not None:
        gates = dict.fromkeys(gates, float(min_effect))
    data = to_columns(frame)
    rows = len(next(iter(data.values()))) if data else 0
    if rows == 0:
        raise InvalidInput("the frame has no rows", field="frame")
    if not isinstance(method, (str, Mapping)):
        raise InvalidInput(f"expected a method's name or a mapping of column to method's "
                           f"name, got {type(method).__name__}", field="method")
    names = {method} if isinstance(method, str) else set(method.values())
    table = method_table() if names - {"auto"} else {}
    methods = _methods_by_column(method, profile, table)
    results: list[ColumnDrift] = []
    for col, ref in profile.columns.items():
        if col not in data:
            continue
        role = "target" if col == profile.target else (
            "prediction" if col == profile.prediction else "feature")
        results.append(_check_column(col, role, ref, data[col], methods.get(col),
                                     threshold, gates, min_rows, histogram))
    results = correct(results, correction)
    features = [r for r in results if r.role == "feature"]
    judged = [r for r in features if r.judged]
    share = sum(r.drifted for r in judged) / len(judged) if judged else 0.0
    by_role = {r.role: r for r in results if r.role != "feature"}
    return DriftReport(
        name=profile.name, profile_id=profile.profile_id, columns=features, share=share,
        drifted=bool(judged) and share >= drift_share, drift_share=drift_share,
        method=method if isinstance(method, str) else "per-column", correction=correction,
        missing_columns=[c for c in profile.columns if c not in data],
        new_columns=[c for c in data if c not in profile.columns],
        n_reference=profile.rows, n_current=rows, target=by_role.get("target"),
        prediction=by_role.get("prediction"), min_rows=min_rows,
        multivariate=check_multivariate(profile, data, multivariate),
    )


def check_correction(correction: str | None) -> str:
    """The name of a correction (None is ``"none"``); ``InvalidInput`` for an unknown one."""
    correction = "none" if correction is None else correction
    if correction not in CORRECTIONS:
        raise InvalidInput(f"expected one of {', '.join(CORRECTIONS)}, got {correction!r}",
                           field="correction")
    return correction


def _suits(method: DriftMethod, profile: Any) -> bool:
    """Whether ``method`` applies to a column of this profile: a binary column is numeric too."""
    return profile.kind in method.kinds or (
        profile.kind == "numeric" and "binary" in method.kinds and profile.binary)


def _methods_by_column(method: str | Mapping[str, str], profile: DatasetProfile,
                       table: Mapping[str, DriftMethod]) -> dict[str, DriftMethod]:
    """The named method of each column (a column left out is checked by auto). A single name
    applies to the columns it suits (the others use auto); a mapping names each column's
    method and must suit it."""
    known = {"auto", *table}
    if isinstance(method, str):
        if method not in known:
            raise InvalidInput(f"unknown method {method!r}; expected one of "
                               f"{', '.join(sorted(known))}", field="method")
        if method == "auto":
            return {}
        return {col: table[method] for col, p in profile.columns.items()
                if _suits(table[method], p)}
    out = {}
    for col, m in method.items():
        if col not in profile.columns:
            raise InvalidInput(f"the reference has no column {col!r}", field="method")
        if m not in known:
            raise InvalidInput(f"unknown method {m!r}", field=f"method[{col!r}]")
        if m == "auto":
            continue
        if not _suits(table[m], profile.columns[col]):
            raise InvalidInput(f"{m} does not apply to the {profile.columns[col].kind} column "
                               f"{col!r}", field=f"method[{col!r}]")
        out[col] = table[m]
    return out


def _check_column(col: str, role: str, ref: Any, values: np.ndarray,
                  method: DriftMethod | None, threshold: float | None,
                  gates: dict[str, float], min_rows: int, scale: str = "auto") -> ColumnDrift:
    if isinstance(ref, NumericProfile):
        try:
            current = numeric(values, col)
        except InvalidInput:
            raise InvalidInput("was numeric in the reference but holds non-numbers now",
                               field=f"column {col!r}") from None
        return _check_numeric(col, role, ref, current, method, threshold, gates, min_rows,
                              scale)
    return _check_categorical(col, role, ref, values, method, threshold, gates, min_rows)


def _not_judged(col: str, role: str, kind: str, ref: Any, n_cur: int, missing_cur: float,
                sizes: str, min_rows: int) -> ColumnDrift:
    return ColumnDrift(column=col, kind=kind, role=role, method="min_rows",
                       statistic=float(n_cur), pvalue=None, threshold=float(min_rows),
                       drifted=False, judged=False,
                       reason=f"{kind} column, {sizes}: fewer than {min_rows:,} non-missing "
                              "current values (min_rows), not judged",
                       n_reference=ref.count, n_current=n_cur,
                       missing_share_reference=ref.missing_share,
                       missing_share_current=missing_cur)


def _compute(col: str, kind: str, method: DriftMethod, column: Any, values: np.ndarray,
             threshold: float | None) -> stats.StatResult:
    """Run a named method on one column (prepared as ``column``) whose data turned out to be
    of ``kind``."""
    if kind not in method.kinds and not (kind == "binary" and "numeric" in method.kinds):
        raise InvalidInput(f"{method.name} applies to {', '.join(method.kinds)} columns, not "
                           f"{kind} ones", field=f"method[{col!r}]")
    try:
        with prepared(column, values):
            result = method.compute(column.ref, values, threshold)
    except InvalidInput as exc:
        if exc.field not in (None, "method"):
            raise
        message = str(exc).removeprefix(f"{exc.field}: ") if exc.field else str(exc)
        raise InvalidInput(message, field=f"method[{col!r}]") from None
    if not isinstance(result, stats.StatResult):
        raise InvalidInput(f"drift method {method.name!r} returned {type(result).__name__}, "
                           "not a StatResult", field="method")
    return result


def _requested(kind: str, sizes: str, method: DriftMethod, how: str) -> str:
    if is_builtin(method):
        return f"{kind} column, {sizes}{how}: {method.name} as requested"
    return f"{kind} column, {sizes}: {method.name} (from a plugin) as requested"


def _empty_result(col: str, role: str, kind: str, ref: Any, n_cur: int, missing_cur: float,
                  reason: str, drifted: bool) -> ColumnDrift:
    return ColumnDrift(column=col, kind=kind, role=role, method="missing_values",
                       statistic=1.0 if drifted else 0.0, pvalue=None, threshold=0.0,
                       drifted=drifted, reason=reason, n_reference=ref.count, n_current=n_cur,
                       missing_share_reference=ref.missing_share,
                       missing_share_current=missing_cur)


def _check_numeric(col: str, role: str, ref: NumericProfile, values: np.ndarray,
                   method: DriftMethod | None, threshold: float | None,
                   gates: dict[str, float], min_rows: int, scale: str) -> ColumnDrift:
    nan_share = float(np.isnan(values).mean()) if len(values) else 0.0
    if ref.count:     # a reference stored before its values' range was checked
        check_magnitude(ref.min, ref.max, col, "has a reference with")
    col_data = NumericColumn(ref, values)
    cur = col_data.values
    kind = "binary" if ref.binary and bool(np.all((cur == 0) | (cur == 1))) else "numeric"
    sizes = f"{_fmt_n(ref.count)} vs {_fmt_n(len(cur))} values"
    if (ref.count == 0 or len(cur) == 0) and len(values) >= min_rows:
        both = ref.count == 0 and len(cur) == 0
        which = "neither sample has" if both else (
            "the reference has" if ref.count == 0 else "the current data has")
        return _empty_result(col, role, kind, ref, len(cur), nan_share,
                             f"{which} no finite values", drifted=not both)
    if len(cur) < min_rows or ref.count == 0:
        return _not_judged(col, role, kind, ref, len(cur), nan_share, sizes, min_rows)
    how = "exactly" if col_data.exact else "on the reference's buckets"
    min_effect = gates[kind]
    effect = effect_method = gate = None
    if method is None and kind == "binary":
        ones = round(ref.mean * ref.count), float(cur.sum())
        pooled = (ones[0] + ones[1]) / (ref.count + len(cur))
        # few ones (or zeros) expected in the current data: the normal tail is too light
        exact = min(pooled, 1 - pooled) * len(cur) < MIN_EXPECTED_FOR_Z
        two_proportions = stats.fisher_exact_from_counts if exact else \
            stats.z_proportion_from_counts
        test = two_proportions(ones[0], ref.count, ones[1], len(cur),
                               threshold or DEFAULT_DRIFT_ALPHA)
        effect, effect_method = abs(float(cur.mean()) - ref.mean), "share_of_ones"
        drifted = gate = _gate(test, effect, min_effect)
        name = "Fisher's exact test" if exact else "two-proportion z-test"
        reason = (f"binary column, {sizes}: {name} (p={test.pvalue:.3g}, "
                  f"alpha {test.threshold:g}) and the share of ones moved by {effect:.3g} "
                  f"(needs {min_effect:g})")
    elif method is None:
        test = col_data.ks(threshold or DEFAULT_DRIFT_ALPHA)
        dist = col_data.wasserstein(min_effect)
        effect, effect_method = dist.statistic, "wasserstein"
        drifted = gate = _gate(test, effect, min_effect)
        reason = (f"numeric column, {sizes}, computed {how}: KS test (p={test.pvalue:.3g}, "
                  f"alpha {test.threshold:g}) and Wasserstein distance {effect:.3g} σ "
                  f"(needs {min_effect:g} σ)")
    else:
        test = _compute(col, kind, method, col_data, values, threshold)
        drifted = test.drifted
        reason = _requested(kind, sizes, method, f", computed {how}")
    if gate is not None:
        reason += ": drifted" if drifted else ": not drifted"
    ref_summary = summary(ref)
    cur_summary = _numeric_summary(cur, len(values), col_data.current_quantiles)
    return ColumnDrift(
        column=col, kind=kind, role=role, method=test.method, statistic=test.statistic,
        pvalue=test.pvalue, threshold=test.threshold, drifted=bool(drifted), effect=effect,
        effect_method=effect_method, min_effect=min_effect if effect is not None else None,
        reason=reason, n_reference=ref.count, n_current=len(cur),
        missing_share_reference=ref.missing_share, missing_share_current=nan_share,
        reference_summary=ref_summary, current_summary=cur_summary,
        histogram=col_data.histogram(scale),
    )


def _check_categorical(col: str, role: str, ref: CategoricalProfile, values: np.ndarray,
                       method: DriftMethod | None, threshold: float | None,
                       gates: dict[str, float], min_rows: int) -> ColumnDrift:
    col_data = CategoricalColumn(ref, values, col)
    n_cur, missing = col_data.n, col_data.missing
    missing_share = missing / len(values) if len(values) else 0.0
    union, cur_map, r, c = col_data.categories, col_data.current, col_data.r, col_data.c
    sizes = f"{_fmt_n(ref.count)} vs {_fmt_n(n_cur)} values, {len(union)} categories"
    if (ref.count == 0 or n_cur == 0) and len(values) >= min_rows:
        both = ref.count == 0 and n_cur == 0
        which = "neither sample has" if both else (
            "the reference has" if ref.count == 0 else "the current data has")
        return _empty_result(col, role, "categorical", ref, n_cur, missing_share,
                             f"{which} any non-missing value", drifted=not both)
    if n_cur < min_rows or ref.count == 0:
        return _not_judged(col, role, "categorical", ref, n_cur, missing_share, sizes,
                           min_rows)
    unseen = [k for k in col_data.levels if k not in ref.frequencies]
    min_effect = gates["categorical"]
    effect = None
    if method is None:
        test = stats.chi2(r, c, threshold or DEFAULT_DRIFT_ALPHA)
        effect = float(0.5 * np.abs(r / r.sum() - c / c.sum()).sum())
        drifted = _gate(test, effect, min_effect)
        reason = (f"categorical column, {sizes}: chi-square test (p={test.pvalue:.3g}, alpha "
                  f"{test.threshold:g}) and total variation {effect:.3g} (needs {min_effect:g})"
                  f": {'drifted' if drifted else 'not drifted'}")
    else:
        test = _compute(col, "categorical", method, col_data, values, threshold)
        drifted = test.drifted
        reason = _requested("categorical", sizes, method, "")
    if unseen:
        reason += (f"; {len(unseen)} {'category' if len(unseen) == 1 else 'categories'} "
                   "never seen in the reference")
    top = sorted(union, key=lambda k: -(ref.frequencies.get(k, 0) + cur_map.get(k, 0)))
    shown = top[:_HIST_LEVELS]
    rest = top[_HIST_LEVELS:]
    rs, cs = r / r.sum(), c / c.sum()
    pos = {k: i for i, k in enumerate(union)}
    hist_r = [float(rs[pos[k]]) for k in shown]
    hist_c = [float(cs[pos[k]]) for k in shown]
    if rest:
        shown = [*shown, "(other)"]
        hist_r.append(float(sum(rs[pos[k]] for k in rest)))
        hist_c.append(float(sum(cs[pos[k]] for k in rest)))
    ref_summary = summary(ref)
    cur_summary = _categorical_summary(col_data.counts, missing)
    return ColumnDrift(
        column=col, kind="categorical", role=role, method=test.method,
        statistic=test.statistic, pvalue=test.pvalue, threshold=test.threshold,
        drifted=bool(drifted), effect=effect, effect_method="tvd" if effect is not None else None,
        min_effect=min_effect if effect is not None else None, reason=reason,
        n_reference=ref.count, n_current=n_cur, missing_share_reference=ref.missing_share,
        missing_share_current=missing_share, unseen_categories=unseen,
        reference_summary=ref_summary, current_summary=cur_summary,
        histogram=Histogram(shown, hist_r, hist_c),
    )


def adjust(pvalues: Sequence[float], correction: str) -> list[float]:
    """The p-values adjusted over the family: Bonferroni ``min(p·m, 1)``; Benjamini-Hochberg
    step-up (``statsmodels``' ``fdr_bh``, R's ``p.adjust(method="BH")``); "none": as given."""
    p = np.asarray(pvalues, dtype=np.float64)
    m = len(p)
    if correction == "none" or m == 0:
        return p.tolist()
    if correction == "bonferroni":
        return np.minimum(p * m, 1.0).tolist()
    order = np.argsort(p)
    ranked = p[order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(ranked, 1.0)
    return adjusted.tolist()


def correct(results: Sequence[ColumnDrift], correction: str) -> list[ColumnDrift]:
    """The columns re-decided on p-values adjusted over every judged column that has one
    (from their ``raw_pvalue`` when already adjusted, so a family can be corrected again
    with a member added). A column's verdict keeps its effect gate."""
    import attrs

    correction = check_correction(correction)
    out = list(results)
    tested = [i for i, r in enumerate(out) if r.judged and r.pvalue is not None]
    if correction == "none" or not tested:
        return out
    raw = [out[i].pvalue if out[i].raw_pvalue is None else out[i].raw_pvalue for i in tested]
    m = len(tested)
    label = _CORRECTION_NAMES[correction]
    for i, p, q in zip(tested, raw, adjust(raw, correction)):
        r = out[i]
        significant = q < r.threshold
        drifted = significant and (r.effect is None or r.min_effect is None
                                   or r.effect >= r.min_effect)
        reason = r.reason.split("; p adjusted by ")[0]
        out[i] = attrs.evolve(r, pvalue=q, raw_pvalue=p, drifted=drifted,
                              reason=f"{reason}; p adjusted by {label} over {m} tests to "
                                     f"{q:.3g}: {'drifted' if drifted else 'not drifted'}")
    return out
