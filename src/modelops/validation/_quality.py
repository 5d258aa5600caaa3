"""Data quality: missing values, duplicate rows, constant columns, outliers, class balance, and
one score."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np

from modelops.entities import FrozenDict, freeze
from modelops.entities.plain import to_plain
from modelops.errors import InvalidInput, NotFound
from modelops.validation._frame import (
    NUMERIC,
    Column,
    check_names,
    duplicated_rows,
    read,
    sort_labels,
)
from modelops.validation._issues import HasIssues, Issue, _to_issues, fmt, text_table

__all__ = ["OUTLIER_METHODS", "WEIGHTS", "ClassBalance", "ColumnQuality", "QualityReport",
           "check_quality", "quality_score"]

OUTLIER_METHODS = ("iqr", "zscore")
MINORITY_SHARE = 0.10   # a minority class below this share is an imbalance issue

#: How much each kind of problem can cost the score (they sum to 1, so the score is in [0, 100]).
WEIGHTS = {"missing": 0.35, "duplicates": 0.20, "constant": 0.15, "outliers": 0.15,
           "imbalance": 0.15}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


@attrs.frozen(kw_only=True)
class ColumnQuality:
    """Quality statistics of one column.

    ``missing`` counts NaN/None and ``infinite`` ±inf (numeric columns; never counted as
    missing). ``distinct`` counts distinct non-missing values (infinities included);
    ``constant`` is True when there is exactly one, ``all_missing`` when there is none in a
    non-empty column. ``min``/``max``/``mean``/``std`` (``std`` with ddof=0) describe the finite
    values of a numeric column (None for a categorical column or when there is no finite value).
    ``outliers`` is the number of finite values outside ``[lower, upper]`` by the chosen
    method, ``outlier_share`` their share of the finite values; all four are None when outliers
    were not looked for (categorical columns, the target, booleans, columns with fewer than
    three distinct finite values).
    """

    name: str
    kind: str
    dtype: str
    rows: int
    missing: int
    missing_share: float
    infinite: int
    distinct: int
    constant: bool
    all_missing: bool
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    std: float | None = None
    outliers: int | None = None
    outlier_share: float | None = None
    lower: float | None = None
    upper: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Every field, as plain data."""
        return to_plain(attrs.asdict(self, recurse=False))


@attrs.frozen(kw_only=True)
class ClassBalance:
    """The classes of the target column.

    ``counts`` and ``shares`` (of the labelled rows) per class label (as text, in natural
    order); ``missing`` rows without a label. ``majority``/``minority`` are the most and least
    frequent classes (the first in order on a tie), ``imbalance_ratio`` their count ratio
    (1.0 for a single class); all three are None when no row has a label.
    """

    column: str
    counts: FrozenDict[str, int] = attrs.field(converter=freeze)
    shares: FrozenDict[str, float] = attrs.field(converter=freeze)
    missing: int
    majority: str | None
    minority: str | None
    imbalance_ratio: float | None

    @property
    def minority_share(self) -> float | None:
        """The share of the least frequent class (None without labels)."""
        return None if self.minority is None else self.shares[self.minority]

    def to_dict(self) -> dict[str, Any]:
        """Every field, as plain data."""
        return to_plain(attrs.asdict(self, recurse=False))


def _to_columns(value: Any) -> tuple[ColumnQuality, ...]:
    return tuple(value)


@attrs.frozen(kw_only=True)
class QualityReport(HasIssues):
    """What :func:`check_quality` found: per-column statistics (``columns``), exact duplicate
    rows, the class balance of the target, the issues and the ``score`` (0 to 100).

    ``to_dict()`` holds everything; ``to_table()`` gives one row per column (the issues are
    in ``issues`` and ``to_dict()``); ``str()`` shows the score, the column table and the
    issues.
    """

    rows: int
    columns: tuple[ColumnQuality, ...] = attrs.field(converter=_to_columns)
    duplicate_rows: int
    duplicate_share: float
    outlier_method: str
    class_balance: ClassBalance | None = None
    score: float
    issues: tuple[Issue, ...] = attrs.field(default=(), converter=_to_issues)

    def column(self, name: str) -> ColumnQuality:
        """The statistics of one column; ``NotFound`` if there is none."""
        for col in self.columns:
            if col.name == name:
                return col
        raise NotFound(f"the report has no column {name!r}")

    def to_dict(self) -> dict[str, Any]:
        """The whole report as plain data."""
        return {"rows": self.rows, "score": self.score, "passed": self.passed,
                "duplicate_rows": self.duplicate_rows, "duplicate_share": self.duplicate_share,
                "outlier_method": self.outlier_method,
                "columns": [c.to_dict() for c in self.columns],
                "class_balance": None if self.class_balance is None
                else self.class_balance.to_dict(),
                "issues": [i.to_dict() for i in self.issues]}

    def to_table(self) -> list[dict[str, Any]]:
        """One row per column with every statistic (``ColumnQuality.to_dict()``)."""
        return [c.to_dict() for c in self.columns]

    def __str__(self) -> str:
        head = (f"quality score {self.score:.1f}/100: {_plural(self.rows, 'row')}, "
                f"{_plural(len(self.columns), 'column')}, "
                f"{_plural(self.duplicate_rows, 'duplicate row')} "
                f"({self.duplicate_share:.1%})")
        table = text_table([c.to_dict() for c in self.columns],
                           ["name", "kind", "dtype", "missing", "infinite", "distinct", "min",
                            "max", "mean", "std", "outliers"])
        parts = [head, table]
        cb = self.class_balance
        if cb is not None and cb.majority is not None:
            shares = ", ".join(f"{k} {v:.1%}" for k, v in cb.shares.items())
            parts.append(f"classes of {cb.column!r}: {shares} "
                         f"(imbalance ratio {fmt(cb.imbalance_ratio)})")
        parts += [self._verdict(), self._issue_text()]
        return "\n".join(parts)


