"""Value objects of monitoring: frozen attrs classes, each with ``to_dict()``.

``to_dict()`` gives plain Python (dicts, lists, str, int, float, bool, None); floats are kept
as they are, NaN included. ``MonitoringReport.to_json`` writes strict JSON (NaN as null).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import attrs

from modelops.drift.methods import (
    CORRECTIONS,
    DEFAULT_CORRECTION,
    DEFAULT_DRIFT_ALPHA,
    DEFAULT_DRIFT_SHARE,
    DEFAULT_MIN_EFFECT,
    DEFAULT_MIN_ROWS,
)
from modelops.entities import FrozenDict, freeze
from modelops.entities.monitoring import SEVERITIES, Alert, HealthIssue, severity_rank
from modelops.entities.plain import fields_to_plain
from modelops.errors import InvalidInput

__all__ = ["SEVERITIES", "STATUSES", "Alert", "Degradation", "DriftCheck", "ErrorRate",
           "Health", "HealthIssue", "HealthRules", "Latency", "MetricChange", "Performance",
           "Trend", "Volume", "severity_rank"]

#: Health statuses, best first.
STATUSES = ("healthy", "degraded", "unhealthy")


class _Plain:
    def to_dict(self) -> dict[str, Any]:
        """Every field as plain Python data (floats as they are, NaN included)."""
        return fields_to_plain(self)


@attrs.frozen(kw_only=True)
class Health(_Plain):
    """The result of ``Monitor.health()``.

    ``status`` is ``unhealthy`` when any issue is critical or high, ``degraded`` when any is
    medium, else ``healthy``. Issues are ordered most severe first.
    """

    model: str
    version: str | None
    status: str
    issues: tuple[HealthIssue, ...] = attrs.field(default=(), converter=tuple)
    checked_at: int = 0          # Unix ms: the end of the window
    window: str = "24h"
    n: int = 0                   # predictions in the window

    @property
    def healthy(self) -> bool:
        return self.status == "healthy"

    def issue(self, kind: str) -> HealthIssue | None:
        """The first issue of ``kind``, or None."""
        return next((i for i in self.issues if i.kind == kind), None)

    def _repr_html_(self) -> str:
        from modelops import _html

        version = f" {self.version}" if self.version else ""
        head = _html.fields([("status", self.status), ("window", self.window),
                             ("ending", self.checked_at), ("predictions", self.n)],
                            formats={"ending": _html.utc_time},
                            caption=f"Health of {self.model}{version}")
        if not self.issues:
            return head
        return head + _html.table([{"severity": i.severity, "kind": i.kind,
                                    "message": i.message} for i in self.issues],
                                  caption="issues, most severe first")


@attrs.frozen(kw_only=True)
class Performance(_Plain):
    """Model quality on the predictions of a window that have feedback.

    ``metrics`` holds accuracy, precision, recall, f1 and (binary, with scores) roc_auc for
    classification; mae, rmse and r2 for regression; it is empty when ``n`` is 0.
    ``average`` is ``"binary"`` (of ``positive``) or ``"macro"``.
    """

    task: str | None                     # classification | regression | None (no data)
    n: int                               # rows with feedback (and a prediction)
    metrics: FrozenDict[str, float] = attrs.field(factory=FrozenDict, converter=freeze)
    labels: tuple[Any, ...] = attrs.field(default=(), converter=tuple)
    positive: Any = None
    average: str | None = None
    since: int = 0
    until: int = 0


@attrs.frozen(kw_only=True)
class MetricChange(_Plain):
    """One metric against its baseline. ``worse_by`` is positive when the metric got worse
    (for mae and rmse: rose; for every other metric: fell). ``degraded`` when worse by more
    than ``threshold`` and, with a ``pvalue``, when that is below the rules'
    ``degradation_alpha``: ``pvalue`` is the chance of a drop this large from the window's
    sample alone, from the metric's bootstrap ``standard_error``."""

    metric: str
    baseline: float
    current: float
    worse_by: float
    threshold: float
    degraded: bool
    standard_error: float | None = None
    pvalue: float | None = None


