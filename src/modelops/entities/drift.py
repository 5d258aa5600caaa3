"""Value objects of drift detection: column profiles, dataset profiles, statistic results,
drift methods (the ``modelops_drift_methods`` hook's payload) and drift reports."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from modelops.entities._frozen import FrozenDict, freeze
from modelops.entities.plain import fields_to_plain, finite_or_none
from modelops.errors import InvalidInput, NotFound

__all__ = [
    "BucketSpec",
    "CategoricalProfile",
    "ColumnDrift",
    "DatasetProfile",
    "DriftMethod",
    "DriftReport",
    "Histogram",
    "MultivariateDrift",
    "MultivariateMethod",
    "NumericProfile",
    "StatResult",
]


@attrs.frozen
class BucketSpec:
    """How a numeric column is bucketed: ``z = (x - center) / scale``, then buckets of
    relative width ``gamma`` in ``|z|`` (``|z| < z_min`` is bucket 0).

    Profiles merge exactly only when their specs are equal; fit partitions with one spec.
    """

    center: float
    scale: float
    gamma: float = 1.02
    z_min: float = 1e-6


@attrs.frozen(kw_only=True)
class NumericProfile:
    """A numeric column, summarised so that profiles of parts add up to the profile of the
    whole: counts, moment sums and bucket counts add exactly."""

    count: int                    # finite values
    missing: int                  # NaN / None
    infinite: int                 # ±inf, counted and left out of everything else
    mean: float
    m2: float                     # sums of powers of deviations from the mean
    m3: float
    m4: float
    min: float
    max: float
    binary: bool                  # every value is 0 or 1
    spec: BucketSpec
    buckets: FrozenDict[int, int] = attrs.field(factory=FrozenDict, converter=freeze)
    sample: tuple[float, ...] | None = None   # every value, sorted, while there are few
    integer: bool = False         # every value is a whole number (counts, ages, codes)

    kind = "numeric"

    @property
    def rows(self) -> int:
        return self.count + self.missing + self.infinite

    @functools.cached_property
    def sample_array(self) -> Any:
        """``sample`` as a float64 numpy array (made once), or None."""
        if self.sample is None:
            return None
        import numpy as np

        return np.asarray(self.sample, dtype=np.float64)

    @property
    def missing_share(self) -> float:
        return self.missing / self.rows if self.rows else 0.0

    @property
    def variance(self) -> float:
        """Population variance (ddof=0)."""
        return self.m2 / self.count if self.count else math.nan

    @property
    def std(self) -> float:
        """Sample standard deviation (ddof=1), as pandas reports it."""
        return math.sqrt(self.m2 / (self.count - 1)) if self.count > 1 else math.nan

    @property
    def skewness(self) -> float:
        """Fisher-Pearson skewness g1 (``scipy.stats.skew`` with its defaults)."""
        if self.count < 2 or self.m2 == 0:
            return math.nan
        n = self.count
        return (self.m3 / n) / (self.m2 / n) ** 1.5

    @property
    def kurtosis(self) -> float:
        """Excess kurtosis g2 (``scipy.stats.kurtosis`` with its defaults)."""
        if self.count < 2 or self.m2 == 0:
            return math.nan
        n = self.count
        return (self.m4 / n) / (self.m2 / n) ** 2 - 3.0


@attrs.frozen(kw_only=True)
class CategoricalProfile:
    """A categorical column: exact counts per category."""

    count: int
    missing: int
    frequencies: FrozenDict[str, int] = attrs.field(factory=FrozenDict, converter=freeze)

    kind = "categorical"

    @property
    def rows(self) -> int:
        return self.count + self.missing

    @property
    def missing_share(self) -> float:
        return self.missing / self.rows if self.rows else 0.0


def _read_only(values: Any) -> Any:
    """A column of a row sample as a read-only array: float64 for numbers, else objects."""
    import numpy as np

    array = np.asarray(values)
    array = array.astype(np.float64) if array.dtype.kind in "biuf" else \
        np.asarray(values, dtype=object)
    if array is values:
        array = array.copy()
    array.flags.writeable = False
    return array


@attrs.frozen(kw_only=True)
class DatasetProfile:
    """A reference dataset: one profile per column, and the roles of special columns.

    ``sample`` keeps whole rows for the multivariate methods, which need to see columns
    together: every row while there are at most 5,000, else 5,000 drawn at random, column by
    column as read-only numpy arrays (numeric columns float64 with NaN, categorical ones
    objects: strings or None). It is a sample, so it is left out of equality: merged profiles
    equal the whole's without it.
    """

    name: str
    columns: FrozenDict[str, Any] = attrs.field(converter=freeze)
    rows: int
    target: str | None = None
    prediction: str | None = None
    profile_id: str = ""
    created_time: int = 0
    sample: FrozenDict[str, Any] | None = attrs.field(
        default=None, eq=False, converter=lambda v: None if v is None else freeze(
            {k: _read_only(c) for k, c in v.items()}))

    @property
    def sample_rows(self) -> int:
        """How many rows ``sample`` keeps (0 without one)."""
        return len(next(iter(self.sample.values()))) if self.sample else 0


def _valid_method(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    # Any name: plugins add methods (the modelops_drift_methods hook).
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"expected a method name, got {value!r}", field="StatResult.method")


def _valid_statistic(inst: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if math.isnan(value):
        raise InvalidInput("must not be NaN", field="StatResult.statistic")


def _to_optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _valid_pvalue(inst: Any, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and not 0.0 <= value <= 1.0:
        raise InvalidInput(f"must be None or in [0, 1], got {value!r}",
                           field="StatResult.pvalue")


def _valid_threshold(inst: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if not (math.isfinite(value) and value >= 0.0):
        raise InvalidInput(f"must be finite and >= 0, got {value!r}",
                           field="StatResult.threshold")


@attrs.frozen(kw_only=True)
class StatResult:
    """One drift statistic: what was measured, its value, and the verdict at a threshold."""

    method: str = attrs.field(validator=_valid_method)
    """``"ks"``, ``"wasserstein"``, ``"psi"``, ``"jensen_shannon"``, ``"hellinger"``,
    ``"chi2"``, ``"z_proportion"``, ``"tvd"``, ``"anderson_darling"``, ``"energy"``, or the
    name of a plugin's method."""
    statistic: float = attrs.field(converter=float, validator=_valid_statistic)
    pvalue: float | None = attrs.field(converter=_to_optional_float, validator=_valid_pvalue)
    """None where the method has no p-value (a distance)."""
    threshold: float = attrs.field(converter=float, validator=_valid_threshold)
    """The threshold the verdict used: alpha for a test, a distance for the others."""
    drifted: bool = attrs.field(converter=bool)
    """``pvalue < threshold`` for a test; ``statistic >= threshold`` for a distance."""

    @property
    def kind(self) -> str:
        """``"test"`` when there is a p-value, else ``"distance"``."""
        return "test" if self.pvalue is not None else "distance"