# ---------------------------------------------------------------------------------------------


def _check_positive(value: Any, field: str, *, allow_zero: bool) -> float:
    ok = (not isinstance(value, bool) and isinstance(value, (int, float, np.number))
          and math.isfinite(value) and (value > 0 or (allow_zero and value == 0)))
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise InvalidInput(f"expected a finite number {bound}, got {value!r}", field=field)
    return float(value)


def check_quality(frame: Any, *, target: str | None = None, outlier_method: str = "iqr",
                  iqr_k: float = 1.5, z_threshold: float = 3.0,
                  categorical: Sequence[str] | None = None,
                  columns: Sequence[str] | None = None) -> QualityReport:
    """Check the quality of one frame.

    Per column: missing values (``missing_values``, warning), a column with no value at all
    (``all_missing``, warning), a column with one distinct value (``constant_column``,
    warning), ±inf (``infinite_values``, error; infinities are left out of every statistic),
    and outliers among the finite values of numeric columns (``outliers``, info):

    - ``outlier_method="iqr"``: outside Tukey's fences ``[q1 - k*iqr, q3 + k*iqr]``, with the
      quartiles of ``numpy.percentile`` (linear interpolation) and ``k = iqr_k``;
    - ``outlier_method="zscore"``: ``|x - mean| / std > z_threshold``, with ``std`` of ddof=0
      (as ``scipy.stats.zscore``).

    Outliers are not looked for in the target, in booleans, and in columns with fewer than
    three distinct finite values (a flag has no outliers). Frame-level: exact duplicate rows
    (``duplicate_rows``, warning; NaN equals NaN). With ``target`` (a column of class labels:
    strings, booleans or whole numbers): the share of each class, the imbalance ratio
    (majority/minority count), ``class_imbalance`` (warning) when the minority share is below
    10% and ``single_class`` (warning) when there is one class only.

    The score starts at 100 and loses ``100 * sum(weight * share)``::

        missing     0.35 x (missing + infinite cells) / all cells
        duplicates  0.20 x duplicate rows / rows
        constant    0.15 x (constant + all-missing columns) / columns
        outliers    0.15 x outlier values / finite values of the columns checked for outliers
        imbalance   0.15 x (1 - minority share / 0.10) when the minority share is below 10%,
                    1 when the target has fewer than two classes, else 0 (and 0 without target)

    The weights sum to 1, so the score is in [0, 100]. An empty frame (no rows) scores 0 and
    gets an ``empty_frame`` error. ``columns`` names the columns of a 2-D numpy array;
    ``categorical`` lists columns to treat as labels whatever their dtype.
    """
    if outlier_method not in OUTLIER_METHODS:
        raise InvalidInput(f"expected one of {', '.join(OUTLIER_METHODS)}, "
                           f"got {outlier_method!r}", field="outlier_method")
    k = _check_positive(iqr_k, "iqr_k", allow_zero=True)
    z = _check_positive(z_threshold, "z_threshold", allow_zero=False)
    data = read(frame, "frame", columns)
    forced = check_names(categorical, data, "categorical")
    if target is not None and target not in data:
        raise InvalidInput(f"no column {target!r} in the frame", field="target")
    cols = [Column(name, raw, forced_categorical=name in forced) for name, raw in data.items()]
    rows = len(cols[0]) if cols else 0
    stats = [_column_quality(c, skip_outliers=c.name == target, method=outlier_method,
                             k=k, z=z) for c in cols]
    balance = None
    if target is not None:
        balance = class_balance(next(c for c in cols if c.name == target))
    dup = int(duplicated_rows([c.key() for c in cols], rows).sum()) if rows else 0
    dup_share = dup / rows if rows else 0.0

    issues: list[Issue] = []
    if rows == 0:
        issues.append(Issue(check="empty_frame", severity="error", count=0,
                            message="the frame has no columns" if not cols
                            else "the frame has no rows"))
    if dup:
        issues.append(Issue(check="duplicate_rows", severity="warning", count=dup,
                            message=f"{_plural(dup, 'row')} "
                                    f"{'repeats' if dup == 1 else 'repeat'} an earlier row "
                                    f"({dup_share:.1%})",
                            details={"share": dup_share}))
    for s in stats:
        issues.extend(_column_issues(s, outlier_method, k, z))
    if balance is not None:
        issues.extend(_balance_issues(balance))
    score = quality_score(stats, rows, dup, balance)
    return QualityReport(rows=rows, columns=stats, duplicate_rows=dup, duplicate_share=dup_share,
                         outlier_method=outlier_method, class_balance=balance, score=score,
                         issues=issues)


