"""Estimated performance of logged predictions that have no feedback yet
(``Monitor.estimated_performance``), and the reference it is estimated from.

The reference is labelled data the model was known to do well on. By default it is the
monitor's own history: the predictions with feedback logged in the ``estimation_reference``
period of the rules (30 days) just before the window estimated, so the estimator follows the
model as labels come in. It can instead be a fixed period (``reference=(since, until)``), a
``PredictionTable``, or a frame with the columns ``prediction``, ``actual``, ``probability``
(classifiers) and the features (any other column).

A classifier is estimated with the probability it logged: of the positive class
(``score="probability"``, binary), or of the predicted label (``score="confidence"``, and
every classifier with more than two labels, since one number per prediction cannot hold a
score per class); from a confidence only accuracy is estimated. A regressor is estimated from
its features and prediction.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np

from modelops.entities import FrozenDict, freeze
from modelops.entities.estimation import EstimationData, MetricEstimate
from modelops.entities.plain import fields_to_plain
from modelops.entities.predictions import PredictionTable
from modelops.errors import InvalidInput
from modelops.metrics import grouped as M

__all__ = ["EstimatedPerformance", "Reference", "estimate_windows", "estimation_rows",
           "read_reference"]


@attrs.frozen(kw_only=True)
class EstimatedPerformance:
    """Performance estimated per window without labels (``Monitor.estimated_performance``).

    ``starts`` are the windows' starts (Unix ms, oldest first) and ``counts`` their
    predictions; ``estimates`` maps each estimated metric to one ``MetricEstimate`` per
    window (value, band, and the realised value where feedback has arrived).
    ``reference_metrics`` are realised on the reference (``reference``: where it came from,
    ``n_reference`` rows); ``notes`` what fitting decided (e.g. whether the scores were
    calibrated, and why).
    """

    model: str
    version: str | None
    estimator: str
    task: str
    window: str
    every: str
    since: int
    until: int
    reference: str
    n_reference: int
    reference_metrics: FrozenDict[str, float] = attrs.field(converter=freeze)
    notes: FrozenDict[str, Any] = attrs.field(converter=freeze)
    starts: tuple[int, ...] = attrs.field(converter=tuple)
    counts: tuple[int, ...] = attrs.field(converter=tuple)
    estimates: FrozenDict[str, tuple[MetricEstimate, ...]] = attrs.field(converter=freeze)

    @property
    def metrics(self) -> tuple[str, ...]:
        return tuple(self.estimates)

    def latest(self, metric: str) -> MetricEstimate:
        """The newest window's estimate of ``metric``."""
        if metric not in self.estimates:
            raise InvalidInput(f"{metric!r} is not estimated; estimated: "
                               f"{', '.join(self.estimates)}", field="metric")
        return self.estimates[metric][-1]

    def to_dict(self) -> dict[str, Any]:
        """Plain Python data (floats as they are, NaN included)."""
        out = fields_to_plain(self)
        out["estimates"] = {m: [e.to_dict() for e in values]
                            for m, values in self.estimates.items()}
        return out


@attrs.frozen(kw_only=True, eq=False)
class Reference:
    """Labelled rows to fit an estimator on, and where they came from."""

    table: PredictionTable
    source: str
    key: Any = None                 # what identifies it for the monitor's cache


def _frame_table(frame: Any) -> PredictionTable:
    from modelops.frames import to_columns

    columns = to_columns(frame)
    for needed in ("prediction", "actual"):
        if needed not in columns:
            raise InvalidInput(f"a reference frame needs a {needed!r} column (and "
                               "'probability' for a classifier); the other columns are "
                               "features", field="reference")
    n = len(columns["prediction"])
    probability = columns.get("probability", np.full(n, np.nan))
    features = {k: v for k, v in columns.items()
                if k not in ("prediction", "actual", "probability")}
    return PredictionTable(ids=np.arange(n).astype(str), timestamps=np.zeros(n),
                           versions=np.full(n, None), predictions=columns["prediction"],
                           probabilities=probability, latency_ms=np.full(n, np.nan),
                           features=features, actuals=columns["actual"],
                           feedback_timestamps=np.zeros(n))