@attrs.frozen(kw_only=True)
class Degradation(_Plain):
    """The window's metrics against a baseline: ``degraded`` when any metric got worse by
    more than its threshold. ``baseline_source`` says where the baseline came from
    (``"registry:fraud/1.2.0"`` or ``"given"``)."""

    degraded: bool
    changes: tuple[MetricChange, ...] = attrs.field(default=(), converter=tuple)
    baseline_source: str = "given"
    n: int = 0
    since: int = 0
    until: int = 0
    alpha: float | None = None   # the rules' degradation_alpha the drops were tested at
    tests: int = 0               # how many metrics shared it (Bonferroni)

    @property
    def degraded_metrics(self) -> list[str]:
        return [c.metric for c in self.changes if c.degraded]


@attrs.frozen(kw_only=True)
class DriftCheck(_Plain):
    """Input and prediction drift of a window.

    ``report`` is the window's features checked against the model's reference profile (None
    when there is no reference, or it shares no column with the logged features; ``note``
    says why). ``prediction`` is the drift of the predictions against ``prediction_against``:
    ``"reference"`` (the profile's prediction column), ``"previous window"`` or
    ``"earlier half"``; None when there was nothing to compare with.
    """

    report: Any = None                   # modelops DriftReport | None
    prediction: Any = None               # modelops ColumnDrift | None
    prediction_against: str | None = None
    reference_id: str | None = None
    note: str = ""
    since: int = 0
    until: int = 0

    @property
    def drifted_columns(self) -> list[str]:
        return [] if self.report is None else list(self.report.drifted_columns)

    def to_dict(self) -> dict[str, Any]:
        report = self.report
        out: dict[str, Any] = {
            "reference_id": self.reference_id, "note": self.note, "since": self.since,
            "until": self.until, "prediction_against": self.prediction_against,
            "input": None, "prediction": _column(self.prediction)}
        if report is not None:
            out["input"] = {
                "drifted": bool(report.drifted), "share": float(report.share),
                "drift_share": float(report.drift_share), "n_reference": report.n_reference,
                "n_current": report.n_current, "columns": [_column(c) for c in report.columns],
                "target": _column(report.target),
                "missing_columns": list(report.missing_columns)}
        return out


def _column(c: Any) -> dict[str, Any] | None:
    if c is None:
        return None
    return {"column": c.column, "kind": c.kind, "role": c.role, "method": c.method,
            "statistic": float(c.statistic),
            "pvalue": None if c.pvalue is None else float(c.pvalue),
            "effect": None if c.effect is None else float(c.effect),
            "drifted": bool(c.drifted), "reason": c.reason}


@attrs.frozen(kw_only=True)
class Volume(_Plain):
    """The count of the newest window against the windows before it.

    ``anomaly`` is ``"zero"`` (no predictions while the history's median is above 0),
    ``"low"`` or ``"high"`` (outside ``[lower, upper]``), or None. With fewer than 3 windows
    of history (leading empty windows, before the model's first prediction, do not count)
    nothing is judged: ``anomaly`` is None and ``enough_history`` False.
    """

    window: str
    count: int
    history: tuple[int, ...] = attrs.field(default=(), converter=tuple)
    median: float = math.nan
    mad: float = math.nan
    lower: float = math.nan
    upper: float = math.nan
    anomaly: str | None = None
    enough_history: bool = False
    since: int = 0               # start of the newest window
    until: int = 0


@attrs.frozen(kw_only=True)
class Latency(_Plain):
    """Percentiles of ``latency_ms`` (numpy's linear interpolation) over the rows that have
    one; NaN when ``n`` is 0."""

    n: int
    p50: float = math.nan
    p90: float = math.nan
    p95: float = math.nan
    p99: float = math.nan
    max: float = math.nan
    mean: float = math.nan


@attrs.frozen(kw_only=True)
class ErrorRate(_Plain):
    """The share of predictions that failed: no prediction (null), or metadata with a truthy
    ``"error"`` key. ``rate`` is NaN when ``n`` is 0."""

    n: int
    errors: int
    rate: float
    null_predictions: int = 0
    flagged: int = 0             # rows whose metadata has a truthy "error"