def quality_score(columns: Sequence[ColumnQuality], rows: int, duplicate_rows: int,
                  balance: ClassBalance | None) -> float:
    """The score of :func:`check_quality` from its parts (see there for the formula)."""
    if rows == 0 or not columns:
        return 0.0
    cells = rows * len(columns)
    missing = sum(c.missing + c.infinite for c in columns) / cells
    duplicates = duplicate_rows / rows
    constant = sum(c.constant or c.all_missing for c in columns) / len(columns)
    checked = [c for c in columns if c.outliers is not None]
    finite = sum(c.rows - c.missing - c.infinite for c in checked)
    outliers = sum(c.outliers or 0 for c in checked) / finite if finite else 0.0
    imbalance = 0.0
    if balance is not None:
        share = balance.minority_share
        if share is None or len(balance.counts) < 2:
            imbalance = 1.0
        elif share < MINORITY_SHARE:
            imbalance = 1.0 - share / MINORITY_SHARE
    penalty = (WEIGHTS["missing"] * missing + WEIGHTS["duplicates"] * duplicates
               + WEIGHTS["constant"] * constant + WEIGHTS["outliers"] * outliers
               + WEIGHTS["imbalance"] * imbalance)
    return float(min(100.0, max(0.0, 100.0 * (1.0 - penalty))))


def _moments(finite: np.ndarray) -> tuple[float, float, float]:
    """Mean and std (ddof=0) of the finite values, and the scale they were computed at (values
    near the float limits are divided by their largest magnitude first, so nothing
    overflows)."""
    with np.errstate(over="ignore", invalid="ignore"):
        mean, std = float(finite.mean()), float(finite.std())
    if math.isfinite(mean) and math.isfinite(std):
        return mean, std, 1.0
    scale = float(np.abs(finite).max())
    scaled = finite / scale
    return float(scaled.mean()) * scale, float(scaled.std()) * scale, scale


def _outliers(finite: np.ndarray, method: str, k: float, z: float,
              mean: float, std: float, scale: float) -> tuple[int, float, float]:
    """The outlier count and the bounds (in value terms) of the finite values."""
    with np.errstate(over="ignore", invalid="ignore"):
        if method == "iqr":
            q1, q3 = np.percentile(finite, [25, 75])
            iqr = q3 - q1
            lower, upper = q1 - k * iqr, q3 + k * iqr
            if not (math.isfinite(iqr) and math.isfinite(lower) and math.isfinite(upper)):
                s = float(np.abs(finite).max())
                q1, q3 = np.percentile(finite / s, [25, 75])
                lower_s, upper_s = q1 - k * (q3 - q1), q3 + k * (q3 - q1)
                count = int(((finite / s < lower_s) | (finite / s > upper_s)).sum())
                return count, float(lower_s * s), float(upper_s * s)
            count = int(((finite < lower) | (finite > upper)).sum())
            return count, float(lower), float(upper)
        if scale == 1.0:
            count = int((np.abs(finite - mean) / std > z).sum())
        else:
            count = int((np.abs(finite / scale - mean / scale) / (std / scale) > z).sum())
        return count, float(mean - z * std), float(mean + z * std)