def read_reference(monitor: Any, reference: Any, since: int) -> Reference:
    """The labelled reference: ``reference`` as given (a ``(since, until)`` pair of times, a
    ``PredictionTable`` or a frame), else the predictions with feedback of the rules'
    ``estimation_reference`` before ``since``."""
    from modelops._time import to_ms
    from modelops.monitoring.windows import format_window, parse_window

    if reference is None:
        width = parse_window(monitor.rules.estimation_reference, "estimation_reference")
        start, end = since - width, since
        source = f"predictions with feedback of the {format_window(width)} before the window"
    elif isinstance(reference, tuple) and len(reference) == 2:
        start, end = to_ms(reference[0], "reference"), to_ms(reference[1], "reference")
        if start is None or end is None or start >= end:
            raise InvalidInput(f"expected (since, until) with since < until, got "
                               f"{reference!r}", field="reference")
        source = "predictions with feedback of the given period"
    elif isinstance(reference, PredictionTable):
        table = reference.select(reference.has_feedback)
        return Reference(table=table, source="the given table", key=("table", id(reference)))
    else:
        table = _frame_table(reference)
        return Reference(table=table, source="the given frame", key=("frame", id(reference)))
    table = monitor.client.predictions.read(monitor.model, version=monitor.version,
                                            since=start, until=end)
    return Reference(table=table.select(table.has_feedback), source=source,
                     key=("period", start, end))


def estimation_rows(table: PredictionTable, task: str, classes: tuple[Any, ...],
                    positive: Any, confidence: bool, monitor_score: str,
                    labelled: bool) -> tuple[EstimationData, np.ndarray]:
    """The rows of ``table`` an estimator can read (a prediction, and for a classifier a
    finite probability) as ``EstimationData``, and their indices. Binary scores become the
    probability of ``positive``; ``confidence`` keeps the probability of the predicted
    label."""
    keep = ~M.null_mask(table.predictions)
    if task == "classification":
        keep &= np.isfinite(table.probabilities)
    idx = np.flatnonzero(keep)
    predictions = table.predictions[idx]
    features = {k: np.asarray(v)[idx] for k, v in table.features.items()}
    actuals = table.actuals[idx] if labelled else None
    if task != "classification":
        return EstimationData(predictions=predictions, features=features,
                              actuals=actuals), idx
    scores = table.probabilities[idx]
    if not confidence and monitor_score == "confidence":
        is_positive = np.fromiter((p == positive for p in predictions.tolist()), dtype=bool,
                                  count=len(idx))
        scores = np.where(is_positive, scores, 1.0 - scores)
    return EstimationData(predictions=predictions, scores=scores, classes=classes,
                          confidence=confidence, features=features, actuals=actuals), idx


def classes_of(reference: PredictionTable, monitor: Any) -> tuple[str, tuple[Any, ...], Any,
                                                                    bool]:
    """(task, classes, positive label, confidence) from a labelled reference."""
    present = ~M.null_mask(reference.predictions)
    task = monitor.task or M.detect_task(reference.predictions[present],
                                         reference.actuals[present])
    if task is None:
        raise InvalidInput("the reference has no predictions with feedback", field="reference")
    if task != "classification":
        return task, (), None, False
    extra = () if monitor.positive is None else (monitor.positive,)
    labels, _t, _p = M.encode_labels(reference.actuals[present],
                                     reference.predictions[present], extra)
    positive = monitor.positive if monitor.positive is not None else M.default_positive(labels)
    if positive is None or len(labels) > 2:
        return task, labels, None, True
    negative = next((lab for lab in labels if lab != positive), None)
    if negative is None:
        raise InvalidInput("the reference holds one label only", field="reference")
    return task, (negative, positive), positive, False


def realised(table: PredictionTable, monitor: Any, task: str, positive: Any,
             confidence: bool) -> dict[str, float]:
    """The metrics of the rows of ``table`` that have feedback (empty when none have)."""
    from modelops.monitoring.window import Window

    if not table.has_feedback.any():
        return {}
    window = Window(table, 0, 1, monitor)
    metrics = dict(window.performance.metrics)
    if task == "regression" and "mse" not in metrics and "rmse" in metrics:
        metrics["mse"] = metrics["rmse"] ** 2
    return {k: v for k, v in metrics.items() if math.isfinite(v)}


