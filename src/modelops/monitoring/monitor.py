"""``Monitor``: performance, trends, degradation, drift, volume, latency, errors and health of
one model's logged predictions.

Each public method reads its window once (``ops.predictions.read``) and computes everything
from that one ``PredictionTable`` with numpy: counts per window with ``np.bincount``, metrics
from per-window confusion counts, percentiles and ROC AUC from one sort. Nothing loops in
Python over rows; loops run over windows or columns at most.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from functools import cached_property
from itertools import repeat
from typing import Any

import attrs
import numpy as np

from modelops.entities._validate import check_name
from modelops.entities.predictions import PredictionTable
from modelops.errors import InvalidInput, NotFound
from modelops.monitoring import metrics as M
from modelops.monitoring.values import (
    Degradation,
    DriftCheck,
    ErrorRate,
    Health,
    HealthRules,
    Latency,
    MetricChange,
    Performance,
    Trend,
    Volume,
)
from modelops.monitoring.windows import (
    format_window,
    parse_window,
    window_index,
    window_label,
    window_starts,
)

TASKS = ("classification", "regression")
SCORES = ("probability", "confidence")
LATENCY_PERCENTILES = (50, 90, 95, 99)
#: Windows of a trend with fewer predictions than this get no drift share (NaN).
MIN_DRIFT_ROWS = 30
#: Volume anomalies are judged only with at least this many windows of history.
MIN_VOLUME_HISTORY = 3
_SERIES_EXTRA = ("volume", "error_rate", "drift_share",
                 *(f"latency_p{q}" for q in LATENCY_PERCENTILES))


def _now_ms() -> int:
    from modelops._ids import now_ms

    return now_ms()


class Rows:
    """The predictions of one window ``[since, until)`` with the arrays derived from them,
    each computed once, on first use."""

    def __init__(self, table: PredictionTable, since: int, until: int, monitor: Monitor) -> None:
        self.table = table
        self.since = since
        self.until = until
        self.monitor = monitor

    def __len__(self) -> int:
        return len(self.table)

    @cached_property
    def reference(self) -> Any:
        """The model's reference profile (read once per window), or None."""
        return self.monitor._reference()

    @cached_property
    def feedback(self) -> np.ndarray:
        return self.table.has_feedback

    @cached_property
    def null_prediction(self) -> np.ndarray:
        return M.null_mask(self.table.predictions)

    @cached_property
    def scored(self) -> np.ndarray:
        """Indices of the rows with feedback and a prediction: what performance is measured on."""
        return np.flatnonzero(self.feedback & ~self.null_prediction)

    @cached_property
    def task(self) -> str | None:
        if self.monitor.task is not None:
            return self.monitor.task
        idx = self.scored
        if len(idx):
            return M.detect_task(self.table.predictions[idx], self.table.actuals[idx])
        present = self.table.predictions[~self.null_prediction]
        return M.detect_task(present, np.zeros(0, dtype=object))

    @cached_property
    def labels(self) -> tuple[tuple[Any, ...], np.ndarray, np.ndarray, int | None]:
        """(labels, actual codes, predicted codes, index of the positive label or None) of
        the scored rows, for classification."""
        idx = self.scored
        positive = self.monitor.positive
        extra: tuple[Any, ...] = () if positive is None else (positive,)
        labels, true, pred = M.encode_labels(self.table.actuals[idx],
                                             self.table.predictions[idx], extra)
        if positive is None:
            positive = _default_positive(labels)
            if positive is not None and positive not in labels:
                labels, true, pred = M.encode_labels(self.table.actuals[idx],
                                                     self.table.predictions[idx], (positive,))
        pos = labels.index(positive) if positive is not None and len(labels) <= 2 else None
        return labels, true, pred, pos

    @cached_property
    def scores(self) -> np.ndarray | None:
        """Scores of the positive class for the scored rows (NaN where missing), or None."""
        probabilities = self.table.probabilities[self.scored]
        if not np.isfinite(probabilities).any():
            return None
        _labels, _true, pred, pos = self.labels
        if pos is None:
            return None
        if self.monitor.score == "confidence":
            return np.where(pred == pos, probabilities, 1.0 - probabilities)
        return probabilities

    @cached_property
    def regression_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        idx = self.scored
        try:
            true = np.asarray(self.table.actuals[idx].tolist(), dtype=np.float64)
            pred = np.asarray(self.table.predictions[idx].tolist(), dtype=np.float64)
        except (TypeError, ValueError):
            raise InvalidInput("regression needs numeric predictions and actuals; pass "
                               "task='classification' for labels", field="task") from None
        return true, pred

    def metric_groups(self, groups: np.ndarray | None, n_groups: int) -> dict[str, np.ndarray]:
        """Every metric of the task per group (``groups``: the group of each scored row)."""
        if len(self.scored) == 0 or self.task is None:
            return {}
        if self.task == "regression":
            true, pred = self.regression_arrays
            return M.regression(true, pred, groups, n_groups)
        labels, true, pred, pos = self.labels
        return M.classification(true, pred, len(labels), pos, groups, n_groups, self.scores)

    @cached_property
    def error_flags(self) -> tuple[np.ndarray, np.ndarray]:
        """(prediction is null, metadata has a truthy "error") per row."""
        flagged = np.zeros(len(self), dtype=bool)
        metadata = self.table.metadata
        if len(metadata) == len(self) and metadata.dtype.kind == "O" and len(self):
            values = metadata.tolist()
            is_dict = np.fromiter(map(isinstance, values, repeat(dict)), dtype=bool,
                                  count=len(values))
            where = np.flatnonzero(is_dict)
            if len(where):
                picked = operator.itemgetter(*where.tolist())(values)
                picked = (picked,) if len(where) == 1 else picked
                errors = map(operator.methodcaller("get", "error"), picked)
                flagged[where] = np.fromiter(map(bool, errors), dtype=bool, count=len(where))
        return self.null_prediction, flagged

    def group(self, width: int, periods: int, start: int | None = None) -> np.ndarray:
        """Each row's window among ``periods`` windows of ``width`` ending at ``until``."""
        begin = self.until - width * periods if start is None else start
        return window_index(self.table.timestamps, begin, width, periods)