def _column_quality(col: Column, *, skip_outliers: bool, method: str, k: float,
                    z: float) -> ColumnQuality:
    n = len(col)
    missing = int(col.missing.sum())
    infinite = int(col.infinite.sum())
    base = {"name": col.name, "kind": col.kind, "dtype": col.dtype, "rows": n,
            "missing": missing, "missing_share": missing / n if n else 0.0,
            "infinite": infinite, "all_missing": n > 0 and missing == n}
    if col.kind != NUMERIC:
        levels = set(col.labels.tolist())
        levels.discard(None)
        distinct = len(levels)
        return ColumnQuality(**base, distinct=distinct, constant=distinct == 1)
    finite = np.sort(col.finite)  # sorted once: distinct values, min, max and quartiles
    levels = int(len(finite) > 0) + int(np.count_nonzero(finite[1:] != finite[:-1]))
    values = col.values
    distinct = levels + int(bool((values == np.inf).any())) \
        + int(bool((values == -np.inf).any()))
    stats: dict[str, Any] = {}
    if len(finite):
        mean, std, scale = _moments(col.finite)  # in row order, as numpy and scipy sum
        stats = {"min": float(finite[0]), "max": float(finite[-1]), "mean": mean, "std": std}
        if not skip_outliers and col.dtype != "bool" and levels >= 3:
            count, lower, upper = _outliers(finite if method == "iqr" else col.finite,
                                            method, k, z, mean, std, scale)
            stats.update(outliers=count, outlier_share=count / len(finite), lower=lower,
                         upper=upper)
    return ColumnQuality(**base, distinct=distinct, constant=distinct == 1, **stats)


def _column_issues(s: ColumnQuality, method: str, k: float, z: float) -> list[Issue]:
    issues: list[Issue] = []
    if s.all_missing:
        issues.append(Issue(column=s.name, check="all_missing", severity="warning",
                            count=s.missing, message="every value is missing"))
        return issues
    if s.missing:
        issues.append(Issue(column=s.name, check="missing_values", severity="warning",
                            count=s.missing,
                            message=f"{_plural(s.missing, 'missing value')} "
                                    f"({s.missing_share:.1%})",
                            details={"share": s.missing_share}))
    if s.infinite:
        issues.append(Issue(column=s.name, check="infinite_values", severity="error",
                            count=s.infinite,
                            message=f"{_plural(s.infinite, 'infinite value')}"))
    if s.constant:
        issues.append(Issue(column=s.name, check="constant_column", severity="warning",
                            message="the column holds a single distinct value"))
    if s.outliers:
        how = f"IQR, k={k:g}" if method == "iqr" else f"z-score > {z:g}"
        issues.append(Issue(column=s.name, check="outliers", severity="info", count=s.outliers,
                            message=f"{_plural(s.outliers, 'outlier')} "
                                    f"({s.outlier_share:.1%}) outside "
                                    f"[{s.lower:.4g}, {s.upper:.4g}] ({how})",
                            details={"method": method, "lower": s.lower, "upper": s.upper,
                                     "share": s.outlier_share}))
    return issues


def _balance_issues(b: ClassBalance) -> list[Issue]:
    if b.majority is None:
        return []
    if len(b.counts) == 1:
        return [Issue(column=b.column, check="single_class", severity="warning",
                      count=b.counts[b.majority],
                      message=f"the target has a single class, {b.majority!r}")]
    share = b.minority_share
    if share is not None and share < MINORITY_SHARE:
        return [Issue(column=b.column, check="class_imbalance", severity="warning",
                      count=b.counts[b.minority],
                      message=f"the minority class {b.minority!r} is {share:.1%} of the "
                              f"labelled rows (imbalance ratio {b.imbalance_ratio:.3g})",
                      details={"shares": dict(b.shares), "minority": b.minority,
                               "minority_share": share,
                               "imbalance_ratio": b.imbalance_ratio})]
    return []


def target_labels(col: Column) -> tuple[list[Any], int]:
    """The labels of a target column (missing left out) and the number missing; a numeric
    target must hold whole numbers."""
    if col.kind == NUMERIC:
        values = col.values[~col.missing]
        bad = values[~np.isfinite(values) | (values != np.floor(values))]
        if len(bad):
            raise InvalidInput(f"column {col.name!r} must hold class labels (strings, booleans "
                               f"or whole numbers), got {bad[0]!r}", field="target")
        if col.dtype == "bool":
            labels = ["True" if v else "False" for v in values.tolist()]
        else:
            labels = [str(int(v)) for v in values.tolist()]
        return labels, int(col.missing.sum())
    labels = [v for v in col.labels.tolist() if v is not None]
    return labels, len(col) - len(labels)


def class_balance(col: Column) -> ClassBalance:
    """Class counts and shares of a target column."""
    labels, missing = target_labels(col)
    counts = Counter(labels)
    order = sort_labels(counts, col.dtype)
    total = len(labels)
    ordered = {c: counts[c] for c in order}
    shares = {c: n / total for c, n in ordered.items()}
    if not ordered:
        return ClassBalance(column=col.name, counts={}, shares={}, missing=missing,
                            majority=None, minority=None, imbalance_ratio=None)
    majority = max(order, key=lambda c: ordered[c])   # max/min keep the first on a tie
    minority = min(order, key=lambda c: ordered[c])
    return ClassBalance(column=col.name, counts=ordered, shares=shares, missing=missing,
                        majority=majority, minority=minority,
                        imbalance_ratio=ordered[majority] / ordered[minority])
