"""``Window``: the predictions of one window of a monitor, and everything computed from them.

A ``Monitor`` reads a window once (``Monitor.window("24h")``) and every check — performance,
error rate, latency, volume, degradation, drift, and each health rule — reads the same
``Window``, whose arrays and results are each computed once, on first use, with numpy:
counts per window with ``np.bincount``, metrics from per-window confusion counts, percentiles
and ROC AUC from one sort. Nothing loops in Python over rows.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from functools import cached_property
from itertools import repeat
from typing import Any, Protocol

import attrs
import numpy as np

from modelops.entities.predictions import PredictionTable
from modelops.errors import InvalidInput, NotFound
from modelops.metrics import canonical_metric, exceeds, higher_is_better, metrics_of_task
from modelops.metrics import grouped as M
from modelops.monitoring.values import (
    Degradation,
    DriftCheck,
    ErrorRate,
    HealthRules,
    Latency,
    MetricChange,
    Performance,
    Volume,
)
from modelops.monitoring.windows import format_window, window_index

__all__ = ["BOOTSTRAP_RESAMPLES", "BOOTSTRAP_ROWS", "LATENCY_PERCENTILES", "MIN_CLASS_ROWS",
           "MIN_VOLUME_HISTORY", "Window", "compare_to_baseline", "count_volume",
           "feature_columns", "plugin_metrics", "prediction_drift", "task_metrics"]

LATENCY_PERCENTILES = (50, 90, 95, 99)
#: A metric's standard error comes from this many bootstrap resamples of this many rows at most.
BOOTSTRAP_RESAMPLES = 200
BOOTSTRAP_ROWS = 2_000
#: An ROC AUC or F1 is tested for degradation only with this many actual positives and
#: negatives (and, for F1, predicted positives) in the window: below, the normal
#: approximation of its spread is no guide.
MIN_CLASS_ROWS = 10
#: Volume anomalies are judged only with at least this many windows of history.
MIN_VOLUME_HISTORY = 3


class Monitor(Protocol):
    """What a window reads of the ``modelops.monitoring.Monitor`` that made it."""

    client: Any
    model: str
    version: str | None
    task: str | None
    positive: Any
    score: str
    baseline: Mapping[str, float] | None
    rules: HealthRules


class Window:
    """The predictions of one window ``[since, until)`` of a monitor, and everything computed
    from them, each once, on first use: what every health check reads.

    ``table`` is the window's ``PredictionTable``; ``monitor`` the ``Monitor`` that read it
    (its model, version, task, rules and client); ``label`` how the window is shown
    (``"24h"``). Get one with ``Monitor.window("24h")``.
    """

    def __init__(self, table: PredictionTable, since: int, until: int, monitor: Monitor,
                 label: str = "") -> None:
        self.table = table
        self.since = since
        self.until = until
        self.monitor = monitor
        self.label = label or format_window(until - since)
        self._volumes: dict[tuple[int, int], Volume] = {}

    def __len__(self) -> int:
        return len(self.table)

    def __repr__(self) -> str:
        return f"<Window {self.monitor.model!r} {self.label} ({len(self)} predictions)>"

    @property
    def width(self) -> int:
        """The window's length in ms."""
        return self.until - self.since

    @cached_property
    def reference(self) -> Any:
        """The model's newest reference profile (read once per window), or None."""
        try:
            return self.monitor.client.drift.reference(self.monitor.model)
        except NotFound:
            return None

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
            positive = M.default_positive(labels)
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

    def metric_groups(self, groups: np.ndarray | None, n_groups: int,
                      rows: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Every metric of the task per group (``groups``: the group of each scored row, or
        of each of ``rows``, positions among the scored rows — a resample): the built-in ones
        from vectorised kernels, those of plugins group by group."""
        if len(self.scored) == 0 or self.task is None:
            return {}
        pick = slice(None) if rows is None else rows
        if self.task == "regression":
            true, pred = self.regression_arrays
            true, pred = true[pick], pred[pick]
            out = M.regression(true, pred, groups, n_groups)
            actual, predicted = true, pred
        else:
            labels, true, pred, pos = self.labels
            scores = None if self.scores is None else self.scores[pick]
            out = M.classification(true[pick], pred[pick], len(labels), pos, groups, n_groups,
                                   scores)
            actual = self.table.actuals[self.scored][pick]
            predicted = self.table.predictions[self.scored][pick]
        for spec in plugin_metrics(self.task):
            if spec.needs is not None and self.scores is None:
                continue
            values = np.full(n_groups, np.nan)
            for group in range(n_groups):
                where = slice(None) if groups is None else groups == group
                if groups is None or where.any():
                    score = None if self.scores is None else self.scores[pick][where]
                    values[group] = spec.compute(actual[where], predicted[where], score)
            out[spec.name] = values
        return out

    @cached_property
    def bootstrap_errors(self) -> dict[str, float]:
        """The standard error of each metric of :attr:`performance` by the bootstrap: the
        spread of the metric over 200 resamples of the scored rows (seeded, so a window
        always gets the same answer). Above 2,000 rows the resamples hold 2,000 rows and the
        spread is scaled by √(2,000 / n), as for any metric that averages over rows."""
        n = len(self.scored)
        if n < 2 or self.task is None:
            return {}
        size = min(n, BOOTSTRAP_ROWS)
        rows = np.random.default_rng(0).integers(0, n, size=BOOTSTRAP_RESAMPLES * size)
        groups = np.repeat(np.arange(BOOTSTRAP_RESAMPLES), size)
        values = self.metric_groups(groups, BOOTSTRAP_RESAMPLES, rows)
        scale = math.sqrt(size / n)
        out = {}
        for name, v in values.items():
            v = v[np.isfinite(v)]
            if len(v) >= BOOTSTRAP_RESAMPLES // 2:
                out[name] = float(np.std(v, ddof=1)) * scale
        return out

    def drop_test(self, metric: str, baseline: float, current: float
                  ) -> tuple[float | None, float | None]:
        """(standard error, one-sided p-value) of ``metric`` falling from ``baseline`` to
        ``current`` on the window's scored rows by chance alone — were its true value still
        the baseline; (None, None) when the window cannot tell.

        - accuracy, and precision and recall of a binary positive class: proportions over
          the rows they count (all rows; the predicted positives; the actual positives):
          the exact binomial test, with √(b (1 - b) / n) as the error;
        - roc_auc: Hanley & McNeil's (1982) error at the baseline, and f1 of a binary
          positive class: the bootstrap's — both only with at least 10 rows of each class;
        - mae: the standard deviation of the absolute errors / √n; rmse: the delta method
          on the squared errors (SE(mse) / 2 rmse);
        - macro averages, r2 and plugins' metrics: the bootstrap (:attr:`bootstrap_errors`);

        the normal approximation ``P(Z > worse_by / error)`` for all but the proportions.
        """
        from scipy import stats

        n = len(self.scored)
        if n < 2 or self.task is None:
            return None, None
        b = float(baseline)
        higher = higher_is_better(metric)
        worse = b - current if higher else current - b
        error: float | None = None
        if self.task == "regression":
            true, pred = self.regression_arrays
            err = true - pred
            err = err[np.isfinite(err)]
            if len(err) < 2:
                return None, None
            if metric == "mae":
                error = float(np.std(np.abs(err), ddof=1)) / math.sqrt(len(err))
            elif metric == "rmse":
                rmse = math.sqrt(float(np.mean(err ** 2)))
                se_mse = float(np.std(err ** 2, ddof=1)) / math.sqrt(len(err))
                error = se_mse / (2 * rmse) if rmse > 0 else None
            else:
                error = self.bootstrap_errors.get(metric)
        else:
            _labels, true, pred, pos = self.labels
            binary = pos is not None
            positives = int((true == pos).sum()) if binary else 0
            counted = {"accuracy": n}
            if binary:
                counted.update(precision=int((pred == pos).sum()), recall=positives)
            if metric in counted:
                m = counted[metric]
                if m == 0 or not 0 <= b <= 1:
                    return None, None
                hits = round(current * m)
                pvalue = float(stats.binom.cdf(hits, m, b)) if higher else None
                return math.sqrt(b * (1 - b) / m), pvalue
            if binary and metric in ("roc_auc", "f1"):
                predicted = int((pred == pos).sum())
                least = min(positives, n - positives) if metric == "roc_auc" else \
                    min(positives, n - positives, predicted)
                if least < MIN_CLASS_ROWS:
                    return None, None
                error = _hanley_mcneil(b, positives, n - positives) if metric == "roc_auc" \
                    else self.bootstrap_errors.get(metric)
            else:
                error = self.bootstrap_errors.get(metric)
        if error is None or not math.isfinite(error) or error < 0:
            return None, None
        if error == 0:
            # No spread (every error alike; every resample's f1 0, as when no prediction is
            # right): the window's value is no chance of its sample, so a drop is certain.
            # Its rows are enough to be judged: min_feedback and MIN_CLASS_ROWS saw to that.
            return 0.0, 0.0 if worse > 0 else 1.0
        return error, float(stats.norm.sf(worse / error))

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

    # -- what the checks read -----------------------------------------------------------------

    @cached_property
    def performance(self) -> Performance:
        """Model quality on the window's predictions that have feedback."""
        values = self.metric_groups(None, 1)
        found = {k: float(v[0]) for k, v in values.items() if not math.isnan(v[0])}
        labels: tuple[Any, ...] = ()
        positive = average = None
        if self.task == "classification" and len(self.scored):
            labels, _t, _p, pos = self.labels
            positive = None if pos is None else labels[pos]
            average = "binary" if pos is not None else "macro"
        return Performance(task=self.task, n=len(self.scored), metrics=found, labels=labels,
                           positive=positive, average=average, since=self.since,
                           until=self.until)

    @cached_property
    def error_rate(self) -> ErrorRate:
        """The share of predictions that are null or whose metadata has a truthy ``"error"``."""
        n = len(self)
        if n == 0:
            return ErrorRate(n=0, errors=0, rate=math.nan)
        null, flagged = self.error_flags
        errors = int((null | flagged).sum())
        return ErrorRate(n=n, errors=errors, rate=errors / n, null_predictions=int(null.sum()),
                         flagged=int(flagged.sum()))

    @cached_property
    def latency(self) -> Latency:
        """Percentiles of the logged ``latency_ms``."""
        values = self.table.latency_ms[np.isfinite(self.table.latency_ms)]
        if len(values) == 0:
            return Latency(n=0)
        p = np.percentile(values, LATENCY_PERCENTILES)
        return Latency(n=len(values), p50=float(p[0]), p90=float(p[1]), p95=float(p[2]),
                       p99=float(p[3]), max=float(values.max()), mean=float(values.mean()))

    def volume(self, step: int, history: int | None = None) -> Volume | None:
        """The count of the newest ``step`` ms against the ``history`` steps before it (by
        default every whole step before it in the window), judged by the monitor's rules;
        None when the window is empty or not longer than ``step``."""
        if history is None:
            if len(self) == 0 or step >= self.width:
                return None
            history = self.width // step - 1
        key = (step, history)
        if key not in self._volumes:
            self._volumes[key] = count_volume(self.table.timestamps, self.until, step, history,
                                              self.monitor.rules)
        return self._volumes[key]

    @cached_property
    def baseline(self) -> tuple[dict[str, float] | None, str]:
        """The baseline metrics and where they came from (``"given"``,
        ``"registry:fraud/1.2.0"``), or (None, why there are none): the monitor's
        ``baseline``, else the metrics registered with its version (the production version
        when it monitors every version). A registered metric that is not a finite number (a
        version registered with ``allow_nonfinite=True``) is no baseline."""
        monitor = self.monitor
        if monitor.baseline is not None:
            return dict(monitor.baseline), "given"
        try:
            registry = monitor.client.registry
            if monitor.version is not None:
                mv = registry.get_version(monitor.model, monitor.version)
            else:
                mv = registry.get_version(monitor.model, stage="production")
        except NotFound as exc:
            return None, str(exc)
        except InvalidInput as exc:        # a version string that is not semver
            return None, str(exc)
        metrics = {canonical_metric(k): float(v) for k, v in mv.metrics.items()
                   if math.isfinite(float(v))}
        if not metrics:
            return None, (f"version {mv.version} of {monitor.model!r} was registered without "
                          "finite metrics")
        return metrics, f"registry:{mv.name}/{mv.version}"

    def degradation(self, rules: HealthRules | None = None) -> Degradation | None:
        """The window's performance against :attr:`baseline` by the thresholds of ``rules``
        (default the monitor's); None when there is no baseline, or fewer predictions with
        feedback than the rules' ``min_feedback``: then it is not judged."""
        rules = rules if rules is not None else self.monitor.rules
        baseline, source = self.baseline
        if baseline is None or self.performance.n == 0 or self.performance.n < rules.min_feedback:
            return None
        return compare_to_baseline(self.performance, baseline, source, rules,
                                   self.drop_test)

    @cached_property
    def drift(self) -> DriftCheck:
        """Input drift against the model's reference profile, and prediction drift against
        the profile's prediction column, else the window's later half against its earlier
        half — every test of it judged together by the monitor's rules (one correction over
        the features, the target and the prediction). A check that raised (a column changed
        type) gives a note, and the error in :attr:`drift_error`."""
        rules = self.monitor.rules
        try:
            drift = self.check_drift(None, "")
            if drift.prediction is None and len(self):
                later = self.table.timestamps >= self.since + (self.until - self.since) // 2
                predictions = self.table.predictions
                prediction = prediction_drift(predictions[later], predictions[~later], rules)
                if prediction is not None:
                    drift = attrs.evolve(drift, prediction_against="earlier half",
                                         **_with_prediction(drift.report, prediction, rules))
        except InvalidInput as exc:
            self.drift_error = str(exc)
            return DriftCheck(note=f"the drift check failed: {exc}", since=self.since,
                              until=self.until)
        return drift

    #: Why :attr:`drift` failed, or None.
    drift_error: str | None = None
    #: The alpha of the input drift tests (None: the drift check's default); health per
    #: segment lowers it for the number of segments.
    drift_threshold: float | None = None
    #: ``(segment_by, value)`` when the window is one segment's rows (health per segment):
    #: its performance is then estimated from the same segment's labelled history.
    segment: tuple[Any, str] | None = None

    @cached_property
    def multivariate(self) -> tuple[tuple[Any, ...], str]:
        """(the multivariate drift results of the rules' ``multivariate`` methods on the
        window's features against the reference profile's row sample; why there are none)."""
        rules = self.monitor.rules
        profile = self.reference
        if not rules.multivariate:
            return (), "no multivariate method in the rules"
        if profile is None:
            return (), "no reference profile"
        if len(self) < rules.multivariate_min_rows:
            return (), (f"{len(self)} predictions, fewer than multivariate_min_rows "
                        f"({rules.multivariate_min_rows})")
        from modelops.drift.multivariate import check_multivariate
        from modelops.errors import MissingDependency

        frame = {c: self.table.features[c] for c in feature_columns(profile, self.table)}
        try:
            return check_multivariate(profile, frame, rules.multivariate), ""
        except (InvalidInput, MissingDependency) as exc:
            return (), str(exc)

    @cached_property
    def estimated(self) -> tuple[Any, str]:
        """(the window's performance estimated without labels as one period, or None; why
        not). Estimated from the rules' ``estimation_reference`` period before the window
        (``modelops.monitoring.estimated``); None without a reference, or when the window
        has fewer predictions than the rules' ``estimation_min_rows``."""
        from modelops.errors import MissingDependency
        from modelops.monitoring.estimated import estimate_windows

        rules = self.monitor.rules
        if rules.estimation_reference is None:
            return None, "estimation is off (estimation_reference=None)"
        if len(self) < rules.estimation_min_rows:
            return None, (f"{len(self)} predictions, fewer than estimation_min_rows "
                          f"({rules.estimation_min_rows})")
        try:
            found = estimate_windows(self.monitor, self.table, self.until, self.width, 1,
                                     window_label=self.label, every_label=self.label,
                                     segment=self.segment)
        except (InvalidInput, MissingDependency) as exc:
            return None, str(exc)
        return found, ""

    def check_drift(self, previous: np.ndarray | None, against: str) -> DriftCheck:
        """Input drift against the reference profile; prediction drift against the profile's
        prediction column, else against ``previous`` predictions (called ``against``); by
        the monitor's rules."""
        from modelops.drift import check_profile

        rules = self.monitor.rules
        profile = self.reference
        base = {"since": self.since, "until": self.until}
        if len(self) == 0:
            return DriftCheck(note="no predictions in the window", **base)
        report = None
        note = ""
        reference_id = None
        prediction = None
        prediction_against = None
        if profile is None:
            note = f"no reference profile for {self.monitor.model!r} (ops.drift.fit_reference)"
        else:
            reference_id = profile.profile_id
            columns = feature_columns(profile, self.table)
            frame: dict[str, Any] = {c: self.table.features[c] for c in columns}
            if profile.prediction is not None:
                frame[profile.prediction] = self.table.predictions
            if profile.target is not None and self.feedback.any():
                frame[profile.target] = self.table.actuals
            if columns or profile.prediction is not None:
                options = rules.drift_options()
                if self.drift_threshold is not None:
                    options["threshold"] = self.drift_threshold
                report = check_profile(profile, frame, **options)
                if profile.prediction is not None:
                    prediction, prediction_against = report.prediction, "reference"
                if not columns:
                    note = "the reference shares no feature with the logged predictions"
            else:
                note = "the reference shares no feature with the logged predictions"
        found = DriftCheck(report=report, prediction=prediction,
                           prediction_against=prediction_against, reference_id=reference_id,
                           note=note, **base)
        if prediction is None and previous is not None:
            prediction = prediction_drift(self.table.predictions, previous, rules)
            if prediction is not None:
                found = attrs.evolve(found, prediction_against=against,
                                     **_with_prediction(report, prediction, rules))
        return found


def _with_prediction(report: Any, prediction: Any, rules: HealthRules) -> dict[str, Any]:
    """The report and the prediction's drift re-decided as one family: the prediction's test
    against an earlier window joins the features' and the target's in the correction."""
    from modelops.drift.detector import correct

    if report is None:
        (prediction,) = correct([prediction], rules.drift_correction)
        return {"prediction": prediction}
    family = [*report.columns, *(c for c in (report.target,) if c is not None), prediction]
    judged = correct(family, rules.drift_correction)
    features, prediction = judged[:len(report.columns)], judged[-1]
    target = judged[len(report.columns)] if report.target is not None else None
    counted = [c for c in features if c.judged]
    share = sum(c.drifted for c in counted) / len(counted) if counted else 0.0
    return {"prediction": prediction,
            "report": attrs.evolve(report, columns=features, target=target, share=share,
                                   drifted=bool(counted) and share >= report.drift_share)}


def plugin_metrics(task: str | None) -> list[Any]:
    """The metrics of ``task`` that plugins add to the metric table (monitoring computes the
    built-in ones with its kernels)."""
    if task is None:
        return []
    from modelops.metrics.builtin import BUILTIN_METRICS

    return [spec for spec in metrics_of_task(task)
            if spec.name not in M.CLASSIFICATION_METRICS + M.REGRESSION_METRICS
            and not any(spec is b for b in BUILTIN_METRICS)]


def task_metrics(task: str | None) -> tuple[str, ...]:
    """The metrics a window of ``task`` measures: the built-in ones, then plugins'."""
    if task is None:
        return ()
    own = M.REGRESSION_METRICS if task == "regression" else M.CLASSIFICATION_METRICS
    return (*own, *(spec.name for spec in plugin_metrics(task)))


def compare_to_baseline(performance: Performance, baseline: Mapping[str, float], source: str,
                        rules: HealthRules,
                        drop_test: Callable[[str, float, float],
                                            tuple[float | None, float | None]] | None = None
                        ) -> Degradation:
    """The performance's metrics against ``baseline`` (from ``source``): a metric is degraded
    when worse by more than the rules' threshold for it and — with the rules'
    ``degradation_alpha`` — when so large a drop is unlikely from the window's sample alone:
    ``drop_test(metric, baseline, current)`` gives the drop's standard error and one-sided
    p-value (``Window.drop_test``). The window's metrics are one family: a drop is
    significant when its p-value times the number of metrics tested (Bonferroni) is below
    ``degradation_alpha`` — five metrics of one window each at 0.01 would call a clean model
    degraded several times as often. A metric the window cannot test (too few of the class
    it counts) is then not judged; one infinitely worse (errors beyond a float's range) is
    degraded whatever its test."""
    alpha = rules.degradation_alpha
    found = []
    for name, current in performance.metrics.items():
        if name not in baseline:
            continue
        base = float(baseline[name])
        worse = base - current if higher_is_better(name) else current - base
        error, pvalue = (None, None) if drop_test is None else drop_test(name, base, current)
        found.append((name, base, current, worse, error, pvalue))
    tested = sum(1 for *_, pvalue in found if pvalue is not None)
    changes = []
    for name, base, current, worse, error, pvalue in found:
        limit = rules.threshold_of(name)
        # Infinitely worse (errors beyond a float's range) is no chance of the sample.
        significant = alpha is None or worse == math.inf or \
            (pvalue is not None and pvalue * tested < alpha)
        changes.append(MetricChange(metric=name, baseline=base, current=current,
                                    worse_by=worse, threshold=limit,
                                    degraded=bool(exceeds(worse, limit) and significant),
                                    standard_error=error, pvalue=pvalue))
    return Degradation(degraded=any(c.degraded for c in changes), changes=changes,
                       baseline_source=source, n=performance.n, since=performance.since,
                       until=performance.until, alpha=alpha, tests=tested)


def _hanley_mcneil(auc: float, positives: int, negatives: int) -> float | None:
    """The standard error of an ROC AUC of ``auc`` on so many positives and negatives
    (Hanley & McNeil, Radiology 143, 1982, eq. 2)."""
    if positives < 1 or negatives < 1 or not 0 <= auc <= 1:
        return None
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    variance = (auc * (1 - auc) + (positives - 1) * (q1 - auc * auc)
                + (negatives - 1) * (q2 - auc * auc)) / (positives * negatives)
    return math.sqrt(max(variance, 0.0))


def feature_columns(profile: Any, table: PredictionTable) -> list[str]:
    """The reference's feature columns (not its target or prediction) the table has."""
    roles = {profile.target, profile.prediction}
    return [c for c in profile.columns if c not in roles and c in table.features]


def prediction_drift(current: np.ndarray, previous: np.ndarray,
                     rules: HealthRules | None = None) -> Any:
    """The drift of ``current`` predictions against ``previous`` ones (by ``rules``, with no
    correction: the caller corrects it with its family), or None."""
    from modelops.drift import check_profile, profile_frame

    options = (rules or HealthRules()).drift_options()
    options["correction"] = "none"
    if len(current) == 0 or len(previous) < options["min_rows"]:
        return None
    try:
        profile = profile_frame("predictions", {"prediction": previous}, prediction="prediction")
        return check_profile(profile, {"prediction": current}, **options).prediction
    except InvalidInput:
        return None


def count_volume(timestamps: np.ndarray, until: int, width: int, history: int,
            rules: HealthRules) -> Volume:
    """The count of the newest ``width`` ms before ``until`` against the ``history`` windows
    before it, judged by the rules' ``volume_k`` and ``volume_floor``."""
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