def _default_positive(labels: tuple[Any, ...]) -> Any:
    """1 (or True) when the labels are {0, 1} or {-1, 1} numbers or booleans (sklearn's rule);
    else None: precision, recall and F1 are macro averages, and no ROC AUC."""
    if not labels or len(labels) > 2:
        return None
    if not all(isinstance(v, (int, float, bool, np.number, np.bool_)) for v in labels):
        return None
    values = {float(v) for v in labels}
    if values <= {0.0, 1.0} or values <= {-1.0, 1.0}:
        return True if any(isinstance(v, (bool, np.bool_)) for v in labels) else 1
    return None


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
    """

    def __init__(self, client: Any, model: str, version: str | None = None, *,
                 now: Callable[[], int] | int | None = None, task: str | None = None,
                 positive: Any = None, score: str = "probability",
                 baseline: Mapping[str, float] | None = None, rules: HealthRules | None = None,
                 **rule_options: Any) -> None:
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
        rules = rules if rules is not None else HealthRules()
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

    def _window(self, window: Any = "24h", *, periods: int = 1) -> Rows:
        """The predictions of the last ``periods`` × ``window``, read once."""
        width = parse_window(window)
        until = self.now()
        since = until - width * periods
        return self._rows(since, until)

    def _rows(self, since: int, until: int) -> Rows:
        table = self.client.predictions.read(self.model, version=self.version, since=since,
                                             until=until)
        return Rows(table, since, until, self)

    def read(self, window: Any = "24h") -> PredictionTable:
        """The predictions logged in the last ``window`` (``[now - window, now)``)."""
        return self._window(window).table

    # -- the checks ---------------------------------------------------------------------------

    def performance(self, window: Any = "24h") -> Performance:
        """Model quality on the window's predictions that have feedback."""
        return self._performance(self._window(window))

    def _performance(self, rows: Rows) -> Performance:
        values = rows.metric_groups(None, 1)
        found = {k: float(v[0]) for k, v in values.items() if not math.isnan(v[0])}
        labels: tuple[Any, ...] = ()
        positive = average = None
        if rows.task == "classification" and len(rows.scored):
            labels, _t, _p, pos = rows.labels
            positive = None if pos is None else labels[pos]
            average = "binary" if pos is not None else "macro"
        return Performance(task=rows.task, n=len(rows.scored), metrics=found, labels=labels,
                           positive=positive, average=average, since=rows.since,
                           until=rows.until)

    def trend(self, window: Any = "1h", periods: int = 24, metric: str | None = None) -> Trend:
        """``metric`` over ``periods`` consecutive windows ending now, oldest first.

        ``metric`` is one of the task's metrics (default: accuracy for classification, mae for
        regression), or ``"volume"``, ``"error_rate"``, ``"latency_p50"`` … ``"latency_p99"``,
        ``"drift_share"`` (the share of drifted features against the reference).
        """
        width = parse_window(window)
        periods = _check_periods(periods)
        rows = self._window(window, periods=periods)
        metric = self._trend_metric(rows, metric)
        series = self._series(rows, width, periods, {metric})
        return Trend(metric=metric, window=window_label(window), starts=series["starts"],
                     counts=series["volume"], feedback=series["feedback"],
                     values=series[metric])

    def _trend_metric(self, rows: Rows, metric: str | None) -> str:
        task_metrics = M.REGRESSION_METRICS if rows.task == "regression" else \
            M.CLASSIFICATION_METRICS
        if metric is None:
            if rows.task is None or len(rows.scored) == 0:
                return "volume"
            return "mae" if rows.task == "regression" else "accuracy"
        name = M.canonical_metric(metric)
        if name in _SERIES_EXTRA or name in task_metrics:
            return name
        other = M.CLASSIFICATION_METRICS if rows.task == "regression" else M.REGRESSION_METRICS
        hint = f" ({name} is a {'classification' if rows.task == 'regression' else 'regression'}"\
            f" metric; this model's task is {rows.task})" if name in other else ""
        raise InvalidInput(f"unknown metric {metric!r}; expected one of "
                           f"{', '.join((*task_metrics, *_SERIES_EXTRA))}{hint}", field="metric")

    def _series(self, rows: Rows, width: int, periods: int,
                wanted: set[str]) -> dict[str, list[Any]]:
        """Per-window series over the rows: starts, volume, feedback, and what is wanted."""
        g = rows.group(width, periods)
        inside = g >= 0
        out: dict[str, list[Any]] = {
            "starts": window_starts(rows.until, width, periods).tolist(),
            "volume": np.bincount(g[inside], minlength=periods).tolist(),
            "feedback": np.bincount(g[rows.scored][g[rows.scored] >= 0],
                                    minlength=periods).tolist()}
        perf = [m for m in M.CLASSIFICATION_METRICS + M.REGRESSION_METRICS if m in wanted]
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
            out["drift_share"] = self._drift_shares(rows, g, periods)
        return out

    @staticmethod
    def _metric_groups_subset(rows: Rows, gs: np.ndarray, keep: np.ndarray,
                              periods: int) -> dict[str, np.ndarray]:
        # Rows outside every window (cannot happen for reads of exactly the windows, but a
        # caller may pass a wider table): give them a group of their own, then drop it.
        groups = np.where(keep, gs, periods)
        values = rows.metric_groups(groups, periods + 1)
        return {k: v[:periods] for k, v in values.items()}

    def _drift_shares(self, rows: Rows, g: np.ndarray, periods: int) -> list[float]:
        profile = rows.reference
        shares = [math.nan] * periods
        if profile is None:
            return shares
        columns = _feature_columns(profile, rows.table)
        if not columns:
            return shares
        from modelops.drift import check_profile

        order = np.argsort(g, kind="stable")
        bounds = np.searchsorted(g[order], np.arange(periods + 1))
        for i in range(periods):
            idx = order[bounds[i]:bounds[i + 1]]
            if len(idx) < MIN_DRIFT_ROWS:
                continue
            frame = {c: np.asarray(rows.table.features[c])[idx] for c in columns}
            try:
                shares[i] = float(check_profile(profile, frame).share)
            except InvalidInput:
                continue
        return shares

    def degradation(self, baseline: Mapping[str, float] | None = None,
                    threshold: float | Mapping[str, float] | None = None,
                    window: Any = "24h") -> Degradation:
        """The window's metrics against a baseline: by default the metrics registered with
        the monitored version (the production version when the monitor has none); a metric is
        degraded when worse by more than ``threshold`` (absolute; a mapping gives one per
        metric; default: the rules' ``degradation_threshold``, 0.05). ``InvalidInput`` when
        there is no baseline."""
        found, source = (_check_baseline(baseline), "given") if baseline is not None \
            else self._baseline()
        if found is None:
            raise InvalidInput(f"no baseline metrics for {self.model!r}: {source}; pass "
                               "baseline={'f1': 0.9, ...}", field="baseline")
        rules = self.rules if threshold is None else \
            attrs.evolve(self.rules, degradation_threshold=threshold)
        return self._degradation(self._window(window), found, source, rules)

    def _baseline(self) -> tuple[dict[str, float] | None, str]:
        """The baseline metrics and where they came from, or (None, why there are none)."""
        if self.baseline is not None:
            return dict(self.baseline), "given"
        try:
            registry = self.client.registry
            if self.version is not None:
                mv = registry.get_version(self.model, self.version)
            else:
                mv = registry.get_version(self.model, stage="production")
        except NotFound as exc:
            return None, str(exc)
        except InvalidInput as exc:        # a version string that is not semver
            return None, str(exc)
        metrics = {M.canonical_metric(k): float(v) for k, v in mv.metrics.items()}
        if not metrics:
            return None, f"version {mv.version} of {self.model!r} was registered without metrics"
        return metrics, f"registry:{mv.name}/{mv.version}"

    def _degradation(self, rows: Rows, baseline: Mapping[str, float], source: str,
                     rules: HealthRules, performance: Performance | None = None) -> Degradation:
        performance = performance if performance is not None else self._performance(rows)
        changes = []
        for name, current in performance.metrics.items():
            if name not in baseline:
                continue
            base = float(baseline[name])
            worse = current - base if name in M.LOWER_IS_BETTER else base - current
            limit = rules.threshold_of(name)
            changes.append(MetricChange(metric=name, baseline=base, current=current,
                                        worse_by=worse, threshold=limit,
                                        degraded=bool(worse > limit)))
        return Degradation(degraded=any(c.degraded for c in changes), changes=changes,
                           baseline_source=source, n=performance.n, since=rows.since,
                           until=rows.until)

    def drift(self, window: Any = "24h") -> DriftCheck:
        """Input drift of the window against the model's reference profile, and prediction
        drift against the profile's prediction column, else against the previous window of
        the same length (read together with this one, in one read)."""
        width = parse_window(window)
        both = self._window(window, periods=2)
        ts = both.table.timestamps
        current = Rows(both.table.select(ts >= both.until - width), both.until - width,
                       both.until, self)
        previous = both.table.predictions[ts < both.until - width]
        return self._drift(current, previous, "previous window")

    def _drift(self, rows: Rows, previous: np.ndarray | None, against: str) -> DriftCheck:
        from modelops.drift import check_profile

        profile = rows.reference
        base = {"since": rows.since, "until": rows.until}
        if len(rows) == 0:
            return DriftCheck(note="no predictions in the window", **base)
        report = None
        note = ""
        reference_id = None
        prediction = None
        prediction_against = None
        if profile is None:
            note = f"no reference profile for {self.model!r} (ops.drift.fit_reference)"
        else:
            reference_id = profile.profile_id
            columns = _feature_columns(profile, rows.table)
            frame: dict[str, Any] = {c: rows.table.features[c] for c in columns}
            if profile.prediction is not None:
                frame[profile.prediction] = rows.table.predictions
            if profile.target is not None and rows.feedback.any():
                frame[profile.target] = rows.table.actuals
            if columns or profile.prediction is not None:
                report = check_profile(profile, frame)
                if profile.prediction is not None:
                    prediction, prediction_against = report.prediction, "reference"
                if not columns:
                    note = "the reference shares no feature with the logged predictions"
            else:
                note = "the reference shares no feature with the logged predictions"
        if prediction is None and previous is not None:
            prediction = _prediction_drift(rows.table.predictions, previous)
            prediction_against = against if prediction is not None else None
        return DriftCheck(report=report, prediction=prediction,
                          prediction_against=prediction_against, reference_id=reference_id,
                          note=note, **base)

    def _reference(self) -> Any:
        """The model's newest reference profile, or None."""
        try:
            return self.client.drift.reference(self.model)
        except NotFound:
            return None

    def volume(self, window: Any = "1h", history: int = 24) -> Volume:
        """The count of the newest ``window`` against the ``history`` windows before it:
        anomalous beyond median ± k × max(1.4826 × MAD, floor × median, √median) of the
        history (k and floor from the rules: 3 and 0.1). Leading empty windows — before the
        model's first prediction — are not history; with fewer than 3 windows nothing is
        judged."""
        width = parse_window(window)
        history = _check_periods(history, "history")
        rows = self._window(window, periods=history + 1)
        return _volume(rows.table.timestamps, rows.until, width, history, self.rules)

    def latency(self, window: Any = "24h") -> Latency:
        """Percentiles of the logged ``latency_ms`` in the window."""
        return _latency(self._window(window).table.latency_ms)

    def error_rate(self, window: Any = "24h") -> ErrorRate:
        """The share of the window's predictions that are null or whose metadata has a truthy
        ``"error"`` key."""
        return _error_rate(self._window(window))

    def health(self, window: Any = "24h", *, alert: bool = True) -> Health:
        """Every check on the window (read once) turned into issues with severities; issues
        at or above the rules' ``alert_at`` fire the ``modelops_alert_raised`` hook (unless
        ``alert=False``). See ``modelops.monitoring.health`` for the rules."""
        from modelops.monitoring.health import assess, raise_alerts

        width = parse_window(window)
        rows = self._window(window)
        assessment = assess(self, rows, width, window_label(window))
        if alert:
            raise_alerts(self, assessment.health)
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
        if step > width or width % step:
            raise InvalidInput(f"the window {format_window(width)} is not a whole multiple of "
                               f"{format_window(step)}", field="trend_window")
        periods = width // step
        rows = self._window(window)
        assessment = assess(self, rows, width, window_label(window))
        metric = self._trend_metric(rows, None)
        wanted = {"error_rate", "latency_p50", "latency_p99", "drift_share"}
        if rows.task is not None:
            wanted |= set(M.REGRESSION_METRICS if rows.task == "regression"
                          else M.CLASSIFICATION_METRICS)
        series = self._series(rows, step, periods, wanted)
        return MonitoringReport(
            model=self.model, version=self.version, window=window_label(window),
            trend_window=window_label(trend_window), since=rows.since, until=rows.until,
            n=len(rows), task=rows.task, health=assessment.health,
            performance=assessment.performance, degradation=assessment.degradation,
            baseline_note=assessment.baseline_note, drift=assessment.drift,
            volume=assessment.volume, latency=assessment.latency,
            error_rate=assessment.error_rate, trend_metric=metric, trend=series)


