"""``Monitor``: performance, trends, degradation, drift, volume, latency, errors and health of
one model's logged predictions.

Each public method reads its window once (``ops.predictions.read``) and computes everything
from that one ``PredictionTable`` with numpy: counts per window with ``np.bincount``, metrics
from per-window confusion counts, percentiles and ROC AUC from one sort. Nothing loops in
Python over rows; loops run over windows or columns at most.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import numpy as np

from modelops.entities.predictions import PredictionTable
from modelops.entities.validators import check_name
from modelops.errors import InvalidInput
from modelops.metrics import canonical_metric
from modelops.monitoring.values import (
    Degradation,
    DriftCheck,
    ErrorRate,
    HealthRules,
    Latency,
    Performance,
    Trend,
    Volume,
)
from modelops.monitoring.window import (
    LATENCY_PERCENTILES,
    Window,
    compare_to_baseline,
    count_volume,
    feature_columns,
    task_metrics,
)
from modelops.monitoring.windows import (
    format_window,
    parse_window,
    window_label,
    window_starts,
)

TASKS = ("classification", "regression")
SCORES = ("probability", "confidence")
_SERIES_EXTRA = ("volume", "error_rate", "drift_share",
                 *(f"latency_p{q}" for q in LATENCY_PERCENTILES))


#: The most periods a report's trend or a series of estimates holds: a day by the minute.
MAX_SERIES_PERIODS = 1_440


def _now_ms() -> int:
    from modelops._ids import now_ms

    return now_ms()


class Monitor:
    """Production monitoring of one model (optionally one version): ``ops.monitor(model)``.

    ``now`` is a callable returning the current Unix ms (or a fixed int), for tests and
    back-filled reports. ``task`` (``"classification"`` / ``"regression"``) overrides the
    detection from the data. ``positive`` names the positive label of a binary classifier;
    ``score`` says what a logged ``probability`` is: ``"probability"`` (default) the score of
    the positive class, ``"confidence"`` the probability of the predicted label. ``baseline``
    is a dict of metrics to compare against instead of the registered version's. Health
    thresholds come from ``rules`` (a ``HealthRules``) or keyword arguments naming its fields
    (``latency_slo_ms=200``, ``alert_at="medium"`` …).

    What is not given comes from the settings stored with the model
    (``ops.set_monitoring``; ``settings`` shows them): a call's own ``task``, ``positive``,
    ``score`` and ``rules`` win, and rule keywords change single fields of either.
    """

    def __init__(self, client: Any, model: str, version: str | None = None, *,
                 now: Callable[[], int] | int | None = None, task: str | None = None,
                 positive: Any = None, score: str | None = None,
                 baseline: Mapping[str, float] | None = None, rules: HealthRules | None = None,
                 **rule_options: Any) -> None:
        from modelops.monitoring.settings import load_settings

        self.client = client
        self.model = check_name(model, "model")
        if version is not None and not isinstance(version, str):
            raise InvalidInput(f"expected a string, got {version!r}", field="version")
        self.version = version
        if now is None:
            self._now: Callable[[], int] = _now_ms
        elif callable(now):
            self._now = now
        elif isinstance(now, int) and not isinstance(now, bool):
            self._now = lambda: now
        else:
            raise InvalidInput(f"expected a callable returning Unix ms, got {now!r}",
                               field="now")
        #: The settings stored with the model (empty when there are none).
        self.settings = load_settings(client, self.model)
        task = self.settings.task if task is None else task
        positive = self.settings.positive if positive is None else positive
        score = (self.settings.score or "probability") if score is None else score
        if task is not None and task not in TASKS:
            raise InvalidInput(f"expected one of {', '.join(TASKS)}, got {task!r}",
                               field="task")
        if score not in SCORES:
            raise InvalidInput(f"expected one of {', '.join(SCORES)}, got {score!r}",
                               field="score")
        self.task = task
        self.positive = positive
        self.score = score
        self.baseline = None if baseline is None else _check_baseline(baseline)
        rules = rules if rules is not None else self.settings.health_rules()
        if not isinstance(rules, HealthRules):
            raise InvalidInput(f"expected HealthRules, got {type(rules).__name__}",
                               field="rules")
        if rule_options:
            known = {f.name for f in attrs.fields(HealthRules)}
            unknown = sorted(set(rule_options) - known)
            if unknown:
                raise InvalidInput(f"unknown option {unknown[0]!r}; HealthRules fields are "
                                   f"{', '.join(sorted(known))}", field=unknown[0])
            rules = attrs.evolve(rules, **rule_options)
        self.rules = rules

    def __repr__(self) -> str:
        return f"<Monitor {self.model!r} version={self.version!r}>"

    # -- reading ------------------------------------------------------------------------------

    def now(self) -> int:
        return int(self._now())

    def window(self, window: Any = "24h", *, periods: int = 1) -> Window:
        """The predictions of the last ``periods`` × ``window`` (``[now - periods × window,
        now)``), read once: a ``Window``, which every check reads."""
        width = parse_window(window)
        until = self.now()
        since = until - width * periods
        table = self.client.predictions.read(self.model, version=self.version, since=since,
                                             until=until)
        return Window(table, since, until, self,
                      label=window_label(window) if periods == 1 else "")

    def read(self, window: Any = "24h") -> PredictionTable:
        """The predictions logged in the last ``window`` (``[now - window, now)``)."""
        return self.window(window).table

    # -- the checks ---------------------------------------------------------------------------

    def performance(self, window: Any = "24h") -> Performance:
        """Model quality on the window's predictions that have feedback."""
        return self.window(window).performance

    def trend(self, window: Any = "1h", periods: int = 24, metric: str | None = None) -> Trend:
        """``metric`` over ``periods`` consecutive windows ending now, oldest first.

        ``metric`` is one of the task's metrics (default: accuracy for classification, mae for
        regression), or ``"volume"``, ``"error_rate"``, ``"latency_p50"`` … ``"latency_p99"``,
        ``"drift_share"`` (the share of drifted features against the reference).
        """
        width = parse_window(window)
        periods = _check_periods(periods)
        rows = self.window(window, periods=periods)
        metric = self._trend_metric(rows, metric)
        series = self._series(rows, width, periods, {metric})
        return Trend(metric=metric, window=window_label(window), starts=series["starts"],
                     counts=series["volume"], feedback=series["feedback"],
                     values=series[metric])

    def _trend_metric(self, rows: Window, metric: str | None) -> str:
        own = task_metrics(rows.task or "classification")
        if metric is None:
            if rows.task is None or len(rows.scored) == 0:
                return "volume"
            return "mae" if rows.task == "regression" else "accuracy"
        name = canonical_metric(metric)
        if name.lower() in _SERIES_EXTRA:
            return name.lower()
        if name in own:
            return name
        other_task = "classification" if rows.task == "regression" else "regression"
        hint = f" ({name} is a {other_task} metric; this model's task is {rows.task})" \
            if name in task_metrics(other_task) else ""
        raise InvalidInput(f"unknown metric {metric!r}; expected one of "
                           f"{', '.join((*own, *_SERIES_EXTRA))}{hint}", field="metric")

    def _series(self, rows: Window, width: int, periods: int,
                wanted: set[str]) -> dict[str, list[Any]]:
        """Per-window series over the rows: starts, volume, feedback, and what is wanted."""
        g = rows.group(width, periods)
        inside = g >= 0
        out: dict[str, list[Any]] = {
            "starts": window_starts(rows.until, width, periods).tolist(),
            "volume": np.bincount(g[inside], minlength=periods).tolist(),
            "feedback": np.bincount(g[rows.scored][g[rows.scored] >= 0],
                                    minlength=periods).tolist()}
        perf = [m for m in task_metrics(rows.task) if m in wanted]
        if perf:
            gs = g[rows.scored]
            keep = gs >= 0
            values = rows.metric_groups(gs, periods) if keep.all() else \
                self._metric_groups_subset(rows, gs, keep, periods)
            for name in perf:
                out[name] = values.get(name, np.full(periods, np.nan)).tolist()
        if "error_rate" in wanted:
            null, flagged = rows.error_flags
            bad = np.bincount(g[inside], weights=(null | flagged)[inside], minlength=periods)
            counts = np.asarray(out["volume"], dtype=np.float64)
            out["error_rate"] = np.where(counts > 0, bad / np.maximum(counts, 1),
                                         np.nan).tolist()
        lat = [q for q in LATENCY_PERCENTILES if f"latency_p{q}" in wanted]
        if lat:
            values = _grouped_percentiles(rows.table.latency_ms, g, periods, lat)
            for q, v in zip(lat, values):
                out[f"latency_p{q}"] = v.tolist()
        if "drift_share" in wanted:
            out["drift_share"], by_column = self._drift_shares(rows, g, periods)
            if "drift_columns" in wanted:
                out["drift_columns"] = by_column
        return out

    @staticmethod
    def _metric_groups_subset(rows: Window, gs: np.ndarray, keep: np.ndarray,
                              periods: int) -> dict[str, np.ndarray]:
        # Rows outside every window (cannot happen for reads of exactly the windows, but a
        # caller may pass a wider table): give them a group of their own, then drop it.
        groups = np.where(keep, gs, periods)
        values = rows.metric_groups(groups, periods + 1)
        return {k: v[:periods] for k, v in values.items()}

    def _drift_shares(self, rows: Window, g: np.ndarray, periods: int
                      ) -> tuple[list[float], dict[str, dict[str, list[Any]]]]:
        """Per window: the share of drifted features, and per feature its effect over its
        threshold (``ratio``: ``modelops.drift.report.effect_ratio``, NaN where not judged)
        and whether it ``drifted``."""
        profile = rows.reference
        shares = [math.nan] * periods
        by_column: dict[str, dict[str, list[Any]]] = {}
        if profile is None:
            return shares, by_column
        columns = feature_columns(profile, rows.table)
        if not columns:
            return shares, by_column
        from modelops.drift import check_profile
        from modelops.drift.report import effect_ratio

        by_column = {c: {"ratio": [math.nan] * periods, "drifted": [False] * periods}
                     for c in columns}
        order = np.argsort(g, kind="stable")
        bounds = np.searchsorted(g[order], np.arange(periods + 1))
        options = self.rules.drift_options()
        for i in range(periods):
            idx = order[bounds[i]:bounds[i + 1]]
            if len(idx) < self.rules.drift_min_rows:
                continue     # too few to judge any column: no share (NaN)
            frame = {c: np.asarray(rows.table.features[c])[idx] for c in columns}
            try:
                report = check_profile(profile, frame, **options)
            except InvalidInput:
                continue
            if report.judged_columns:
                shares[i] = float(report.share)
            for c in report.columns:
                ratio = effect_ratio(c)
                if ratio is not None and math.isfinite(ratio):
                    by_column[c.column]["ratio"][i] = ratio
                    by_column[c.column]["drifted"][i] = bool(c.drifted)
        return shares, by_column

    def degradation(self, baseline: Mapping[str, float] | None = None,
                    threshold: float | Mapping[str, float] | None = None,
                    window: Any = "24h") -> Degradation:
        """The window's metrics against a baseline: by default the metrics registered with
        the monitored version (the production version when the monitor has none); a metric is
        degraded when worse by more than ``threshold`` (absolute; a mapping gives one per
        metric; default: the rules' ``degradation_threshold``, 0.05). ``InvalidInput`` when
        there is no baseline."""
        rows = self.window(window)
        found, source = (_check_baseline(baseline), "given") if baseline is not None \
            else rows.baseline
        if found is None:
            raise InvalidInput(f"no baseline metrics for {self.model!r}: {source}; pass "
                               "baseline={'f1': 0.9, ...}", field="baseline")
        rules = self.rules if threshold is None else \
            attrs.evolve(self.rules, degradation_threshold=threshold)
        return compare_to_baseline(rows.performance, found, source, rules, rows.drop_test)

    def drift(self, window: Any = "24h") -> DriftCheck:
        """Input drift of the window against the model's reference profile, and prediction
        drift against the profile's prediction column, else against the previous window of
        the same length (read together with this one, in one read)."""
        width = parse_window(window)
        both = self.window(window, periods=2)
        ts = both.table.timestamps
        current = Window(both.table.select(ts >= both.until - width), both.until - width,
                         both.until, self, label=window_label(window))
        previous = both.table.predictions[ts < both.until - width]
        return current.check_drift(previous, "previous window")

    def volume(self, window: Any = "1h", history: int = 24) -> Volume:
        """The count of the newest ``window`` against the ``history`` windows before it:
        anomalous beyond median ± k × max(1.4826 × MAD, floor × median, √median) of the
        history (k and floor from the rules: 3 and 0.1). Leading empty windows — before the
        model's first prediction — are not history; with fewer than 3 windows nothing is
        judged."""
        width = parse_window(window)
        history = _check_periods(history, "history")
        rows = self.window(window, periods=history + 1)
        return count_volume(rows.table.timestamps, rows.until, width, history, self.rules)

    def latency(self, window: Any = "24h") -> Latency:
        """Percentiles of the logged ``latency_ms`` in the window."""
        return self.window(window).latency

    def error_rate(self, window: Any = "24h") -> ErrorRate:
        """The share of the window's predictions that are null or whose metadata has a truthy
        ``"error"`` key."""
        return self.window(window).error_rate

    def estimated_performance(self, window: Any = "24h", every: Any = "1h", *,
                              reference: Any = None, estimator: str | None = None) -> Any:
        """The model's metrics estimated without labels, per ``every`` over the last
        ``window``: an ``EstimatedPerformance`` whose ``estimates`` give each metric's value
        and band per window, with the realised value wherever feedback has arrived.

        ``reference``: the labelled data the estimator is fitted on; by default the
        predictions with feedback of the rules' ``estimation_reference`` (30 days) before
        the window; or a ``(since, until)`` period, a ``PredictionTable``, or a frame with
        ``prediction``, ``actual``, ``probability`` and feature columns (see
        ``modelops.monitoring.estimated``). ``estimator``: a name in the estimator table
        (default CBPE for a classifier, DLE for a regressor). Needs scikit-learn
        (``modelops[sklearn]``). ``window`` must be a whole multiple of ``every``."""
        from modelops.monitoring.estimated import estimate_windows

        width = parse_window(window)
        step = parse_window(every, "every")
        periods = _series_periods(width, step, "every")
        rows = self.window(window)
        return estimate_windows(self, rows.table, rows.until, step, periods,
                                reference=reference, estimator=estimator,
                                window_label=window_label(window),
                                every_label=window_label(every))

    def health(self, window: Any = "24h", *, alert: bool = True, segment_by: Any = None,
               min_segment: int = 100) -> Any:
        """Every check on the window (read once) turned into issues with severities; issues
        at or above the rules' ``alert_at`` fire the ``modelops_alert_raised`` hook (unless
        ``alert=False``). See ``modelops.monitoring.checks`` for the rules.

        ``segment_by`` (a logged feature, or a function of the logged features giving one
        value per prediction) runs every check per segment of at least ``min_segment``
        predictions and returns a ``SegmentedHealth``, worst segments first (see
        ``modelops.monitoring.segments``)."""
        from modelops.monitoring.health import assess, raise_alerts

        checked = self.window(window)
        if segment_by is not None:
            from modelops.monitoring.segments import segmented_health

            return segmented_health(checked, segment_by, min_segment, alert)
        assessment = assess(checked)
        if alert:
            raise_alerts(checked, assessment.health)
        return assessment.health

    def report(self, window: Any = "24h", trend_window: Any = "1h") -> Any:
        """A ``MonitoringReport`` of the window: health (no alerts fired), performance,
        degradation, drift, volume, latency, error rate, and per-``trend_window`` series of
        volume, metrics, error rate, p99 latency and drift share. ``window`` must be a whole
        multiple of ``trend_window``."""
        from modelops.monitoring.health import assess
        from modelops.monitoring.report import MonitoringReport

        width = parse_window(window)
        step = parse_window(trend_window, "trend_window")
        periods = _series_periods(width, step, "trend_window")
        rows = self.window(window)
        assessment = assess(rows)
        metric = self._trend_metric(rows, None)
        wanted = {"error_rate", "latency_p50", "latency_p99", "drift_share", "drift_columns"}
        if rows.task is not None:
            wanted |= set(task_metrics(rows.task))
        series = self._series(rows, step, periods, wanted)
        from modelops.monitoring.curves import curves
        return MonitoringReport(
            estimated=self._estimated_series(rows, step, periods, trend_window),
            model=self.model, version=self.version, window=window_label(window),
            trend_window=window_label(trend_window), since=rows.since, until=rows.until,
            n=len(rows), task=rows.task, health=assessment.health,
            performance=assessment.performance, degradation=assessment.degradation,
            baseline_note=assessment.baseline_note, drift=assessment.drift,
            volume=assessment.volume, latency=assessment.latency,
            error_rate=assessment.error_rate, trend_metric=metric, trend=series,
            curves=curves(rows))


    def _estimated_series(self, rows: Window, step: int, periods: int, every: Any) -> Any:
        """Estimated performance per trend window, or None when it cannot be estimated (no
        labelled reference, no scikit-learn for DLE, estimation off)."""
        from modelops.errors import MissingDependency
        from modelops.monitoring.estimated import estimate_windows

        if self.rules.estimation_reference is None or len(rows) == 0:
            return None
        try:
            return estimate_windows(self, rows.table, rows.until, step, periods,
                                    window_label=rows.label, every_label=window_label(every))
        except (InvalidInput, MissingDependency):
            return None