@attrs.frozen
class DriftMethod:
    """A named drift test for some column kinds: an entry of the drift method table.

    ``kinds`` are the column kinds it applies to (``"numeric"``, ``"binary"``,
    ``"categorical"``). ``compute(reference, current, threshold)`` gets the column's reference
    profile (``NumericProfile`` or ``CategoricalProfile``), the current values as a numpy
    array (float64 for numeric columns, strings or None for categorical ones) and the
    caller's threshold (None unless given); it returns a :class:`StatResult`.
    """

    name: str
    kinds: tuple[str, ...] = attrs.field(converter=tuple)
    compute: Callable[[Any, Any, float | None], StatResult]


@attrs.frozen(kw_only=True)
class MultivariateDrift:
    """The verdict of a multivariate method on a dataset's columns taken together.

    ``statistic`` is what the method measured (``reconstruction``: the mean reconstruction
    error of the current rows; ``domain_classifier``: the ROC AUC of a classifier telling
    current rows from reference rows), ``expected`` its value without drift, and ``lower``
    /``upper`` the range it keeps without drift at the method's threshold. ``explanation``
    ranks the columns that account for the finding, as ``(column, share)`` pairs, largest
    first.
    """

    method: str
    statistic: float
    expected: float = math.nan
    lower: float = math.nan
    upper: float = math.nan
    pvalue: float | None = None
    threshold: float = 0.0
    drifted: bool
    columns: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    explanation: tuple[tuple[str, float], ...] = attrs.field(
        default=(), converter=lambda v: tuple((str(c), float(x)) for c, x in v))
    n_reference: int = 0
    n_current: int = 0
    reason: str = ""


@attrs.frozen
class MultivariateMethod:
    """A named method that judges a dataset's columns together: an entry of the drift method
    table beside the column methods, offered through the same ``modelops_drift_methods``
    hook.

    ``compute(reference, current, threshold)`` gets the reference's row sample and the
    current rows, each a mapping of column name to numpy array (float64 for numeric columns,
    objects — strings or None — for categorical ones; the same columns in both), and the
    caller's threshold (None unless given); it returns a :class:`MultivariateDrift`.
    """

    name: str
    compute: Callable[[Any, Any, float | None], MultivariateDrift]