def with_realised(estimates: Mapping[str, MetricEstimate], found: Mapping[str, float],
                  n_realised: int) -> dict[str, MetricEstimate]:
    """The estimates with the realised values where ``found`` has them."""
    return {m: attrs.evolve(e, realised=found.get(m), n_realised=n_realised if m in found
                            else 0) for m, e in estimates.items()}


def fitted_estimator(monitor: Any, reference: Reference, estimator: str | None) -> Any:
    """The estimator fitted on ``reference`` (once per monitor, reference and estimator),
    with the task, classes, positive label and confidence it was fitted for."""
    from modelops.estimation import estimator_for

    cache = monitor.__dict__.setdefault("_fitted_estimators", {})
    key = (reference.key, estimator)
    if reference.key is None or key not in cache:
        task, classes, positive, confidence = classes_of(reference.table, monitor)
        chosen = estimator_for(task, estimator)
        data, _idx = estimation_rows(reference.table, task, classes, positive, confidence,
                                     monitor.score, labelled=True)
        cache[key] = (chosen, chosen.fit(data), task, classes, positive, confidence)
    return cache[key]


def segment_of(reference: Reference, segment: tuple[Any, str]) -> Reference:
    """The rows of ``reference`` in ``segment`` (``(segment_by, value)``): a segment is
    estimated from its own labelled history, and judged against it."""
    from modelops.drift.segments import segment_labels

    segment_by, value = segment
    table = reference.table
    features = {k: np.asarray(v) for k, v in table.features.items()}
    rows = segment_labels(segment_by, features, len(table), "the reference") == value
    return Reference(table=table.select(rows), source=f"{reference.source}, segment {value}",
                     key=None if reference.key is None else (*reference.key, "segment", value))


def estimate_windows(monitor: Any, table: PredictionTable, until: int, every: int,
                     periods: int, *, reference: Any = None, estimator: str | None = None,
                     window_label: str = "", every_label: str = "",
                     segment: tuple[Any, str] | None = None) -> EstimatedPerformance:
    """Estimate the metrics of ``periods`` windows of ``every`` ms ending at ``until``, over
    the predictions of ``table``, from an estimator fitted on the reference (only its rows
    of ``segment``, ``(segment_by, value)``, when given)."""
    from modelops.monitoring.windows import format_window, window_index, window_starts

    since = until - every * periods
    ref = read_reference(monitor, reference, since)
    if segment is not None:
        ref = segment_of(ref, segment)
    chosen, fitted, task, classes, positive, confidence = fitted_estimator(monitor, ref,
                                                                           estimator)
    data, idx = estimation_rows(table, task, classes, positive, confidence, monitor.score,
                                labelled=False)
    groups = window_index(table.timestamps[idx], since, every, periods)
    series: dict[str, list[MetricEstimate]] = {}
    counts = np.bincount(groups[groups >= 0], minlength=periods)
    for g in range(periods):
        rows = np.flatnonzero(groups == g)
        part = EstimationData(predictions=data.predictions[rows],
                              scores=None if data.scores is None else data.scores[rows],
                              classes=data.classes, confidence=data.confidence,
                              features={k: v[rows] for k, v in data.features.items()})
        found = fitted.estimate(part)
        picked = table.select(idx[rows])
        known = realised(picked, monitor, task, positive, confidence)
        found = with_realised(found, known, int(picked.has_feedback.sum()))
        for metric, value in found.items():
            series.setdefault(metric, []).append(value)
    return EstimatedPerformance(
        model=monitor.model, version=monitor.version, estimator=chosen.name, task=task,
        window=window_label or format_window(every * periods),
        every=every_label or format_window(every), since=since, until=until,
        reference=ref.source, n_reference=len(ref.table),
        reference_metrics=dict(fitted.reference_metrics), notes=dict(fitted.notes),
        starts=window_starts(until, every, periods).tolist(), counts=counts.tolist(),
        estimates={m: tuple(v) for m, v in series.items()})