@attrs.frozen(kw_only=True)
class Trend(_Plain):
    """A metric over consecutive windows ending at *now*, oldest first. ``values`` is NaN for
    windows where the metric cannot be computed (no feedback, one class only …)."""

    metric: str
    window: str
    starts: tuple[int, ...] = attrs.field(converter=tuple)   # Unix ms of each window's start
    counts: tuple[int, ...] = attrs.field(converter=tuple)   # predictions per window
    feedback: tuple[int, ...] = attrs.field(converter=tuple)  # of them, with feedback
    values: tuple[float, ...] = attrs.field(converter=tuple)


def _positive_number(instance: Any, attribute: Any, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 \
            or not math.isfinite(value):
        raise InvalidInput(f"expected a positive number, got {value!r}", field=attribute.name)


def _threshold(instance: Any, attribute: Any, value: Any) -> None:
    values = value.values() if isinstance(value, Mapping) else [value]
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0 \
                or not math.isfinite(v):
            raise InvalidInput(f"expected a number ≥ 0 (or a mapping of metric to one), got "
                               f"{value!r}", field=attribute.name)


def _alert_at(instance: Any, attribute: Any, value: Any) -> None:
    if value is not None:
        severity_rank(value, attribute.name)


def _whole_number(instance: Any, attribute: Any, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(f"expected a whole number >= 1, got {value!r}",
                           field=attribute.name)


def _share(instance: Any, attribute: Any, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not 0 < value <= 1:
        raise InvalidInput(f"expected a number in (0, 1], got {value!r}", field=attribute.name)


def _optional_share(instance: Any, attribute: Any, value: Any) -> None:
    if value is not None:
        _share(instance, attribute, value)


def _correction(instance: Any, attribute: Any, value: Any) -> None:
    if value not in CORRECTIONS:
        raise InvalidInput(f"expected one of {', '.join(CORRECTIONS)}, got {value!r}",
                           field=attribute.name)


def _min_effect(instance: Any, attribute: Any, value: Any) -> None:
    if value is None:
        return
    values = value.items() if isinstance(value, Mapping) else [("", value)]
    for kind, v in values:
        if isinstance(value, Mapping) and kind not in DEFAULT_MIN_EFFECT:
            raise InvalidInput(f"expected kinds among {', '.join(DEFAULT_MIN_EFFECT)}, got "
                               f"{kind!r}", field=attribute.name)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0 \
                or not math.isfinite(v):
            raise InvalidInput(f"expected a number >= 0 (or one per kind), got {value!r}",
                               field=attribute.name)


def _severity_field(instance: Any, attribute: Any, value: Any) -> None:
    severity_rank(value, attribute.name)


def _optional_window(instance: Any, attribute: Any, value: Any) -> None:
    if value is not None:
        _window_field(instance, attribute, value)


def _window_field(instance: Any, attribute: Any, value: Any) -> None:
    from modelops.monitoring.windows import parse_window

    parse_window(value, attribute.name)


@attrs.frozen(kw_only=True)
class HealthRules:
    """The thresholds ``Monitor.health()`` applies (every one documented in
    ``docs/monitoring.md``)."""

    #: A metric worse than its baseline by more than this (absolute; or per metric) degrades.
    degradation_threshold: float | Mapping[str, float] = attrs.field(
        default=0.05, validator=_threshold,
        converter=lambda v: freeze(v) if isinstance(v, Mapping) else v)
    #: ... and only when the drop is significant: its one-sided p-value (an exact binomial
    #: test, or the metric's standard error) times the number of metrics compared is below
    #: this (None: by the threshold alone). A window of 50 rows misses a baseline accuracy
    #: of 0.92 by more than 0.05 about one time in ten by chance alone.
    degradation_alpha: float | None = attrs.field(default=0.01, validator=_optional_share)
    #: Fewer rows with feedback than this: performance is not judged (a "low" issue).
    min_feedback: int = 30
    #: Error rate above this: "high"; above ``error_rate_medium``: "medium".
    error_rate_high: float = 0.05
    error_rate_medium: float = 0.01
    #: p99 latency above this many ms: "medium" (None: no latency SLO).
    latency_slo_ms: float | None = attrs.field(default=None, validator=_positive_number)
    #: Volume: the newest ``volume_window`` against the windows before it in the health window.
    volume_window: str = attrs.field(default="1h", validator=_window_field)
    #: Volume is anomalous beyond median ± volume_k × max(1.4826 × MAD, volume_floor × median).
    volume_k: float = attrs.field(default=3.0, validator=_positive_number)
    volume_floor: float = 0.1
    #: Input drift: a feature with fewer non-missing values in the window is not judged.
    drift_min_rows: int = attrs.field(default=DEFAULT_MIN_ROWS, validator=_whole_number)
    #: Input drift: how the window's drift tests (features, target, prediction) share alpha:
    #: ``"bh"`` (Benjamini-Hochberg), ``"bonferroni"`` or ``"none"``.
    drift_correction: str = attrs.field(default=DEFAULT_CORRECTION, validator=_correction)
    #: Input drift: the significance level of each test, after the correction.
    drift_alpha: float = attrs.field(default=DEFAULT_DRIFT_ALPHA, validator=_share)
    #: Input drift: the smallest effect a drifted column shows, one number or by kind
    #: (``{"numeric": 0.05, "binary": 0.02, "categorical": 0.02}``: the default).
    drift_min_effect: float | Mapping[str, float] | None = attrs.field(
        default=None, validator=_min_effect,
        converter=lambda v: freeze(v) if isinstance(v, Mapping) else v)
    #: Input drift is "high" when at least this share of the judged features drifted.
    drift_share: float = attrs.field(default=DEFAULT_DRIFT_SHARE, validator=_share)
    #: Without enough feedback, performance is estimated (CBPE, DLE) from the predictions with
    #: feedback of this period before the window; None: never estimated.
    estimation_reference: str | None = attrs.field(default="30d", validator=_optional_window)
    #: Windows with fewer predictions than this are not estimated (at 100 rows, 3 of 100 clean
    #: days raised ``estimated_degradation``; at 300, none did).
    estimation_min_rows: int = 300
    #: The severity of ``estimated_degradation`` (an estimated metric worse than the
    #: reference's by more than ``degradation_threshold``).
    estimated_severity: str = attrs.field(default="medium", validator=_severity_field)
    #: Multivariate drift methods health runs on the window's features against the reference
    #: profile's row sample (``modelops.drift.multivariate``); () for none.
    multivariate: tuple[str, ...] = attrs.field(default=("reconstruction",), converter=tuple)
    #: Windows with fewer predictions than this are not checked for multivariate drift.
    multivariate_min_rows: int = 100
    #: Issues at or above this severity fire the ``modelops_alert_raised`` hook (None: never).
    alert_at: str | None = attrs.field(default="high", validator=_alert_at)
    #: Settings of the health checks plugins add, under the names their docs give.
    extra: FrozenDict[str, Any] = attrs.field(factory=FrozenDict, converter=freeze)

    def drift_options(self) -> dict[str, Any]:
        """The keyword arguments of ``check_profile`` (and ``ops.drift.check``) these rules
        judge drift with."""
        return {"threshold": self.drift_alpha, "correction": self.drift_correction,
                "min_rows": self.drift_min_rows, "drift_share": self.drift_share,
                "min_effect": None if self.drift_min_effect is None
                else (dict(self.drift_min_effect) if isinstance(self.drift_min_effect, Mapping)
                      else self.drift_min_effect)}

    def drift_rule_text(self) -> str:
        """The drift rules in a few words, for issue messages."""
        effect = self.drift_min_effect
        if effect is None:
            effect = DEFAULT_MIN_EFFECT
        if isinstance(effect, Mapping):
            gates = ", ".join(f"{k} {v:g}" for k, v in effect.items())
        else:
            gates = f"{effect:g}"
        correction = {"bh": "Benjamini-Hochberg", "bonferroni": "Bonferroni",
                      "none": "no correction"}[self.drift_correction]
        return (f"alpha {self.drift_alpha:g} with {correction} over the window's drift tests, "
                f"effect at least {gates}, at least {self.drift_min_rows:,} non-missing "
                f"values per column; the dataset drifts from {self.drift_share:.0%} of the "
                "features")

    def threshold_of(self, metric: str) -> float:
        t = self.degradation_threshold
        if isinstance(t, Mapping):
            return float(t.get(metric, 0.05))
        return float(t)