@attrs.frozen
class Histogram:
    """Reference and current shares over the same bins, for plots: numeric bins have
    ``edges`` (len(labels) + 1), categorical bins are labelled by category. ``scale`` says
    how numeric bins were cut: ``"linear"`` (equal widths), ``"log"`` (equal ratios, for a
    positive, right-skewed column) or ``"integer"`` (whole numbers, labelled by the values
    they hold)."""

    labels: tuple[str, ...] = attrs.field(converter=tuple)
    reference: tuple[float, ...] = attrs.field(converter=tuple)
    current: tuple[float, ...] = attrs.field(converter=tuple)
    edges: tuple[float, ...] | None = attrs.field(
        default=None, converter=lambda v: None if v is None else tuple(v))
    scale: str = "linear"


@attrs.frozen(kw_only=True)
class ColumnDrift:
    """The verdict on one column, and everything that led to it."""

    column: str
    kind: str                     # numeric | binary | categorical
    role: str = "feature"         # feature | target | prediction
    method: str                   # the test or distance that decided ("min_rows": not judged)
    statistic: float
    pvalue: float | None          # adjusted over the check's columns when it corrected
    threshold: float
    drifted: bool
    effect: float | None = None           # an effect size that also had to be large enough
    effect_method: str | None = None
    min_effect: float | None = None
    reason: str = ""              # why this method, and what decided
    n_reference: int = 0
    n_current: int = 0
    missing_share_reference: float = 0.0
    missing_share_current: float = 0.0
    unseen_categories: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    reference_summary: FrozenDict[str, float] = attrs.field(factory=FrozenDict, converter=freeze)
    current_summary: FrozenDict[str, float] = attrs.field(factory=FrozenDict, converter=freeze)
    histogram: Histogram | None = None
    judged: bool = True           # False: too few current values (the check's min_rows)
    raw_pvalue: float | None = None       # before the check's correction (None: none made)


@attrs.frozen(kw_only=True)
class DriftReport:
    """A drift check of one dataset against a model's reference profile.

    ``share`` is the share of judged feature columns that drifted (a column with fewer than
    ``min_rows`` non-missing values is not judged); the dataset ``drifted`` when it reaches
    ``drift_share`` (0.5 by default, as Evidently). ``correction`` names how p-values were
    adjusted over the columns (``"bh"``, ``"bonferroni"``, ``"none"``). Target and prediction
    drift are in ``target`` and ``prediction``, outside the share.
    """

    name: str
    report_id: str = ""
    created_time: int = 0
    profile_id: str = ""
    columns: tuple[ColumnDrift, ...] = attrs.field(converter=tuple)
    share: float
    drifted: bool
    drift_share: float = 0.5
    method: str = "auto"
    correction: str | None = None
    missing_columns: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    new_columns: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    n_reference: int = 0
    n_current: int = 0
    target: ColumnDrift | None = None
    prediction: ColumnDrift | None = None
    min_rows: int = 0             # 0: a report from before columns needed a minimum
    multivariate: tuple[MultivariateDrift, ...] = attrs.field(default=(), converter=tuple)

    @property
    def drifted_columns(self) -> list[str]:
        return [c.column for c in self.columns if c.drifted]

    @property
    def judged_columns(self) -> list[str]:
        """The feature columns with enough current values to be judged."""
        return [c.column for c in self.columns if c.judged]

    @property
    def multivariate_drifted(self) -> bool:
        """Whether a multivariate method found the columns drifted together."""
        return any(m.drifted for m in self.multivariate)

    def column(self, name: str) -> ColumnDrift:
        for c in self.columns:
            if c.column == name:
                return c
        raise NotFound(f"the report has no column {name!r}")

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data: one key per field (floats as they are, NaN included)."""
        return fields_to_plain(self)

    def to_json(self, indent: int | None = 2) -> str:
        """The report as strict JSON: :meth:`to_dict` with NaN and ±inf written as null."""
        return json.dumps(finite_or_none(self.to_dict()), indent=indent, allow_nan=False)

    def to_html(self, path: str | Path | None = None) -> str:
        """A standalone HTML page (summary table, per-column histograms as inline SVG),
        openable offline; written to ``path`` when given. Returns the HTML.

        The page is drawn by ``modelops.drift.report.report_to_html``."""
        return _renderer[0](self, path)

    def _repr_html_(self) -> str:
        return _renderer[0](self, None, standalone=False)


# Drawing a report belongs to modelops.drift, a layer above this one, so this module does not
# import it: ``import modelops`` (which runs before any of its modules) installs the renderer.
_renderer: list[Callable[..., str]] = []


def use_html_renderer(render: Callable[..., str]) -> None:
    """Draw :meth:`DriftReport.to_html` with ``render(report, path, standalone=True)``."""
    _renderer[:] = [render]