# -- helpers ----------------------------------------------------------------------------------


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
        out[M.canonical_metric(key)] = float(value)
    return out


def _feature_columns(profile: Any, table: PredictionTable) -> list[str]:
    roles = {profile.target, profile.prediction}
    return [c for c in profile.columns if c not in roles and c in table.features]


def _prediction_drift(current: np.ndarray, previous: np.ndarray) -> Any:
    """The drift of ``current`` predictions against ``previous`` ones, or None."""
    from modelops.drift import check_profile, profile_frame

    if len(current) == 0 or len(previous) == 0:
        return None
    try:
        profile = profile_frame("predictions", {"prediction": previous}, prediction="prediction")
        return check_profile(profile, {"prediction": current}).prediction
    except InvalidInput:
        return None


def _volume(timestamps: np.ndarray, until: int, width: int, history: int,
            rules: HealthRules) -> Volume:
    periods = history + 1
    g = window_index(timestamps, until - width * periods, width, periods)
    counts = np.bincount(g[g >= 0], minlength=periods)
    count = int(counts[-1])
    past = counts[:-1]
    nonzero = np.flatnonzero(past)
    used = past[nonzero[0]:] if len(nonzero) else past[:0]
    base = {"window": format_window(width), "count": count, "history": used.tolist(),
            "since": until - width, "until": until}
    if len(used) < MIN_VOLUME_HISTORY:
        return Volume(**base)
    median = float(np.median(used))
    mad = float(np.median(np.abs(used - median)))
    scale = max(1.4826 * mad, rules.volume_floor * median, math.sqrt(median))
    lower, upper = median - rules.volume_k * scale, median + rules.volume_k * scale
    anomaly = None
    if count < lower:
        anomaly = "zero" if count == 0 else "low"
    elif count > upper:
        anomaly = "high"
    return Volume(median=median, mad=mad, lower=lower, upper=upper, anomaly=anomaly,
                  enough_history=True, **base)


def _latency(latency_ms: np.ndarray) -> Latency:
    values = latency_ms[np.isfinite(latency_ms)]
    if len(values) == 0:
        return Latency(n=0)
    p = np.percentile(values, LATENCY_PERCENTILES)
    return Latency(n=len(values), p50=float(p[0]), p90=float(p[1]), p95=float(p[2]),
                   p99=float(p[3]), max=float(values.max()), mean=float(values.mean()))


def _error_rate(rows: Rows) -> ErrorRate:
    n = len(rows)
    if n == 0:
        return ErrorRate(n=0, errors=0, rate=math.nan)
    null, flagged = rows.error_flags
    errors = int((null | flagged).sum())
    return ErrorRate(n=n, errors=errors, rate=errors / n, null_predictions=int(null.sum()),
                     flagged=int(flagged.sum()))


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