# -- helpers ----------------------------------------------------------------------------------


def _series_periods(width: int, step: int, field: str) -> int:
    """How many ``step``s a window of ``width`` ms holds for a series of a report or of
    estimates: a whole number, at most ``MAX_SERIES_PERIODS`` (each is checked on its own;
    a window of ten days in seconds would be 864,000 of them)."""
    if step > width or width % step:
        raise InvalidInput(f"the window {format_window(width)} is not a whole multiple of "
                           f"{format_window(step)}", field=field)
    periods = width // step
    if periods > MAX_SERIES_PERIODS:
        raise InvalidInput(f"the window {format_window(width)} holds {periods:,} of "
                           f"{format_window(step)}, more than {MAX_SERIES_PERIODS:,}: choose a "
                           "longer one", field=field)
    return periods


def _check_periods(value: Any, field: str = "periods") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100_000:
        raise InvalidInput(f"expected a whole number from 1 to 100,000, got {value!r}",
                           field=field)
    return value


def _check_baseline(baseline: Any) -> dict[str, float]:
    if not isinstance(baseline, Mapping):
        raise InvalidInput(f"expected a mapping of metric to value, got "
                           f"{type(baseline).__name__}", field="baseline")
    out = {}
    for key, value in baseline.items():
        if not isinstance(key, str) or isinstance(value, bool) or \
                not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InvalidInput(f"expected a finite number, got {value!r}",
                               field=f"baseline[{key!r}]")
        out[canonical_metric(key)] = float(value)
    return out


def _grouped_percentiles(values: np.ndarray, groups: np.ndarray, n_groups: int,
                         qs: list[int]) -> list[np.ndarray]:
    """numpy's linear-interpolation percentiles of ``values`` per group, from one sort."""
    ok = np.isfinite(values) & (groups >= 0)
    v, g = values[ok], groups[ok]
    order = np.lexsort((v, g))
    v = v[order]
    sizes = np.bincount(g, minlength=n_groups)
    offsets = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    has = sizes > 0
    out = []
    for q in qs:
        result = np.full(n_groups, np.nan)
        pos = (sizes[has] - 1) * (q / 100.0)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, sizes[has] - 1)
        frac = pos - lo
        a, b = v[offsets[has] + lo], v[offsets[has] + hi]
        result[has] = a + (b - a) * frac
        out.append(result)
    return out
